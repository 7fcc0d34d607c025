"""The records the accounts store returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Role = Literal["owner", "admin", "operator"]
ROLES: tuple[Role, ...] = ("owner", "admin", "operator")


@dataclass(frozen=True)
class User:
    id: int
    email: str
    name: str
    password_hash: str | None
    avatar_file_id: str | None
    is_staff: bool
    language: str | None
    session_epoch: int
    created_at: datetime


@dataclass(frozen=True)
class Site:
    id: int
    key: str
    name: str
    allowed_origins: list[str]
    time_zone: str
    default_language: str
    created_at: datetime


@dataclass(frozen=True)
class Member:
    """A user as seen from one site: their role there and whether they may still work there."""

    user: User
    role: Role
    is_active: bool

    @property
    def is_admin(self) -> bool:
        return self.role in ("owner", "admin")


@dataclass(frozen=True)
class ApiKey:
    id: int
    site_id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class Access:
    """What one logged-in user may do on one site. Instance staff act as owners everywhere."""

    user: User
    site: Site
    role: Role

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"

    @property
    def is_admin(self) -> bool:
        return self.role in ("owner", "admin")
