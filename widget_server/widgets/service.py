"""Multiwidget rules: a site's widget settings (chat on/off, languages and texts, look, working
hours, pre-chat form, identity verification), what the visitor's widget is told, reply
templates and the leave-a-message form. No HTTP and no SQL here.

The chat feature reads the settings through ``widget_settings``, ``public_widget`` and
``identity_verified``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from widget_server.accounts import service as accounts
from widget_server.accounts.models import Access
from widget_server.db.metadata import utcnow
from widget_server.errors import InvalidRequest, field_error
from widget_server.i18n import _
from widget_server.widgets import hours as working_hours
from widget_server.widgets import store
from widget_server.widgets.offline import (
    OfflineMessage,
    leave_offline_message,
    mark_offline_read,
    offline_messages,
    unread_offline_count,
)
from widget_server.widgets.replies import (
    ReplyTemplate,
    create_template,
    delete_template,
    get_template,
    reply_templates,
    search_templates,
    update_template,
)
from widget_server.widgets.texts import BUILT_IN, MAX_TEXT, TEXT_KEYS, WIDGET_LANGUAGES, texts_for

__all__ = [
    "BUILT_IN",
    "OFFLINE_MODES",
    "POSITIONS",
    "PRECHAT_FIELDS",
    "PRECHAT_VALUES",
    "TEXT_KEYS",
    "WEEKDAYS",
    "WIDGET_LANGUAGES",
    "OfflineMessage",
    "ReplyTemplate",
    "WidgetSettings",
    "chat_module_url",
    "choose_language",
    "counter_modules",
    "create_template",
    "delete_template",
    "enable_chat",
    "get_template",
    "identity_hash",
    "identity_verified",
    "is_open",
    "leave_offline_message",
    "mark_offline_read",
    "new_identity_secret",
    "offline_messages",
    "public_widget",
    "reply_templates",
    "search_templates",
    "texts_for",
    "unread_offline_count",
    "update_template",
    "update_widget",
    "widget_settings",
]

WEEKDAYS = working_hours.WEEKDAYS
POSITIONS = ("right", "left")
OFFLINE_MODES = ("form", "hide")
PRECHAT_FIELDS = ("name", "email", "phone")
PRECHAT_VALUES = ("off", "optional", "required")
BOOLEAN_SETTINGS = (
    "chat_enabled",
    "use_browser_language",
    "always_open",
    "identity_required",
    "auto_assign",
)
DEFAULT_COLOR = "#1f6feb"
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass(frozen=True)
class WidgetSettings:
    """A site's multiwidget settings (the defaults until an admin first saves them)."""

    site_id: int
    chat_enabled: bool
    default_language: str
    use_browser_language: bool
    texts: dict[str, dict[str, str]]  # the owner's overrides only, per language
    color: str
    position: str
    always_open: bool
    hours: dict[str, list[list[str]]]
    offline_mode: str
    prechat: dict[str, str]
    identity_required: bool
    identity_secret: str  # "" until the row is first written
    auto_assign: bool


def _defaults(site_id: int, language: str) -> WidgetSettings:
    return WidgetSettings(
        site_id=site_id,
        chat_enabled=False,
        default_language=language if language in WIDGET_LANGUAGES else "en",
        use_browser_language=True,
        texts={},
        color=DEFAULT_COLOR,
        position="right",
        always_open=True,
        hours=working_hours.default_hours(),
        offline_mode="form",
        prechat={"name": "optional", "email": "optional", "phone": "off"},
        identity_required=False,
        identity_secret="",
        auto_assign=False,
    )


async def _site_language(engine: AsyncEngine, site_id: int) -> str:
    async with engine.connect() as conn:
        key = await accounts.site_key_on(conn, site_id)
    site = await accounts.site_by_key(engine, key) if key else None
    return site.default_language if site else "en"


