"""The access actions on the console's order page: give a flagged order's access by hand,
resend the link, revoke, move to another e-mail; refusals are explained at their form."""

from __future__ import annotations

import pytest

from tests.access.test_access import links_sent
from tests.conftest import SiteTeam
from tests.console.conftest import row_with, text_of
from tests.payments_console.conftest import Admin, paid_order
from widget_server.access import service as access
from widget_server.errors import Conflict
from widget_server.payments import service
from widget_server.runtime import Runtime


async def holder_of(state: Runtime, team: SiteTeam, public_id: str) -> access.OrderAccess | None:
    order = await service.get_order(state.engine, team.site.id, public_id)
    return await access.access_of_order(team.access("admin"), state.engine, order)


async def test_a_flagged_order_gets_its_access_by_hand(
    state: Runtime, team: SiteTeam, admin: Admin
) -> None:
    order = await paid_order(state, team, None)
    url = f"/orders/{order.public_id}"
    page = await admin.get(url)
    assert "Needs manual access" in text_of(page.text)
    assert "the payment reported no e-mail" in text_of(page.text)
    response = await admin.post(url + "/grant", email="Late@Example.com")
    assert response.status_code == 303
    page = await admin.get(url)
    assert "Access given to Late@Example.com; a link is on its way." in text_of(page.text)
    assert "Needs manual access" not in text_of(page.text)
    assert "late@example.com" in text_of(row_with(page.text, "data-grant="))
    assert len(await links_sent(state, "late@example.com")) == 1
    assert await access.flagged_orders(team.access(), state.engine) == []
    again = await admin.post(url + "/grant", email="other@example.com")
    assert again.status_code == 409
    assert "This order already gives access" in text_of(again.text)


@pytest.mark.parametrize("email", ["", "not-an-address", "x" * 320 + "@example.com"])
async def test_a_bad_e_mail_is_explained_at_the_grant_form(
    state: Runtime, team: SiteTeam, admin: Admin, email: str
) -> None:
    order = await paid_order(state, team, None)
    response = await admin.post(f"/orders/{order.public_id}/grant", email=email)
    assert response.status_code == 422
    assert "This is not an email address." in text_of(response.text)
    assert 'id="email-errors"' in response.text
    assert await holder_of(state, team, order.public_id) is None


async def test_access_is_revoked_once(state: Runtime, team: SiteTeam, admin: Admin) -> None:
    order = await paid_order(state, team, "ann@example.com")
    held = await holder_of(state, team, order.public_id)
    assert held is not None
    url = f"/orders/{order.public_id}"
    response = await admin.post(f"{url}/grants/{held.grant.id}/revoke")
    assert response.status_code == 303
    page = await admin.get(url)
    assert "Access revoked." in text_of(page.text)
    assert "Revoked" in text_of(row_with(page.text, "data-grant="))
    assert "Resend access e-mail" not in page.text and "Move access" not in page.text
    again = await admin.post(f"{url}/grants/{held.grant.id}/revoke")
    assert again.status_code == 409
    assert "This access is already revoked." in text_of(again.text)


async def test_a_grant_is_only_reached_through_its_own_order(
    state: Runtime, team: SiteTeam, admin: Admin
) -> None:
    first = await paid_order(state, team, "ann@example.com")
    second = await paid_order(state, team, "bob@example.com", slug="course")
    held = await holder_of(state, team, second.public_id)
    assert held is not None
    wrong = await admin.post(f"/orders/{first.public_id}/grants/{held.grant.id}/revoke")
    assert wrong.status_code == 404
    missing = await admin.post(f"/orders/{first.public_id}/grants/999/move", email="c@example.com")
    assert missing.status_code == 404
    still = await holder_of(state, team, second.public_id)
    assert still is not None and still.grant.status == "active"


async def test_access_moves_to_another_e_mail(state: Runtime, team: SiteTeam, admin: Admin) -> None:
    order = await paid_order(state, team, "typo@exmaple.com")
    held = await holder_of(state, team, order.public_id)
    assert held is not None
    url = f"/orders/{order.public_id}/grants/{held.grant.id}/move"
    bad = await admin.post(url, email="nope")
    assert bad.status_code == 422 and 'id="email-errors"' in bad.text
    assert (await admin.post(url, email="ann@example.com")).status_code == 303
    moved = await holder_of(state, team, order.public_id)
    assert moved is not None and moved.customer.email == "ann@example.com"
    assert len(await links_sent(state, "ann@example.com")) == 1


async def test_the_access_e_mail_is_sent_again(
    state: Runtime, team: SiteTeam, admin: Admin
) -> None:
    order = await paid_order(state, team, "ann@example.com")
    before = await links_sent(state, "ann@example.com")
    assert len(before) == 1
    url = f"/orders/{order.public_id}"
    assert (await admin.post(url + "/resend-access")).status_code == 303
    page = await admin.get(url)
    assert "A new access link is on its way to ann@example.com." in text_of(page.text)
    after = await links_sent(state, "ann@example.com")
    assert len(after) == 2 and after[1] != after[0]
    # The new link works, once.
    assert (await admin.http.get(after[1])).status_code == 303
    assert (await admin.http.get(after[1])).status_code == 410


async def test_no_access_e_mail_without_an_active_grant(
    state: Runtime, team: SiteTeam, admin: Admin
) -> None:
    flagged = await paid_order(state, team, None)
    response = await admin.post(f"/orders/{flagged.public_id}/resend-access")
    assert response.status_code == 409
    assert "This order gives no active access: there is nothing to send." in text_of(response.text)
    revoked = await paid_order(state, team, "ann@example.com", slug="course")
    held = await holder_of(state, team, revoked.public_id)
    assert held is not None
    await access.revoke(team.access(), state.engine, held.grant.id)
    with pytest.raises(Conflict):
        await access.resend_access(team.access(), state, revoked.public_id)
    assert len(await links_sent(state, "ann@example.com")) == 1
