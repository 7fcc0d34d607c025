"""The operator console's live chat page (GET /console/sites/KEY/chats) and /console/chats.

The page is a shell: the conversations, messages and side panel are filled in by the native ES
modules under ``static/console-chat/`` (entry ``main.js``, no build step) through the console
socket and the console JSON routes (see docs/chat-protocol.md). Everything the scripts need from
the server (ids, the CSRF token, the interface texts in the reader's language) travels in a
non-executable JSON block.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from widget_server.accounts import operators as team
from widget_server.accounts import service as accounts
from widget_server.accounts.models import Access
from widget_server.console.context import csrf_token, redirect, render, require_user, site_access
from widget_server.i18n import _
from widget_server.runtime import runtime
from widget_server.widgets import service as widgets

CHATS_PAGE = "chat/chats.html"


def chat_texts() -> dict[str, str]:
    """The texts the script shows, in the reader's language."""
    return {
        "visitor": _("Visitor"),
        "you": _("You"),
        "note": _("Private note"),
        "system": _("System"),
        "sending": _("Sending…"),
        "sent": _("Sent"),
        "read": _("Read"),
        "failed": _("Not sent"),
        "typing": _("The visitor is typing…"),
        "no_chats": _("No conversations here."),
        "no_messages": _("No messages yet."),
        "unassigned": _("Unassigned"),
        "assigned_to_you": _("A conversation was assigned to you"),
        "lead_created": _("Lead created"),
        "connecting": _("Connecting…"),
        "online": _("Connected"),
        "reconnecting": _("Connection lost, reconnecting…"),
        "refused": _("The chat server refused the connection. Reload the page."),
        "upload_failed": _("The file could not be uploaded."),
        "no_templates": _("No templates match."),
        "none": _("None"),
        "earlier_chat": _("Conversation #%(id)s"),
        "lead": _("Lead #%(id)s"),
        "status_new": _("New"),
        "status_open": _("Open"),
        "status_pending": _("Pending"),
        "status_resolved": _("Resolved"),
        "offline": _("offline"),
        "away": _("away"),
        "remove_file": _("Remove the file"),
    }


async def _operators(access: Access, request: Request) -> list[dict[str, Any]]:
    """Who an admin may assign chats to (the active members of the site)."""
    if not access.is_admin:
        return []
    members = await team.members(access, runtime(request).engine)
    return [
        {"id": member.user.id, "name": member.user.name} for member in members if member.is_active
    ]


async def chats_page(request: Request) -> Response:
    access = await site_access(request)
    operators = await _operators(access, request)
    chat = await widgets.widget_settings(runtime(request).engine, access.site.id)
    config = {
        "site": access.site.key,
        "csrf": csrf_token(request),
        "me": {"id": access.user.id, "name": access.user.name, "admin": access.is_admin},
        "operators": operators,
        "texts": chat_texts(),
    }
    page = {
        "active_tab": "chats",
        "chat_config": config,
        "operators": operators,
        "chat_enabled": chat.chat_enabled,
    }
    return await render(request, CHATS_PAGE, page)


async def my_chats(request: Request) -> Response:
    """The chats of the site used last, else of the user's first site."""
    user = await require_user(request)
    sites = await accounts.sites_for(runtime(request).engine, user)
    if not sites:
        return redirect("/console")
    keys = [site.key for site, _role in sites]
    last = request.session.get("site")
    return redirect(f"/console/sites/{last if last in keys else keys[0]}/chats")


routes: list[BaseRoute] = [
    Route("/console/chats", my_chats, methods=["GET"]),
    Route("/console/sites/{site_key}/chats", chats_page, methods=["GET"]),
]
