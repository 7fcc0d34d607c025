"""The Operators tab: the people who work on a site, their avatars and roles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from widget_server.accounts import operators
from widget_server.accounts import service as accounts
from widget_server.accounts.models import Access, Member, Role
from widget_server.console.auth import admin_access
from widget_server.console.context import checked_form, flash, log_in, redirect, render
from widget_server.errors import Conflict, Forbidden, InvalidRequest
from widget_server.files.service import AVATAR_MAX_PX, AVATAR_MIN_PX
from widget_server.i18n import _
from widget_server.runtime import runtime

FORM_PAGE = "console/operator_form.html"


@dataclass(frozen=True)
class Actions:
    """What the viewer may do to one member, so the page offers only that.

    A mirror of the rules in ``accounts.service`` (which enforces them on every action).
    """

    edit: bool
    toggle: bool


def actions(access: Access, member: Member) -> Actions:
    if member.role == "owner":
        is_self = access.user.id == member.user.id
        return Actions(edit=(access.is_owner and is_self) or access.user.is_staff, toggle=False)
    allowed = access.is_owner if member.role == "admin" else access.is_admin
    return Actions(edit=allowed, toggle=allowed)


async def read_avatar(form: FormData) -> operators.Avatar | None:
    """The uploaded avatar; None when the file input was left empty."""
    upload = form.get("avatar")
    if not isinstance(upload, UploadFile):
        return None
    data = await upload.read()
    await upload.close()
    if not data and not upload.filename:
        return None
    return operators.Avatar(data, upload.filename or "")


def _list_url(access: Access) -> str:
    return f"/console/sites/{access.site.key}/operators"


def _form_context(access: Access, values: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "active_tab": "operators",
        "values": values,
        "avatar_min": AVATAR_MIN_PX,
        "avatar_max": AVATAR_MAX_PX,
        "may_grant_admin": access.is_owner,
        **more,
    }


async def operators_page(request: Request) -> Response:
    access = await admin_access(request)
    members = await operators.members(access, runtime(request).engine)
    context = {"active_tab": "operators", "members": members, "actions": actions}
    return await render(request, "console/operators.html", context)


async def new_operator_page(request: Request) -> Response:
    access = await admin_access(request)
    values = {"name": "", "email": "", "admin": False}
    return await render(request, FORM_PAGE, _form_context(access, values, member=None))


async def add_operator(request: Request) -> Response:
    form = await checked_form(request)
    access = await admin_access(request)
    values = {
        "name": str(form.get("name", "")),
        "email": str(form.get("email", "")),
        "admin": bool(form.get("admin")),
    }
    role: Role = "admin" if values["admin"] else "operator"
    try:
        added, created = await operators.add_operator(
            access,
            runtime(request).engine,
            email=str(values["email"]),
            name=str(values["name"]),
            password=str(form.get("password", "")),
            role=role,
            avatar=await read_avatar(form),
        )
    except (InvalidRequest, Conflict) as exc:
        context = _form_context(access, values, member=None, error=exc)
        return await render(request, FORM_PAGE, context, status_code=exc.status)
    if created:
        flash(request, _("{name} can now log in and answer chats.").format(name=added.user.name))
    else:
        message = _(
            "{name} already had an account and was added to this site; "
            "their own name, password and avatar are kept."
        )
        flash(request, message.format(name=added.user.name))
    return redirect(_list_url(access))


async def _editable(request: Request) -> tuple[Access, Member]:
    access = await admin_access(request)
    target = await operators.member(access, runtime(request).engine, request.path_params["user_id"])
    if not actions(access, target).edit:
        if target.role == "owner":
            raise Forbidden(_("Only the owner can edit the owner's profile."))
        raise Forbidden(_("Only the site's owner can change an admin."))
    return access, target


async def edit_operator_page(request: Request) -> Response:
    access, target = await _editable(request)
    values = {"name": target.user.name, "email": target.user.email, "admin": target.is_admin}
    return await render(request, FORM_PAGE, _form_context(access, values, member=target))


async def save_operator(request: Request) -> Response:
    form = await checked_form(request)
    access, target = await _editable(request)
    role = target.role
    if access.is_owner and target.role != "owner":
        role = "admin" if form.get("admin") else "operator"
    values = {
        "name": str(form.get("name", "")),
        "email": target.user.email,
        "admin": role != "operator",
    }
    password = str(form.get("password", "")) or None
    engine = runtime(request).engine
    try:
        updated = await operators.edit_operator(
            access,
            engine,
            target.user.id,
            name=str(values["name"]),
            role=role,
            avatar=await read_avatar(form),
            password=password,
        )
    except InvalidRequest as exc:
        context = _form_context(access, values, member=target, error=exc)
        return await render(request, FORM_PAGE, context, status_code=exc.status)
    if password and updated.user.id == access.user.id:
        # A new password ends every session of its user; keep this one, freshly started.
        user = await accounts.get_user(engine, updated.user.id)
        assert user is not None
        log_in(request, user)
    flash(request, _("{name} was saved.").format(name=updated.user.name))
    return redirect(_list_url(access))


async def _set_active(request: Request, active: bool) -> Response:
    await checked_form(request)
    access = await admin_access(request)
    engine = runtime(request).engine
    user_id = request.path_params["user_id"]
    target = await operators.member(access, engine, user_id)
    await operators.set_operator_active(access, engine, user_id, active)
    if active:
        message = _("{name} can work on this site again.")
    else:
        message = _("{name} was deactivated and can no longer open this site.")
    flash(request, message.format(name=target.user.name))
    return redirect(_list_url(access))


async def deactivate_operator(request: Request) -> Response:
    return await _set_active(request, False)


async def reactivate_operator(request: Request) -> Response:
    return await _set_active(request, True)


_BASE = "/console/sites/{site_key}/operators"
routes: list[BaseRoute] = [
    Route(_BASE, operators_page, methods=["GET"]),
    Route(_BASE, add_operator, methods=["POST"]),
    Route(_BASE + "/new", new_operator_page, methods=["GET"]),
    Route(_BASE + "/{user_id:int}", edit_operator_page, methods=["GET"]),
    Route(_BASE + "/{user_id:int}", save_operator, methods=["POST"]),
    Route(_BASE + "/{user_id:int}/deactivate", deactivate_operator, methods=["POST"]),
    Route(_BASE + "/{user_id:int}/reactivate", reactivate_operator, methods=["POST"]),
]
