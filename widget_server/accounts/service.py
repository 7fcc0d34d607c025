"""Rules for users, sites, roles, logins and API keys. No HTTP here, and no SQL."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TypedDict
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from widget_server.accounts import store
from widget_server.accounts.models import Access, ApiKey, Member, Role, Site, User
from widget_server.db.metadata import utcnow
from widget_server.errors import (
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    TooManyRequests,
    Unauthorized,
    field_error,
    invalid,
)
from widget_server.files.service import check_avatar, save_file
from widget_server.i18n import _, ngettext
from widget_server.settings import LANGUAGES

LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_FAILURES_PER_ACCOUNT = 10
LOGIN_FAILURES_PER_IP = 30
MIN_PASSWORD_LENGTH = 8
API_KEY_PREFIX = "vk_"
_API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a wrong e-mail costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


# --- validation ------------------------------------------------------------------------------


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


# --- passwords and logins --------------------------------------------------------------------


def use_password_hasher(hasher: PasswordHasher) -> None:
    """Replace the hasher (the test suite uses argon2's CHEAPEST profile; production never)."""
    global _hasher, _DUMMY_HASH
    _hasher = hasher
    _DUMMY_HASH = hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _password_matches(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def authenticate(engine: AsyncEngine, email: str, password: str, ip: str) -> User:
    """The user with these credentials, or Unauthorized; refuses while too many recent failures.

    Failures are counted in the database, so the limit holds across processes.
    """
    now = utcnow()
    since = now - LOGIN_WINDOW
    email = email.strip()
    async with engine.begin() as conn:
        by_account, by_ip = await store.login_failures_since(conn, email=email, ip=ip, since=since)
        if by_account >= LOGIN_FAILURES_PER_ACCOUNT or by_ip >= LOGIN_FAILURES_PER_IP:
            oldest = await store.oldest_login_failure_since(conn, email=email, ip=ip, since=since)
            wait = (oldest or now) + LOGIN_WINDOW - now
            minutes = max(1, int(wait.total_seconds() // 60) + 1)
            raise TooManyRequests(
                ngettext(
                    "Too many failed log-in attempts. Try again in {minutes} minute.",
                    "Too many failed log-in attempts. Try again in {minutes} minutes.",
                    minutes,
                ).format(minutes=minutes),
                retry_after=minutes * 60,
            )
        user = await store.user_by_email(conn, email)
        if user is None or not _password_matches(user.password_hash, password):
            await store.record_login_failure(conn, email, ip, now)
        else:
            await store.clear_login_failures(conn, email)
            if user.password_hash and _hasher.check_needs_rehash(user.password_hash):
                await store.update_user(conn, user.id, password_hash=hash_password(password))
            return user
    raise Unauthorized(_("Wrong e-mail or password."))


async def purge_old_login_failures(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await store.purge_login_failures(conn, utcnow() - LOGIN_WINDOW)


# --- users and sites -------------------------------------------------------------------------


async def create_user(
    engine: AsyncEngine,
    *,
    email: str,
    name: str,
    password: str | None,
    is_staff: bool = False,
    language: str | None = None,
) -> User:
    email = clean_email(email)
    name = clean_name(name)
    password_hash = hash_password(clean_password(password)) if password is not None else None
    try:
        async with engine.begin() as conn:
            return await store.insert_user(
                conn,
                email=email,
                name=name,
                password_hash=password_hash,
                is_staff=is_staff,
                language=clean_language(language) if language else None,
                avatar_file_id=None,
                now=utcnow(),
            )
    except IntegrityError:
        message = _("An account with this e-mail already exists.")
        raise Conflict(message, details=[field_error("email", message, "taken")]) from None


async def get_user(engine: AsyncEngine, user_id: int) -> User | None:
    async with engine.connect() as conn:
        return await store.user_by_id(conn, user_id)


async def user_by_email(engine: AsyncEngine, email: str) -> User | None:
    async with engine.connect() as conn:
        return await store.user_by_email(conn, email.strip())


async def set_password(engine: AsyncEngine, user_id: int, password: str) -> None:
    """Change the password and end every other session of the user."""
    password_hash = hash_password(clean_password(password))
    async with engine.begin() as conn:
        await store.update_user(conn, user_id, password_hash=password_hash)
        await store.bump_session_epoch(conn, user_id)


async def set_language(engine: AsyncEngine, user_id: int, language: str) -> None:
    async with engine.begin() as conn:
        await store.update_user(conn, user_id, language=clean_language(language))


def new_site_key() -> str:
    # 12 lower-case characters: easy to read in a snippet, 60 bits of randomness.
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))


async def create_site(
    engine: AsyncEngine,
    *,
    name: str,
    owner: User,
    allowed_origins: list[str] | None = None,
    time_zone: str = "UTC",
    default_language: str = "en",
) -> Site:
    values = _site_values(name, allowed_origins or [], time_zone, default_language)
    async with engine.begin() as conn:
        site = await store.insert_site(conn, key=new_site_key(), now=utcnow(), **values)
        await store.insert_membership(
            conn, site_id=site.id, user_id=owner.id, role="owner", now=utcnow()
        )
    return site


class SiteFields(TypedDict):
    name: str
    allowed_origins: list[str]
    time_zone: str
    default_language: str


def may_create_sites(user: User, sites: list[tuple[Site, Role]]) -> bool:
    """Instance staff, and people who already own a site, may create more sites.

    (``vitrine create-site`` on the server is how the first owner gets a site.)
    """
    return user.is_staff or any(role == "owner" for _site, role in sites)


async def create_site_as(
    engine: AsyncEngine, user: User, *, name: str, time_zone: str, default_language: str
) -> Site:
    """A site created from the console by ``user``, who becomes its owner."""
    if not may_create_sites(user, await sites_for(engine, user)):
        raise Forbidden(_("Only instance staff and site owners can create sites."))
    return await create_site(
        engine, name=name, owner=user, time_zone=time_zone, default_language=default_language
    )


def _site_values(name: str, origins: list[str], time_zone: str, language: str) -> SiteFields:
    return {
        "name": clean_name(name),
        "allowed_origins": clean_origins(origins),
        "time_zone": clean_time_zone(time_zone),
        "default_language": clean_language(language, "default_language"),
    }


async def update_site(
    access: Access,
    engine: AsyncEngine,
    *,
    name: str,
    allowed_origins: list[str],
    time_zone: str,
    default_language: str,
) -> Site:
    _require_admin(access)
    values = _site_values(name, allowed_origins, time_zone, default_language)
    async with engine.begin() as conn:
        await store.update_site(conn, access.site.id, **values)
        site = await store.site_by_id(conn, access.site.id)
    assert site is not None
    return site


async def site_by_key(engine: AsyncEngine, key: str) -> Site | None:
    async with engine.connect() as conn:
        return await store.site_by_key(conn, key)


async def sites_for(engine: AsyncEngine, user: User) -> list[tuple[Site, Role]]:
    """The sites the user works on, with their role; staff see every site (as owners)."""
    async with engine.connect() as conn:
        mine = await store.sites_of_user(conn, user.id)
        if not user.is_staff:
            return mine
        roles = {site.id: role for site, role in mine}
        return [(site, roles.get(site.id, "owner")) for site in await store.all_sites(conn)]


async def access_to(engine: AsyncEngine, user: User, site_key: str) -> Access:
    """The user's access to a site; NotFound when they have none (existence is not revealed)."""
    async with engine.connect() as conn:
        site = await store.site_by_key(conn, site_key)
        found = await store.member(conn, site.id, user.id) if site else None
    if site is None:
        raise NotFound(_("No such site."))
    if found is not None and found.is_active:
        return Access(user=user, site=site, role=found.role)
    if user.is_staff:
        return Access(user=user, site=site, role="owner")
    raise NotFound(_("No such site."))


# --- operators (members of a site) -----------------------------------------------------------


def _require_admin(access: Access) -> None:
    if not access.is_admin:
        raise Forbidden(_("Only the site's owner or an admin can do this."))


def _check_role_change(access: Access, role: Role) -> None:
    _require_admin(access)
    if role == "owner":
        raise Forbidden(_("A site has one owner; the owner role cannot be given."))
    if role == "admin" and not access.is_owner:
        raise Forbidden(_("Only the site's owner can make someone an admin."))


@dataclass(frozen=True)
class Avatar:
    data: bytes
    filename: str


async def members(access: Access, engine: AsyncEngine) -> list[Member]:
    _require_admin(access)
    async with engine.connect() as conn:
        return await store.members(conn, access.site.id)


async def member(access: Access, engine: AsyncEngine, user_id: int) -> Member:
    _require_admin(access)
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


# --- API keys --------------------------------------------------------------------------------


def _hash_api_key(secret: str) -> str:
    # Keys carry 256 random bits, so one round of SHA-256 is enough (no salt or slow hash needed).
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_api_key(access: Access, engine: AsyncEngine, name: str) -> tuple[ApiKey, str]:
    """A new secret key; the secret is returned here once and only its hash is kept."""
    _require_admin(access)
    name = clean_name(name)
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    async with engine.begin() as conn:
        key = await store.insert_api_key(
            conn,
            site_id=access.site.id,
            name=name,
            prefix=secret[:10],
            key_hash=_hash_api_key(secret),
            created_by=access.user.id,
            now=utcnow(),
        )
    return key, secret


async def api_keys(access: Access, engine: AsyncEngine) -> list[ApiKey]:
    _require_admin(access)
    async with engine.connect() as conn:
        return await store.api_keys_of_site(conn, access.site.id)


async def revoke_api_key(access: Access, engine: AsyncEngine, key_id: int) -> None:
    _require_admin(access)
    async with engine.begin() as conn:
        if not await store.revoke_api_key(conn, access.site.id, key_id, utcnow()):
            raise NotFound(_("No such live API key on this site."))


async def authenticate_api_key(engine: AsyncEngine, secret: str) -> tuple[ApiKey, Site]:
    if not secret.startswith(API_KEY_PREFIX):
        raise Unauthorized(_("This is not a Vitrine secret key."))
    now = utcnow()
    async with engine.connect() as conn:
        key = await store.live_api_key_by_hash(conn, _hash_api_key(secret))
        site = await store.site_by_id(conn, key.site_id) if key else None
    if key is None or site is None:
        raise Unauthorized(_("The secret key is unknown or has been revoked."))
    if key.last_used_at is None or key.last_used_at < now - _API_KEY_TOUCH_INTERVAL:
        async with engine.begin() as conn:
            await store.touch_api_key(conn, key.id, now, now - _API_KEY_TOUCH_INTERVAL)
    return key, site


async def site_key_on(conn: AsyncConnection, site_id: int) -> str | None:
    """The public key of a site, read on the caller's connection (inside its transaction)."""
    site = await store.site_by_id(conn, site_id)
    return site.key if site else None
