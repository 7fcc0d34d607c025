"""Rules for users, sites, roles, logins and API keys. No HTTP here, and no SQL.

Who works on a site (operators and admins) is in ``operators.py``; field checks in
``validation.py``.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import TypedDict

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from widget_server.accounts import store
from widget_server.accounts.models import Access, ApiKey, Role, Site, User
from widget_server.accounts.validation import (
    clean_email,
    clean_language,
    clean_name,
    clean_origins,
    clean_password,
    clean_time_zone,
)
from widget_server.db.metadata import utcnow
from widget_server.errors import (
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    field_error,
)
from widget_server.i18n import _, ngettext

LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_FAILURES_PER_ACCOUNT = 10
LOGIN_FAILURES_PER_IP = 30
API_KEY_PREFIX = "vk_"
_API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)
_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a wrong e-mail costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


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


# --- roles ------------------------------------------------------------------------------------


def require_admin(access: Access) -> None:
    if not access.is_admin:
        raise Forbidden(_("Only the site's owner or an admin can do this."))


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
    require_admin(access)
    values = _site_values(name, allowed_origins, time_zone, default_language)
    async with engine.begin() as conn:
        await store.update_site(conn, access.site.id, **values)
        site = await store.site_by_id(conn, access.site.id)
    assert site is not None
    return site


async def site_by_key(engine: AsyncEngine, key: str) -> Site | None:
    async with engine.connect() as conn:
        return await store.site_by_key(conn, key)


async def existing_site_ids(engine: AsyncEngine, site_ids: set[int]) -> set[int]:
    """Which of these sites still exist (the counter drops buffered hits of deleted ones)."""
    async with engine.connect() as conn:
        return await store.existing_site_ids(conn, site_ids)


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


# --- API keys --------------------------------------------------------------------------------


def _hash_api_key(secret: str) -> str:
    # Keys carry 256 random bits, so one round of SHA-256 is enough (no salt or slow hash needed).
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_api_key(access: Access, engine: AsyncEngine, name: str) -> tuple[ApiKey, str]:
    """A new secret key; the secret is returned here once and only its hash is kept."""
    require_admin(access)
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
    require_admin(access)
    async with engine.connect() as conn:
        return await store.api_keys_of_site(conn, access.site.id)


async def revoke_api_key(access: Access, engine: AsyncEngine, key_id: int) -> None:
    require_admin(access)
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