async def widget_settings(engine: AsyncEngine, site_id: int) -> WidgetSettings:
    async with engine.connect() as conn:
        row = await store.settings_row(conn, site_id)
    if row is None:
        return _defaults(site_id, await _site_language(engine, site_id))
    values = {name: row[name] for name in store.SETTINGS_COLUMNS}
    defaults = _defaults(site_id, row["default_language"])
    values["texts"] = dict(values["texts"] or {})
    values["hours"] = {**defaults.hours, **(values["hours"] or {})}
    values["prechat"] = {**defaults.prechat, **(values["prechat"] or {})}
    return WidgetSettings(site_id=site_id, **values)


def new_identity_secret() -> str:
    return secrets.token_hex(32)


# --- the chat module the counter loads --------------------------------------------------------

CHAT_MODULE = Path(__file__).resolve().parent.parent / "static" / "dist" / "chat.js"
_module_versions: dict[Path, str] = {}


def module_version(path: Path) -> str | None:
    """A short hash of the built file's bytes, read once per process (None while it is missing:
    then it is looked for again next time)."""
    found = _module_versions.get(path)
    if found is None:
        try:
            found = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        except OSError:
            return None
        _module_versions[path] = found
    return found


def chat_module_url(base_url: str, path: Path = CHAT_MODULE) -> str:
    """``BASE/static/dist/chat.js?v=HASH``: what the counter config's ``m`` holds when the
    site's chat is on."""
    url = f"{base_url.rstrip('/')}/static/dist/{path.name}"
    version = module_version(path)
    return f"{url}?v={version}" if version else url


async def counter_modules(engine: AsyncEngine, site_id: int, base_url: str) -> list[str]:
    """The widget modules the site's counter script loads."""
    settings = await widget_settings(engine, site_id)
    return [chat_module_url(base_url)] if settings.chat_enabled else []


# --- what the visitor's widget is told --------------------------------------------------------


def choose_language(settings: WidgetSettings, languages: list[str]) -> str:
    """The first of the browser's languages we have (``fr-CA`` counts as ``fr``) when the site
    allows it, else the site's default."""
    if settings.use_browser_language:
        for tag in languages:
            code = str(tag).strip().lower().replace("_", "-").split("-")[0]
            if code in WIDGET_LANGUAGES:
                return code
    return settings.default_language


def is_open(settings: WidgetSettings, time_zone: str, now: datetime) -> bool:
    return settings.always_open or working_hours.is_open(settings.hours, time_zone, now)


def public_widget(
    settings: WidgetSettings, *, languages: list[str], time_zone: str, now: datetime
) -> dict[str, Any]:
    language = choose_language(settings, languages)
    if is_open(settings, time_zone, now):
        state = "open"
    else:
        state = "form" if settings.offline_mode == "form" else "hidden"
    return {
        "language": language,
        "texts": texts_for(language, settings.texts),
        "color": settings.color,
        "position": settings.position,
        "prechat": dict(settings.prechat),
        "state": state,
    }


