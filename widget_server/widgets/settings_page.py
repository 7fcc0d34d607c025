"""The console's Multiwidget tab: the chat switch, texts per language, look, working hours,
offline mode, pre-chat form, identity verification and auto-assignment (admins only)."""

from __future__ import annotations

import re
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from widget_server.accounts.models import Access
from widget_server.console.auth import admin_access
from widget_server.console.context import checked_form, flash, redirect, render
from widget_server.errors import InvalidRequest
from widget_server.i18n import LANGUAGE_NAMES, _
from widget_server.runtime import runtime
from widget_server.widgets import service
from widget_server.widgets.service import WidgetSettings
from widget_server.widgets.texts import EDITABLE_TEXTS

PAGE = "widgets/widget_settings.html"
FLAGS = ("chat_enabled", "use_browser_language", "always_open", "identity_required", "auto_assign")
_SEPARATORS = re.compile(r"[,;\n]+")
_DASH = re.compile(r"\s*[-–—]\s*")


def hours_text(intervals: list[list[str]]) -> str:
    return ", ".join(f"{start}–{end}" for start, end in intervals)


def parse_intervals(text: str) -> list[list[str]]:
    """``"09:00–13:00, 14:00-18:00"`` → ``[["09:00", "13:00"], ["14:00", "18:00"]]``; a piece
    without a dash stays a one-item list, which the service reports as badly written. Hours
    without a leading zero (``9:00``) are accepted."""
    intervals: list[list[str]] = []
    for piece in _SEPARATORS.split(text):
        if piece.strip():
            times = [t.strip() for t in _DASH.split(piece.strip(), maxsplit=1)]
            intervals.append([f"0{t}" if re.match(r"^\d:\d\d$", t) else t for t in times])
    return intervals


def form_values(settings: WidgetSettings) -> dict[str, Any]:
    """What the form shows: settings as the strings and flags of its fields."""
    values: dict[str, Any] = {name: getattr(settings, name) for name in FLAGS}
    values.update(
        default_language=settings.default_language,
        color=settings.color,
        position=settings.position,
        offline_mode=settings.offline_mode,
        prechat=dict(settings.prechat),
        texts={lang: dict(settings.texts.get(lang, {})) for lang in service.WIDGET_LANGUAGES},
        hours={day: hours_text(settings.hours.get(day, [])) for day in service.WEEKDAYS},
    )
    return values


def values_from_form(form: FormData) -> dict[str, Any]:
    """The posted fields, as the form shows them again when something is wrong."""
    values: dict[str, Any] = {name: form.get(name) in ("1", "on") for name in FLAGS}
    for name in ("default_language", "color", "position", "offline_mode"):
        values[name] = str(form.get(name, "")).strip()
    values["prechat"] = {
        name: str(form.get(f"prechat_{name}", "off")) for name in service.PRECHAT_FIELDS
    }
    values["texts"] = {
        lang: {key: str(form.get(f"text_{lang}_{key}", "")).strip() for key in EDITABLE_TEXTS}
        for lang in service.WIDGET_LANGUAGES
    }
    values["hours"] = {day: str(form.get(f"hours_{day}", "")) for day in service.WEEKDAYS}
    return values


def changes_from(values: dict[str, Any], settings: WidgetSettings) -> dict[str, Any]:
    changes = {name: values[name] for name in FLAGS}
    for name in ("default_language", "color", "position", "offline_mode", "prechat"):
        changes[name] = values[name]
    # Texts the form does not show are kept as they are.
    texts = {lang: dict(settings.texts.get(lang, {})) for lang in service.WIDGET_LANGUAGES}
    for lang, shown in values["texts"].items():
        for key, text in shown.items():
            if text:
                texts[lang][key] = text
            else:
                texts[lang].pop(key, None)
    changes["texts"] = {lang: mine for lang, mine in texts.items() if mine}
    changes["hours"] = {day: parse_intervals(text) for day, text in values["hours"].items()}
    return changes


async def _page(
    request: Request,
    access: Access,
    settings: WidgetSettings,
    values: dict[str, Any],
    error: InvalidRequest | None = None,
) -> Response:
    example_hash = (
        service.identity_hash(settings.identity_secret, "42") if settings.identity_secret else ""
    )
    context = {
        "active_tab": "widgets",
        "settings_now": settings,
        "values": values,
        "error": error,
        "languages": [(code, LANGUAGE_NAMES[code]) for code in service.WIDGET_LANGUAGES],
        "weekdays": service.WEEKDAYS,
        "editable_texts": EDITABLE_TEXTS,
        "built_in": service.BUILT_IN,
        "example_hash": example_hash,
    }
    return await render(request, PAGE, context, status_code=error.status if error else 200)


async def settings_page(request: Request) -> Response:
    access = await admin_access(request)
    settings = await service.widget_settings(runtime(request).engine, access.site.id)
    return await _page(request, access, settings, form_values(settings))


async def save_settings(request: Request) -> Response:
    form = await checked_form(request)
    access = await admin_access(request)
    engine = runtime(request).engine
    current = await service.widget_settings(engine, access.site.id)
    values = values_from_form(form)
    try:
        await service.update_widget(access, engine, **changes_from(values, current))
    except InvalidRequest as exc:
        return await _page(request, access, current, values, exc)
    flash(request, _("Multiwidget settings saved."))
    return redirect(f"/console/sites/{access.site.key}/widgets")


async def new_identity_secret(request: Request) -> Response:
    await checked_form(request)
    access = await admin_access(request)
    secret = service.new_identity_secret()
    await service.update_widget(access, runtime(request).engine, identity_secret=secret)
    flash(request, _("A new identity secret was made: update your site's backend with it."))
    return redirect(f"/console/sites/{access.site.key}/widgets#identity")
