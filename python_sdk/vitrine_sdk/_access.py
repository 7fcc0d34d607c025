"""``client.access``: what buyers of a site were given (grants), as a sync and an async class with
the same methods (as in ``_resources``), and the ``Grant`` model."""

import builtins
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ._models import _datetime, _get, _object
from ._resources import _id_path

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

ACCESS_PATH = "/api/v2/access"


@dataclass(frozen=True)
class Grant:
    """Access to what an order bought, held by the customer of ``customer_email``: ``kind`` (url,
    file or page) and ``value`` come from the offer; ``status`` is active or revoked."""

    id: int
    customer_email: str
    order_id: str
    kind: str
    value: str
    status: str
    granted_at: datetime
    revoked_at: datetime | None


def parse_grant(data: object) -> Grant:
    obj = _object(data, "grant")
    return Grant(
        id=_get(obj, "id", int),
        customer_email=_get(obj, "customer_email", str),
        order_id=_get(obj, "order_id", str),
        kind=_get(obj, "kind", str),
        value=_get(obj, "value", str),
        status=_get(obj, "status", str),
        granted_at=_datetime(obj, "granted_at"),
        revoked_at=None if obj.get("revoked_at") is None else _datetime(obj, "revoked_at"),
    )


def parse_grant_list(data: object) -> list[Grant]:
    return [parse_grant(item) for item in _get(_object(data, "grant list"), "data", list)]


def _revoke_path(grant_id: int) -> str:
    return _id_path(ACCESS_PATH, "grant", grant_id) + "/revoke"


def _list_params(order: str | None, email: str | None) -> dict[str, str | int]:
    if order is None and email is None:
        raise ValueError("pass order=… or email=… (or both)")
    params: dict[str, str | int] = {}
    for name, value in (("order", order), ("email", email)):
        if value is not None:
            if not isinstance(value, str):
                raise TypeError(f"{name} is a str, not {type(value).__name__}")
            params[name] = value
    return params


class Access:
    """Grants: what each paid order gives its buyer. Granting sends the buyer an access link and
    the ``access.granted`` webhook; revoking sends ``access.revoked``."""

    def __init__(self, client: "Client") -> None:
        self._client = client

    def grant(self, *, order: str, email: str, idempotency_key: str | None = None) -> Grant:
        """Give paid order ``order``'s access to ``email`` (as the console's manual grant does).
        ``ConflictError`` if the order is unpaid, already gives access or its offer grants
        nothing; ``NotFoundError`` for an unknown order; ``UnprocessableEntityError`` for a bad
        e-mail."""
        data = self._client._request(
            "POST",
            ACCESS_PATH,
            json={"order": order, "email": email},
            idempotency_key=idempotency_key,
        )
        return parse_grant(data)

    def revoke(self, grant_id: int, *, idempotency_key: str | None = None) -> Grant:
        """Take a grant back; the revoked grant. ``ConflictError`` if it already was."""
        data = self._client._request(
            "POST", _revoke_path(grant_id), idempotency_key=idempotency_key
        )
        return parse_grant(data)

    def list(self, *, order: str | None = None, email: str | None = None) -> builtins.list[Grant]:
        """The grants of an order (by id) and/or of the customer of an e-mail, oldest first."""
        params = _list_params(order, email)
        return parse_grant_list(self._client._request("GET", ACCESS_PATH, params=params))


class AsyncAccess:
    """Grants: what each paid order gives its buyer. Granting sends the buyer an access link and
    the ``access.granted`` webhook; revoking sends ``access.revoked``."""

    def __init__(self, client: "AsyncClient") -> None:
        self._client = client

    async def grant(self, *, order: str, email: str, idempotency_key: str | None = None) -> Grant:
        """Give paid order ``order``'s access to ``email`` (as the console's manual grant does).
        ``ConflictError`` if the order is unpaid, already gives access or its offer grants
        nothing; ``NotFoundError`` for an unknown order; ``UnprocessableEntityError`` for a bad
        e-mail."""
        data = await self._client._request(
            "POST",
            ACCESS_PATH,
            json={"order": order, "email": email},
            idempotency_key=idempotency_key,
        )
        return parse_grant(data)

    async def revoke(self, grant_id: int, *, idempotency_key: str | None = None) -> Grant:
        """Take a grant back; the revoked grant. ``ConflictError`` if it already was."""
        data = await self._client._request(
            "POST", _revoke_path(grant_id), idempotency_key=idempotency_key
        )
        return parse_grant(data)

    async def list(
        self, *, order: str | None = None, email: str | None = None
    ) -> builtins.list[Grant]:
        """The grants of an order (by id) and/or of the customer of an e-mail, oldest first."""
        params = _list_params(order, email)
        return parse_grant_list(await self._client._request("GET", ACCESS_PATH, params=params))
