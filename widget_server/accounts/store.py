"""SQL for users, sites, memberships, API keys and login failures. Nothing else writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, Row, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from widget_server.accounts.models import ApiKey, Member, Role, Site, User
from widget_server.accounts.tables import api_keys, login_failures, memberships, sites, users


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        email=row.email,
        name=row.name,
        password_hash=row.password_hash,
        avatar_file_id=row.avatar_file_id,
        is_staff=bool(row.is_staff),
        language=row.language,
        session_epoch=row.session_epoch,
        created_at=row.created_at,
    )


def _site(row: Row[Any]) -> Site:
    return Site(
        id=row.id,
        key=row.key,
        name=row.name,
        allowed_origins=list(row.allowed_origins),
        time_zone=row.time_zone,
        default_language=row.default_language,
        created_at=row.created_at,
    )


def _api_key(row: Row[Any]) -> ApiKey:
    return ApiKey(
        id=row.id,
        site_id=row.site_id,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


# --- users -----------------------------------------------------------------------------------


async def insert_user(
    conn: AsyncConnection,
    *,
    email: str,
    name: str,
    password_hash: str | None,
    is_staff: bool,
    language: str | None,
    avatar_file_id: str | None,
    now: datetime,
) -> User:
    result = await conn.execute(
        insert(users).values(
            email=email,
            email_key=email.lower(),
            name=name,
            password_hash=password_hash,
            is_staff=is_staff,
            language=language,
            avatar_file_id=avatar_file_id,
            session_epoch=0,
            created_at=now,
        )
    )
    user = await user_by_id(conn, _new_id(result))
    assert user is not None
    return user


async def user_by_id(conn: AsyncConnection, user_id: int) -> User | None:
    row = (await conn.execute(select(users).where(users.c.id == user_id))).first()
    return _user(row) if row else None


async def user_by_email(conn: AsyncConnection, email: str) -> User | None:
    row = (await conn.execute(select(users).where(users.c.email_key == email.lower()))).first()
    return _user(row) if row else None


async def update_user(conn: AsyncConnection, user_id: int, **values: Any) -> None:
    if "email" in values:
        values["email_key"] = values["email"].lower()
    await conn.execute(update(users).where(users.c.id == user_id).values(**values))


async def bump_session_epoch(conn: AsyncConnection, user_id: int) -> None:
    await conn.execute(
        update(users).where(users.c.id == user_id).values(session_epoch=users.c.session_epoch + 1)
    )


# --- sites -----------------------------------------------------------------------------------


async def insert_site(
    conn: AsyncConnection,
    *,
    key: str,
    name: str,
    allowed_origins: list[str],
    time_zone: str,
    default_language: str,
    now: datetime,
) -> Site:
    result = await conn.execute(
        insert(sites).values(
            key=key,
            name=name,
            allowed_origins=allowed_origins,
            time_zone=time_zone,
            default_language=default_language,
            created_at=now,
        )
    )
    site = await site_by_id(conn, _new_id(result))
    assert site is not None
    return site


async def site_by_id(conn: AsyncConnection, site_id: int) -> Site | None:
    row = (await conn.execute(select(sites).where(sites.c.id == site_id))).first()
    return _site(row) if row else None


async def site_by_key(conn: AsyncConnection, key: str) -> Site | None:
    row = (await conn.execute(select(sites).where(sites.c.key == key))).first()
    return _site(row) if row else None


async def update_site(conn: AsyncConnection, site_id: int, **values: Any) -> None:
    await conn.execute(update(sites).where(sites.c.id == site_id).values(**values))


async def sites_of_user(conn: AsyncConnection, user_id: int) -> list[tuple[Site, Role]]:
    query = (
        select(sites, memberships.c.role)
        .join(memberships, memberships.c.site_id == sites.c.id)
        .where(memberships.c.user_id == user_id, memberships.c.is_active.is_(True))
        .order_by(sites.c.name, sites.c.id)
    )
    return [(_site(row), row.role) for row in await conn.execute(query)]


async def existing_site_ids(conn: AsyncConnection, site_ids: set[int]) -> set[int]:
    query = select(sites.c.id).where(sites.c.id.in_(site_ids))
    return set((await conn.execute(query)).scalars())


async def all_sites(conn: AsyncConnection) -> list[Site]:
    return [_site(r) for r in await conn.execute(select(sites).order_by(sites.c.name, sites.c.id))]


# --- memberships -----------------------------------------------------------------------------


async def insert_membership(
    conn: AsyncConnection, *, site_id: int, user_id: int, role: Role, now: datetime
) -> None:
    await conn.execute(
        insert(memberships).values(
            site_id=site_id, user_id=user_id, role=role, is_active=True, created_at=now
        )
    )


async def member(conn: AsyncConnection, site_id: int, user_id: int) -> Member | None:
    query = (
        select(users, memberships.c.role, memberships.c.is_active.label("member_active"))
        .join(memberships, memberships.c.user_id == users.c.id)
        .where(memberships.c.site_id == site_id, users.c.id == user_id)
    )
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    return Member(user=_user(row), role=row.role, is_active=bool(row.member_active))


async def members(conn: AsyncConnection, site_id: int) -> list[Member]:
    query = (
        select(users, memberships.c.role, memberships.c.is_active.label("member_active"))
        .join(memberships, memberships.c.user_id == users.c.id)
        .where(memberships.c.site_id == site_id)
        .order_by(memberships.c.is_active.desc(), users.c.name, users.c.id)
    )
    return [
        Member(user=_user(r), role=r.role, is_active=bool(r.member_active))
        for r in await conn.execute(query)
    ]


async def update_membership(
    conn: AsyncConnection, site_id: int, user_id: int, **values: Any
) -> None:
    await conn.execute(
        update(memberships)
        .where(memberships.c.site_id == site_id, memberships.c.user_id == user_id)
        .values(**values)
    )


# --- API keys --------------------------------------------------------------------------------


async def insert_api_key(
    conn: AsyncConnection,
    *,
    site_id: int,
    name: str,
    prefix: str,
    key_hash: str,
    created_by: int | None,
    now: datetime,
) -> ApiKey:
    result = await conn.execute(
        insert(api_keys).values(
            site_id=site_id,
            name=name,
            prefix=prefix,
            key_hash=key_hash,
            created_by=created_by,
            created_at=now,
        )
    )
    row = (await conn.execute(select(api_keys).where(api_keys.c.id == _new_id(result)))).one()
    return _api_key(row)


async def api_keys_of_site(conn: AsyncConnection, site_id: int) -> list[ApiKey]:
    query = (
        select(api_keys)
        .where(api_keys.c.site_id == site_id)
        .order_by(api_keys.c.revoked_at.is_not(None), api_keys.c.created_at.desc())
    )
    return [_api_key(r) for r in await conn.execute(query)]


async def live_api_key_by_hash(conn: AsyncConnection, key_hash: str) -> ApiKey | None:
    query = select(api_keys).where(api_keys.c.key_hash == key_hash, api_keys.c.revoked_at.is_(None))
    row = (await conn.execute(query)).first()
    return _api_key(row) if row else None


async def revoke_api_key(conn: AsyncConnection, site_id: int, key_id: int, now: datetime) -> bool:
    result = await conn.execute(
        update(api_keys)
        .where(
            api_keys.c.id == key_id,
            api_keys.c.site_id == site_id,
            api_keys.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return result.rowcount == 1


async def touch_api_key(
    conn: AsyncConnection, key_id: int, now: datetime, stale_before: datetime
) -> None:
    """Record use, at most once per interval: a busy key must not write on every request."""
    await conn.execute(
        update(api_keys)
        .where(
            api_keys.c.id == key_id,
            (api_keys.c.last_used_at.is_(None)) | (api_keys.c.last_used_at < stale_before),
        )
        .values(last_used_at=now)
    )


# --- login failures --------------------------------------------------------------------------


async def record_login_failure(conn: AsyncConnection, email: str, ip: str, now: datetime) -> None:
    await conn.execute(insert(login_failures).values(email_key=email.lower(), ip=ip, failed_at=now))


async def login_failures_since(
    conn: AsyncConnection, *, email: str, ip: str, since: datetime
) -> tuple[int, int]:
    """Failures for this account and for this IP address since ``since``."""
    recent = login_failures.c.failed_at >= since
    by_email = select(func.count()).where(login_failures.c.email_key == email.lower(), recent)
    by_ip = select(func.count()).where(login_failures.c.ip == ip, recent)
    return (await conn.scalar(by_email) or 0, await conn.scalar(by_ip) or 0)


async def oldest_login_failure_since(
    conn: AsyncConnection, *, email: str, ip: str, since: datetime
) -> datetime | None:
    query = select(func.min(login_failures.c.failed_at)).where(
        login_failures.c.failed_at >= since,
        (login_failures.c.email_key == email.lower()) | (login_failures.c.ip == ip),
    )
    value: datetime | None = await conn.scalar(query)
    return value


async def clear_login_failures(conn: AsyncConnection, email: str) -> None:
    await conn.execute(delete(login_failures).where(login_failures.c.email_key == email.lower()))


async def purge_login_failures(conn: AsyncConnection, before: datetime) -> None:
    await conn.execute(delete(login_failures).where(login_failures.c.failed_at < before))
