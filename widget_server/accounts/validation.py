"""Checks of the fields people type: each returns the cleaned value or raises InvalidRequest
naming the field and the rule it breaks."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from widget_server.errors import invalid
from widget_server.i18n import _
from widget_server.settings import LANGUAGES

MIN_PASSWORD_LENGTH = 8
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def clean_email(value: str, field: str = "email") -> str:
    value = value.strip()
    if not _EMAIL.match(value) or len(value) > 320:
        raise invalid(field, _("Enter a valid e-mail address."))
    return value


def clean_name(value: str, field: str = "name") -> str:
    value = " ".join(value.split())
    if not value:
        raise invalid(field, _("Enter a name."), "required")
    if len(value) > 120:
        raise invalid(field, _("The name must be at most 120 characters."))
    return value


def clean_password(value: str, field: str = "password") -> str:
    if len(value) < MIN_PASSWORD_LENGTH:
        message = _("The password must be at least {count} characters.")
        raise invalid(field, message.format(count=MIN_PASSWORD_LENGTH))
    if len(value) > 1024:
        raise invalid(field, _("The password must be at most 1024 characters."))
    return value


def clean_language(value: str, field: str = "language") -> str:
    if value not in LANGUAGES:
        raise invalid(
            field, _("The language must be one of: {choices}.").format(choices=", ".join(LANGUAGES))
        )
    return value


def clean_time_zone(value: str, field: str = "time_zone") -> str:
    value = value.strip()
    message = _("Unknown time zone {name}; use a name like Europe/Paris.").format(name=repr(value))
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise invalid(field, message) from None
    if value not in available_timezones() and value != "UTC":
        raise invalid(field, message)
    return value


def clean_origins(values: list[str], field: str = "allowed_origins") -> list[str]:
    """Origins like ``https://shop.example.com`` (scheme, host, optional port; no path)."""
    cleaned: list[str] = []
    pattern = re.compile(r"^https?://[a-z0-9.-]+(:\d{1,5})?$|^https?://\*\.[a-z0-9.-]+$")
    for raw in values:
        origin = raw.strip().rstrip("/").lower()
        if not origin:
            continue
        if not pattern.match(origin):
            raise invalid(
                field,
                _(
                    "{value} is not an origin: write it like https://www.example.com "
                    "(or https://*.example.com), without a path."
                ).format(value=repr(raw.strip())),
            )
        if origin not in cleaned:
            cleaned.append(origin)
    if len(cleaned) > 50:
        raise invalid(field, _("A site can have at most 50 allowed origins."))
    return cleaned
