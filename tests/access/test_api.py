"""/api/v2/access: grant a paid order's access, list grants, revoke — the console's path, by key."""

from __future__ import annotations

from collections.abc import Awaitable

import httpx

from tests.access.test_access import GRANTS, checkout, links_sent, pay
from tests.conftest import SiteTeam, create_team
from tests.payments.conftest import make_offer, queued
from widget_server.access import service as access
from widget_server.accounts import service as accounts
from widget_server.payments.checkout import open_checkout
from widget_server.runtime import Runtime


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def test_grant_list_and_revoke_by_api(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient, secret: str, hooked: None
) -> None:
    order = await checkout(state, team, None)  # paid without an e-mail: flagged for a manual grant
    await pay(client, order)
    body = {"order": order.public_id, "email": "Wallet@Example.com"}
    created = await client.post("/api/v2/access", json=body, headers=auth(secret))
    assert created.status_code == 201, created.text
    grant = created.json()
    assert {k: grant[k] for k in ("customer_email", "order_id", "kind", "value", "status")} == {
        "customer_email": "wallet@example.com",
        "order_id": order.public_id,
        "kind": GRANTS["kind"],
        "value": GRANTS["value"],
        "status": "active",
    }
    assert isinstance(grant["id"], int) and grant["revoked_at"] is None and grant["granted_at"]
    assert await access.flagged_orders(team.access(), state.engine) == []
    assert len(await links_sent(state, "wallet@example.com")) == 1
    assert await queued(state, "access.granted") == 1

    again = await client.post("/api/v2/access", json=body, headers=auth(secret))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_granted"

    by_order = await client.get(
        "/api/v2/access", params={"order": order.public_id}, headers=auth(secret)
    )
    by_email = await client.get(
        "/api/v2/access", params={"email": "WALLET@example.com"}, headers=auth(secret)
    )
    assert by_order.json()["data"] == by_email.json()["data"] == [grant]
    nobody = await client.get(
        "/api/v2/access", params={"email": "nobody@example.com"}, headers=auth(secret)
    )
    assert nobody.json() == {"data": []}

    revoked = await client.post(f"/api/v2/access/{grant['id']}/revoke", headers=auth(secret))
    assert revoked.status_code == 200, revoked.text
    assert (revoked.json()["id"], revoked.json()["status"]) == (grant["id"], "revoked")
    assert revoked.json()["revoked_at"] is not None
    assert await queued(state, "access.revoked") == 1
    twice = await client.post(f"/api/v2/access/{grant['id']}/revoke", headers=auth(secret))
    assert twice.status_code == 409
    listed = await client.get(
        "/api/v2/access", params={"order": order.public_id}, headers=auth(secret)
    )
    assert [g["status"] for g in listed.json()["data"]] == ["revoked"]


async def test_the_api_refuses_bad_grants_with_clear_errors(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient, secret: str
) -> None:
    def post(body: object) -> Awaitable[httpx.Response]:
        return client.post("/api/v2/access", json=body, headers=auth(secret))

    empty = await post({})
    assert empty.status_code == 422
    assert {d["field"] for d in empty.json()["error"]["details"]} == {"order", "email"}
    wrong_types = await post({"order": 12, "email": ["a@b.c"]})
    assert {d["field"] for d in wrong_types.json()["error"]["details"]} == {"order", "email"}
    not_json = await client.post("/api/v2/access", content=b"[1]", headers=auth(secret))
    assert not_json.status_code == 400
    unknown = await post({"order": "ord_nope", "email": "a@example.com"})
    assert unknown.status_code == 404

    unpaid = await checkout(state, team, "buyer@example.com")
    refused = await post({"order": unpaid.public_id, "email": "a@example.com"})
    assert refused.status_code == 409
    assert "paid" in refused.json()["error"]["message"]

    free = await make_offer(state, team, slug="nothing")  # an offer that grants nothing
    bare, _url = await open_checkout(state, free)
    await pay(client, bare)
    nothing = await post({"order": bare.public_id, "email": "a@example.com"})
    assert nothing.status_code == 409 and "grants nothing" in nothing.json()["error"]["message"]

    assert (await client.get("/api/v2/access", headers=auth(secret))).status_code == 422
    missing = await client.get("/api/v2/access?order=ord_nope", headers=auth(secret))
    assert missing.status_code == 404
    bad_email = await client.get("/api/v2/access?email=nope", headers=auth(secret))
    assert bad_email.status_code == 422
    for grant_id in ("999", "abc", "99999999999999999999999"):
        gone = await client.post(f"/api/v2/access/{grant_id}/revoke", headers=auth(secret))
        assert gone.status_code == 404, grant_id
    assert (await client.get("/api/v2/access?email=a@b.c")).status_code == 401


async def test_grants_of_another_site_are_invisible(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient, secret: str
) -> None:
    order = await checkout(state, team, "buyer@example.com")
    await pay(client, order)
    [grant] = await access.list_grants(state.engine, team.site.id, order_id=order.public_id)
    other = await create_team(state, "other-")
    _key, foreign = await accounts.create_api_key(other.access(), state.engine, "other")
    revoke = await client.post(f"/api/v2/access/{grant.id}/revoke", headers=auth(foreign))
    assert revoke.status_code == 404
    listed = await client.get(
        "/api/v2/access", params={"order": order.public_id}, headers=auth(foreign)
    )
    assert listed.status_code == 404
    by_email = await client.get(
        "/api/v2/access", params={"email": "buyer@example.com"}, headers=auth(foreign)
    )
    assert by_email.json() == {"data": []}
    grant_there = await client.post(
        "/api/v2/access",
        json={"order": order.public_id, "email": "x@example.com"},
        headers=auth(foreign),
    )
    assert grant_there.status_code == 404
