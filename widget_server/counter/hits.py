"""Checks of what browsers and backends send: a hit (``POST /t/{site_key}``, short keys, see
docs/counter-protocol.md) and a server-side event (``POST /api/v2/events``).

Every broken rule becomes one entry of the 422's ``details``, naming its field (``p.color`` for a
prop), so a developer sees everything wrong at once. Limits: event name 1–120 characters; props
at most 30 keys of 1–40 characters, each value a string of at most 500 characters, a finite
number (integers within ±2^53, what JavaScript holds exactly) or a boolean.
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from widget_server.errors import BadRequest, InvalidRequest, field_error
from widget_server.i18n import _

MAX_BODY = 4096
MAX_URL = 2048
MAX_NAME = 120
MAX_PROPS = 30
MAX_PROP_KEY = 40
MAX_PROP_STRING = 500
MAX_SAFE_INTEGER = 2**53 - 1
MAX_VISIT_NUMBER = 2**62
_VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{8,40}$")

PropValue = str | int | float | bool
Details = list[dict[str, Any]]


@dataclass(frozen=True)
class Hit:
    kind: Literal["p", "e"]
    url: str
    referrer: str
    visitor_id: str
    visit: int | None
    name: str = ""
    props: dict[str, PropValue] = field(default_factory=dict)


@dataclass(frozen=True)
class ServerEvent:
    name: str
    props: dict[str, PropValue]
    visit: int | None


def json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or 400."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadRequest(_("The request body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise BadRequest(_("The request body must be a JSON object."))
    return data


def _string(data: dict[str, Any], key: str, limit: int, details: Details) -> str | None:
    value = data.get(key)
    if not isinstance(value, str):
        details.append(field_error(key, _("Must be a string."), "type"))
        return None
    if len(value) > limit:
        message = _("Must be at most {count} characters.").format(count=limit)
        details.append(field_error(key, message, "too_long"))
        return None
    return value


def _page_url(data: dict[str, Any], details: Details) -> str:
    value = _string(data, "u", MAX_URL, details)
    if value is None:
        return ""
    if not _is_page_url(value):
        details.append(field_error("u", _("Must be an absolute http(s) URL.")))
    return value


@functools.lru_cache(maxsize=4096)  # a site's pages come back again and again
def _is_page_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def _visit(data: dict[str, Any], key: str, details: Details) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < MAX_VISIT_NUMBER:
        details.append(field_error(key, _("Must be a positive integer."), "type"))
        return None
    return value


def event_name(data: dict[str, Any], key: str, details: Details) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        details.append(field_error(key, _("Give the event a name."), "required"))
        return ""
    if len(value) > MAX_NAME:
        message = _("Must be at most {count} characters.").format(count=MAX_NAME)
        details.append(field_error(key, message, "too_long"))
        return ""
    return value.strip()


def props(value: Any, key: str, details: Details) -> dict[str, PropValue]:
    """Event props, checked against the documented limits."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        details.append(field_error(key, _("Must be an object."), "type"))
        return {}
    if len(value) > MAX_PROPS:
        message = _("At most {count} props.").format(count=MAX_PROPS)
        details.append(field_error(key, message, "too_many"))
        return {}
    cleaned: dict[str, PropValue] = {}
    for name, item in value.items():
        where = f"{key}.{name}"
        if not 1 <= len(name) <= MAX_PROP_KEY:
            message = _("A prop name must be 1 to {count} characters.").format(count=MAX_PROP_KEY)
            details.append(field_error(where, message, "invalid_key"))
        elif isinstance(item, bool):
            cleaned[name] = item
        elif isinstance(item, str):
            if len(item) > MAX_PROP_STRING:
                message = _("Must be at most {count} characters.").format(count=MAX_PROP_STRING)
                details.append(field_error(where, message, "too_long"))
            else:
                cleaned[name] = item
        elif (isinstance(item, int) and abs(item) <= MAX_SAFE_INTEGER) or (
            isinstance(item, float) and math.isfinite(item)
        ):
            cleaned[name] = item
        else:
            message = _("Must be a string, a finite number or a boolean.")
            details.append(field_error(where, message, "type"))
    return cleaned


def _refuse(details: Details) -> None:
    if details:
        raise InvalidRequest(_("The hit is not valid."), details=details)


def parse_hit(raw: bytes) -> Hit:
    """A hit from the browser script, or 400 (not a JSON object) / 422 (broken rules)."""
    data = json_object(raw)
    details: Details = []
    kind = data.get("t")
    if kind not in ("p", "e"):
        details.append(field_error("t", _('Must be "p" (pageview) or "e" (event).')))
    url = _page_url(data, details)
    referrer = ""
    if data.get("r") is not None:
        referrer = _string(data, "r", MAX_URL, details) or ""
    visitor_id = data.get("i")
    if not isinstance(visitor_id, str) or not _VISITOR_ID.match(visitor_id):
        message = _("Must be 8 to 40 letters, digits, '-' or '_'.")
        details.append(field_error("i", message))
    visit = _visit(data, "v", details)
    name, cleaned = "", {}
    if kind == "e":
        name = event_name(data, "n", details)
        cleaned = props(data.get("p"), "p", details)
    _refuse(details)
    assert kind in ("p", "e") and isinstance(visitor_id, str)
    return Hit(kind, url, referrer, visitor_id, visit, name, cleaned)


def parse_server_event(raw: bytes) -> ServerEvent:
    """An event sent by the site's backend: ``{"name", "props"?, "visit"?}``."""
    data = json_object(raw)
    details: Details = []
    name = event_name(data, "name", details)
    cleaned = props(data.get("props"), "props", details)
    visit = _visit(data, "visit", details)
    if details:
        raise InvalidRequest(_("The event is not valid."), details=details)
    return ServerEvent(name=name, props=cleaned, visit=visit)