def identity_hash(secret: str, external_id: str) -> str:
    return hmac.new(secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()


def identity_verified(settings: WidgetSettings, external_id: str, hash_hex: str | None) -> bool:
    if not settings.identity_secret or not isinstance(hash_hex, str) or not hash_hex:
        return False
    if not isinstance(external_id, str) or not external_id:
        return False
    expected = identity_hash(settings.identity_secret, external_id)
    return hmac.compare_digest(expected.encode(), hash_hex.strip().lower().encode())


# --- changing the settings --------------------------------------------------------------------


def _bool(name: str, value: Any, details: list[dict[str, Any]]) -> Any:
    if not isinstance(value, bool):
        details.append(field_error(name, _("Must be true or false."), "type"))
    return value


def _choice(name: str, value: Any, choices: tuple[str, ...], details: list[dict[str, Any]]) -> Any:
    if value not in choices:
        message = _("Must be one of: {choices}.").format(choices=", ".join(choices))
        details.append(field_error(name, message, "choice"))
    return value


def _clean_texts(value: Any, details: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    cleaned: dict[str, dict[str, str]] = {}
    if not isinstance(value, dict):
        details.append(field_error("texts", _("Texts must be an object per language.")))
        return cleaned
    for language, texts in value.items():
        if language not in WIDGET_LANGUAGES or not isinstance(texts, dict):
            message = _("Texts exist in these languages: {choices}.").format(
                choices=", ".join(WIDGET_LANGUAGES)
            )
            details.append(field_error(f"texts.{language}", message, "language"))
            continue
        mine: dict[str, str] = {}
        for key, text in texts.items():
            name = f"texts.{language}.{key}"
            if key not in TEXT_KEYS:
                details.append(field_error(name, _("Unknown text."), "unknown"))
            elif not isinstance(text, str):
                details.append(field_error(name, _("Must be a string."), "type"))
            elif len(text.strip()) > MAX_TEXT:
                message = _("At most {count} characters.").format(count=MAX_TEXT)
                details.append(field_error(name, message, "length"))
            elif text.strip():  # blank: the built-in text
                mine[key] = text.strip()
        if mine:
            cleaned[language] = mine
    return cleaned


def _clean_prechat(value: Any, details: list[dict[str, Any]]) -> dict[str, str]:
    if not isinstance(value, dict):
        details.append(field_error("prechat", _("The pre-chat form must be an object.")))
        return {}
    for key in value:
        if key not in PRECHAT_FIELDS:
            details.append(field_error(f"prechat.{key}", _("Unknown field."), "unknown"))
    cleaned = {key: value.get(key, "off") for key in PRECHAT_FIELDS}
    for key, choice in cleaned.items():
        _choice(f"prechat.{key}", choice, PRECHAT_VALUES, details)
    return cleaned


def _clean_changes(changes: dict[str, Any]) -> dict[str, Any]:
    details: list[dict[str, Any]] = []
    cleaned: dict[str, Any] = {}
    for name, value in changes.items():
        if name in BOOLEAN_SETTINGS:
            cleaned[name] = _bool(name, value, details)
        elif name == "default_language":
            cleaned[name] = _choice(name, value, WIDGET_LANGUAGES, details)
        elif name == "position":
            cleaned[name] = _choice(name, value, POSITIONS, details)
        elif name == "offline_mode":
            cleaned[name] = _choice(name, value, OFFLINE_MODES, details)
        elif name == "color":
            if not isinstance(value, str) or not _COLOR.match(value.strip()):
                message = _("Write the colour as #rrggbb, e.g. #1f6feb.")
                details.append(field_error(name, message, "format"))
            else:
                cleaned[name] = value.strip().lower()
        elif name == "texts":
            cleaned[name] = _clean_texts(value, details)
        elif name == "prechat":
            cleaned[name] = _clean_prechat(value, details)
        elif name == "hours":
            cleaned[name], problems = working_hours.clean_hours(value)
            details.extend(problems)
        elif name == "identity_secret":
            if not isinstance(value, str) or not _SECRET.match(value):
                message = _("16 to 64 letters, digits, - or _.")
                details.append(field_error(name, message, "format"))
            cleaned[name] = value
        else:
            details.append(field_error(name, _("Unknown setting."), "unknown"))
    if details:
        raise InvalidRequest(_("Some settings are not valid."), details=details)
    return cleaned


async def update_widget(access: Access, engine: AsyncEngine, **changes: Any) -> WidgetSettings:
    """Change the given settings (admins only); the others keep their value."""
    accounts.require_admin(access)
    cleaned = _clean_changes(changes)
    site = access.site
    first = asdict(_defaults(site.id, site.default_language))
    del first["site_id"]
    first["identity_secret"] = new_identity_secret()
    await store.save_settings(engine, site.id, changes=cleaned, first=first, now=utcnow())
    return await widget_settings(engine, site.id)


async def enable_chat(access: Access, engine: AsyncEngine, enabled: bool = True) -> WidgetSettings:
    return await update_widget(access, engine, chat_enabled=enabled)
