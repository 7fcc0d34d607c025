"""Reply templates in the console: admins list, add, edit and delete them on the Multiwidget
tab; every member searches them from the chat (``chats/templates.json``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from widget_server.console.auth import admin_access
from widget_server.console.context import checked_form, flash, redirect, render, site_access
from widget_server.errors import InvalidRequest
from widget_server.i18n import _
from widget_server.runtime import runtime
from widget_server.widgets import service

LIST_PAGE = "widgets/reply_templates.html"
EDIT_PAGE = "widgets/reply_template_form.html"


def _list_url(site_key: str) -> str:
    return f"/console/sites/{site_key}/widgets/templates"


async def templates_list(request: Request) -> Response:
    access = await admin_access(request)
    context: dict[str, Any] = {
        "active_tab": "widgets",
        "templates": await service.reply_templates(access, runtime(request).engine),
        "values": {"name": "", "text": ""},
        "error": None,
    }
    return await render(request, LIST_PAGE, context)


async def add_template(request: Request) -> Response:
    form = await checked_form(request)
    access = await admin_access(request)
    engine = runtime(request).engine
    values = {"name": str(form.get("name", "")), "text": str(form.get("text", ""))}
    try:
        await service.create_template(access, engine, **values)
    except InvalidRequest as exc:
        context = {
            "active_tab": "widgets",
            "templates": await service.reply_templates(access, engine),
            "values": values,
            "error": exc,
        }
        return await render(request, LIST_PAGE, context, status_code=exc.status)
    flash(request, _("Reply template added."))
    return redirect(_list_url(access.site.key))


async def edit_template_page(request: Request) -> Response:
    access = await admin_access(request)
    template_id = request.path_params["template_id"]
    found = await service.get_template(access, runtime(request).engine, template_id)
    context = {
        "active_tab": "widgets",
        "template_id": found.id,
        "values": {"name": found.name, "text": found.text},
        "error": None,
    }
    return await render(request, EDIT_PAGE, context)


async def save_template(request: Request) -> Response:
    form = await checked_form(request)
    access = await admin_access(request)
    template_id = request.path_params["template_id"]
    values = {"name": str(form.get("name", "")), "text": str(form.get("text", ""))}
    try:
        await service.update_template(access, runtime(request).engine, template_id, **values)
    except InvalidRequest as exc:
        context = {
            "active_tab": "widgets",
            "template_id": template_id,
            "values": values,
            "error": exc,
        }
        return await render(request, EDIT_PAGE, context, status_code=exc.status)
    flash(request, _("Reply template saved."))
    return redirect(_list_url(access.site.key))


async def remove_template(request: Request) -> Response:
    await checked_form(request)
    access = await admin_access(request)
    template_id = request.path_params["template_id"]
    await service.delete_template(access, runtime(request).engine, template_id)
    flash(request, _("Reply template deleted."))
    return redirect(_list_url(access.site.key))


async def templates_json(request: Request) -> Response:
    """``GET /console/sites/KEY/chats/templates.json?q=words`` (any member)."""
    access = await site_access(request)
    query = request.query_params.get("q", "")[:200]
    found = await service.search_templates(access, runtime(request).engine, query)
    return JSONResponse([{"id": t.id, "name": t.name, "text": t.text} for t in found])
