"""Who works on a site: adding operators and admins, editing them, deactivating them.

Only the owner makes admins or changes them; admins manage operators; nobody touches the owner.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from widget_server.accounts import store
from widget_server.accounts.models import Access, Member, Role, Site
from widget_server.accounts.service import hash_password, require_admin
from widget_server.accounts.validation import clean_email, clean_name, clean_password
from widget_server.db.metadata import utcnow
from widget_server.errors import Conflict, Forbidden, InvalidRequest, NotFound, field_error
from widget_server.files.service import check_avatar, save_file
from widget_server.i18n import _


def _check_role_change(access: Access, role: Role) -> None:
    require_admin(access)
    if role == "owner":
        raise Forbidden(_("A site has one owner; the owner role cannot be given."))
    if role == "admin" and not access.is_owner:
        raise Forbidden(_("Only the site's owner can make someone an admin."))


@dataclass(frozen=True)
class Avatar:
    data: bytes
    filename: str


async def members(access: Access, engine: AsyncEngine) -> list[Member]:
    require_admin(access)
    async with engine.connect() as conn:
        return await store.members(conn, access.site.id)


async def members_on(conn: AsyncConnection, site_id: int) -> list[Member]:
    """Everyone with a role on the site, read on the caller's connection (inside its
    transaction): for notifying a site's team of something a visitor did."""
    return await store.members(conn, site_id)


async def member(access: Access, engine: AsyncEngine, user_id: int) -> Member:
    require_admin(access)
    async with engine.connect() as conn:
        found = await store.member(conn, access.site.id, user_id)
    if found is None:
        raise NotFound(_("No such operator on this site."))
    return found


async def _store_avatar(conn: AsyncConnection, site: Site, avatar: Avatar) -> str:
    content_type = check_avatar(avatar.data, avatar.filename)
    return await save_file(
        conn,
        site_id=site.id,
        purpose="avatar",
        filename=avatar.filename,
        content_type=content_type,
        data=avatar.data,
    )


async def add_operator(
    access: Access,
    engine: AsyncEngine,
    *,
    email: str,
    name: str,
    password: str,
    role: Role,
    avatar: Avatar | None,
) -> tuple[Member, bool]:
    """Add someone to the site. Returns the member and whether a new account was made.

    An e-mail that already has an account adds that account; its name, password and avatar stay
    its own.
    """
    _check_role_change(access, role)
    # Check every field before answering, so the form can show all its errors at once.
    errors: list[InvalidRequest] = []
    try:
        email = clean_email(email)
    except InvalidRequest as exc:
        errors.append(exc)
    email_ok = not errors
    try:
        clean_name(name)
    except InvalidRequest as exc:
        errors.append(exc)
    try:
        clean_password(password)
    except InvalidRequest as exc:
        errors.append(exc)
    if avatar is not None:
        try:
            check_avatar(avatar.data, avatar.filename)
        except InvalidRequest as exc:
            errors.append(exc)
    now = utcnow()
    async with engine.begin() as conn:
        # An existing account keeps its own name and password: only new accounts need them.
        existing = await store.user_by_email(conn, email) if email_ok else None
        if existing is None and errors:
            raise InvalidRequest(
                " ".join(e.message for e in errors),
                details=[d for e in errors for d in e.details],
            )
        if existing is not None:
            if await store.member(conn, access.site.id, existing.id) is not None:
                raise Conflict(
                    _("This person already works on this site."),
                    details=[field_error("email", _("Already a member of this site."), "taken")],
                )
            user, created = existing, False
        else:
            file_id = await _store_avatar(conn, access.site, avatar) if avatar else None
            user = await store.insert_user(
                conn,
                email=email,
                name=clean_name(name),
                password_hash=hash_password(password),
                is_staff=False,
                language=access.site.default_language,
                avatar_file_id=file_id,
                now=now,
            )
            created = True
        await store.insert_membership(
            conn, site_id=access.site.id, user_id=user.id, role=role, now=now
        )
        added = await store.member(conn, access.site.id, user.id)
    assert added is not None
    return added, created


async def edit_operator(
    access: Access,
    engine: AsyncEngine,
    user_id: int,
    *,
    name: str,
    role: Role,
    avatar: Avatar | None,
    password: str | None,
) -> Member:
    target = await member(access, engine, user_id)
    if target.role == "owner":
        if not (access.is_owner and access.user.id == user_id) and not access.user.is_staff:
            raise Forbidden(_("Only the owner can edit the owner's profile."))
        if role != "owner":
            raise Forbidden(_("The owner's role cannot be changed."))
    elif role != target.role or target.role == "admin":
        # Promoting to admin, or changing an admin in any way, is the owner's decision.
        _check_role_change(access, role)
        if target.role == "admin" and not access.is_owner:
            raise Forbidden(_("Only the site's owner can change an admin."))
    name = clean_name(name)
    password_hash = hash_password(clean_password(password)) if password else None
    async with engine.begin() as conn:
        values: dict[str, object] = {"name": name}
        if avatar is not None:
            values["avatar_file_id"] = await _store_avatar(conn, access.site, avatar)
        if password_hash is not None:
            values["password_hash"] = password_hash
        await store.update_user(conn, user_id, **values)
        if password_hash is not None:
            await store.bump_session_epoch(conn, user_id)
        if role != target.role:
            await store.update_membership(conn, access.site.id, user_id, role=role)
        updated = await store.member(conn, access.site.id, user_id)
    assert updated is not None
    return updated


async def set_operator_active(
    access: Access, engine: AsyncEngine, user_id: int, active: bool
) -> None:
    target = await member(access, engine, user_id)
    if target.role == "owner":
        raise Forbidden(_("The site's owner cannot be deactivated."))
    if target.role == "admin" and not access.is_owner:
        raise Forbidden(_("Only the site's owner can deactivate an admin."))
    async with engine.begin() as conn:
        await store.update_membership(conn, access.site.id, user_id, is_active=active)
