"""Accounts rules on each backend: e-mails, passwords, log-in limits, roles, API keys, sites."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import PASSWORD, SiteTeam, create_team
from widget_server.accounts import operators, store
from widget_server.accounts import service as accounts
from widget_server.accounts.models import Access
from widget_server.db.metadata import utcnow
from widget_server.errors import (
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    TooManyRequests,
    Unauthorized,
)
from widget_server.runtime import Runtime


async def test_email_is_unique_whatever_its_case(state: Runtime) -> None:
    await accounts.create_user(state.engine, email="Ann@Example.com", name="Ann", password=PASSWORD)
    with pytest.raises(Conflict) as caught:
        await accounts.create_user(
            state.engine, email="ann@EXAMPLE.com", name="Ann 2", password=PASSWORD
        )
    assert caught.value.details[0]["field"] == "email"


async def test_password_is_kept_as_an_argon2_hash(state: Runtime) -> None:
    user = await accounts.create_user(
        state.engine, email="b@example.com", name="B", password=PASSWORD
    )
    assert user.password_hash is not None
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    found = await accounts.authenticate(state.engine, "B@example.com", PASSWORD, "198.51.100.1")
    assert found.id == user.id


async def test_wrong_password_and_unknown_email_fail_alike(state: Runtime, team: SiteTeam) -> None:
    with pytest.raises(Unauthorized) as wrong:
        await accounts.authenticate(state.engine, team.owner.email, "nope-nope", "198.51.100.1")
    with pytest.raises(Unauthorized) as unknown:
        await accounts.authenticate(state.engine, "who@example.com", "nope-nope", "198.51.100.1")
    assert wrong.value.message == unknown.value.message


async def test_eleventh_failure_of_an_account_is_refused_even_with_the_right_password(
    state: Runtime, team: SiteTeam
) -> None:
    for attempt in range(10):
        with pytest.raises(Unauthorized):
            await accounts.authenticate(
                state.engine, team.owner.email, "wrong-password", f"198.51.100.{attempt}"
            )
    with pytest.raises(TooManyRequests) as refused:
        await accounts.authenticate(state.engine, team.owner.email, PASSWORD, "198.51.100.99")
    assert "Try again in 15 minutes" in refused.value.message
    assert refused.value.headers["Retry-After"] == "900"
    # Other accounts are not locked out by it.
    assert await accounts.authenticate(state.engine, team.admin.email, PASSWORD, "198.51.100.99")


async def test_failures_from_one_address_are_limited_across_accounts(
    state: Runtime, team: SiteTeam
) -> None:
    for attempt in range(accounts.LOGIN_FAILURES_PER_IP):
        with pytest.raises(Unauthorized):
            await accounts.authenticate(
                state.engine, f"guess{attempt}@example.com", "x" * 8, "192.0.2.66"
            )
    with pytest.raises(TooManyRequests):
        await accounts.authenticate(state.engine, team.owner.email, PASSWORD, "192.0.2.66")
    assert await accounts.authenticate(state.engine, team.owner.email, PASSWORD, "192.0.2.67")


async def test_old_failures_stop_counting_and_are_purged(state: Runtime, team: SiteTeam) -> None:
    long_ago = utcnow() - accounts.LOGIN_WINDOW - timedelta(minutes=1)
    async with state.engine.begin() as conn:
        for _ in range(20):
            await store.record_login_failure(conn, team.owner.email, "192.0.2.1", long_ago)
    assert await accounts.authenticate(state.engine, team.owner.email, PASSWORD, "192.0.2.1")
    await accounts.purge_old_login_failures(state.engine)
    async with state.engine.connect() as conn:
        counts = await store.login_failures_since(
            conn, email=team.owner.email, ip="192.0.2.1", since=long_ago - timedelta(days=1)
        )
    assert counts == (0, 0)


async def test_success_clears_the_account_counter(state: Runtime, team: SiteTeam) -> None:
    for _ in range(9):
        with pytest.raises(Unauthorized):
            await accounts.authenticate(state.engine, team.owner.email, "wrong-pass", "192.0.2.9")
    await accounts.authenticate(state.engine, team.owner.email, PASSWORD, "192.0.2.10")
    for _ in range(9):
        with pytest.raises(Unauthorized):
            await accounts.authenticate(state.engine, team.owner.email, "wrong-pass", "192.0.2.11")
    assert await accounts.authenticate(state.engine, team.owner.email, PASSWORD, "192.0.2.12")


async def test_only_the_owner_creates_admins(state: Runtime, team: SiteTeam) -> None:
    with pytest.raises(Forbidden, match="owner"):
        await operators.add_operator(
            team.access("admin"),
            state.engine,
            email="new-admin@example.com",
            name="N",
            password=PASSWORD,
            role="admin",
            avatar=None,
        )
    added, created = await operators.add_operator(
        team.access("owner"),
        state.engine,
        email="new-admin@example.com",
        name="N",
        password=PASSWORD,
        role="admin",
        avatar=None,
    )
    assert created and added.role == "admin"


async def test_admin_adds_operators_and_operators_add_nobody(
    state: Runtime, team: SiteTeam
) -> None:
    added, _ = await operators.add_operator(
        team.access("admin"),
        state.engine,
        email="op2@example.com",
        name="Op Two",
        password=PASSWORD,
        role="operator",
        avatar=None,
    )
    assert added.role == "operator" and added.is_active
    with pytest.raises(Forbidden):
        await operators.add_operator(
            team.access("operator"),
            state.engine,
            email="op3@example.com",
            name="Op 3",
            password=PASSWORD,
            role="operator",
            avatar=None,
        )


async def test_admin_cannot_promote_or_change_admins(state: Runtime, team: SiteTeam) -> None:
    with pytest.raises(Forbidden):
        await operators.edit_operator(
            team.access("admin"),
            state.engine,
            team.operator.id,
            name="Oscar",
            role="admin",
            avatar=None,
            password=None,
        )
    with pytest.raises(Forbidden):
        await operators.set_operator_active(
            team.access("admin"), state.engine, team.admin.id, False
        )
    promoted = await operators.edit_operator(
        team.access("owner"),
        state.engine,
        team.operator.id,
        name="Oscar",
        role="admin",
        avatar=None,
        password=None,
    )
    assert promoted.role == "admin"


async def test_owner_cannot_be_deactivated(state: Runtime, team: SiteTeam) -> None:
    with pytest.raises(Forbidden):
        await operators.set_operator_active(
            team.access("owner"), state.engine, team.owner.id, False
        )


async def test_deactivated_operator_loses_the_site(state: Runtime, team: SiteTeam) -> None:
    assert (await accounts.access_to(state.engine, team.operator, team.site.key)).role == "operator"
    await operators.set_operator_active(team.access("admin"), state.engine, team.operator.id, False)
    with pytest.raises(NotFound):
        await accounts.access_to(state.engine, team.operator, team.site.key)
    assert await accounts.sites_for(state.engine, team.operator) == []


async def test_existing_account_is_added_without_touching_its_password(
    state: Runtime, team: SiteTeam
) -> None:
    other = await create_team(state, prefix="b-")
    member, created = await operators.add_operator(
        other.access("owner"),
        state.engine,
        email=team.operator.email.upper(),
        name="Someone Else",
        password="another-password",
        role="operator",
        avatar=None,
    )
    assert not created and member.user.id == team.operator.id
    assert member.user.name == "Oscar Operator"
    assert await accounts.authenticate(state.engine, team.operator.email, PASSWORD, "192.0.2.3")
    with pytest.raises(Conflict):
        await operators.add_operator(
            other.access("owner"),
            state.engine,
            email=team.operator.email,
            name="x",
            password=PASSWORD,
            role="operator",
            avatar=None,
        )


async def test_new_operator_errors_are_reported_together(state: Runtime, team: SiteTeam) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await operators.add_operator(
            team.access(),
            state.engine,
            email="fresh@example.com",
            name="  ",
            password="short",
            role="operator",
            avatar=None,
        )
    assert {d["field"] for d in caught.value.details} == {"name", "password"}


async def test_password_change_ends_other_sessions(state: Runtime, team: SiteTeam) -> None:
    before = team.operator.session_epoch
    await accounts.set_password(state.engine, team.operator.id, "a-brand-new-password")
    after = await accounts.get_user(state.engine, team.operator.id)
    assert after is not None and after.session_epoch == before + 1


async def test_api_key_secret_is_returned_once_and_kept_hashed(
    state: Runtime, team: SiteTeam
) -> None:
    key, secret = await accounts.create_api_key(team.access(), state.engine, "Backend")
    assert secret.startswith("vk_") and len(secret) > 40
    assert key.prefix == secret[:10]
    async with state.engine.connect() as conn:
        assert await store.live_api_key_by_hash(conn, secret) is None  # not stored in clear
    found, site = await accounts.authenticate_api_key(state.engine, secret)
    assert found.id == key.id and site.id == team.site.id
    await accounts.revoke_api_key(team.access(), state.engine, key.id)
    with pytest.raises(Unauthorized):
        await accounts.authenticate_api_key(state.engine, secret)
    with pytest.raises(NotFound):
        await accounts.revoke_api_key(team.access(), state.engine, key.id)


async def test_api_keys_are_for_admins_of_their_own_site(state: Runtime, team: SiteTeam) -> None:
    other = await create_team(state, prefix="b-")
    with pytest.raises(Forbidden):
        await accounts.create_api_key(team.access("operator"), state.engine, "nope")
    key, _ = await accounts.create_api_key(team.access(), state.engine, "mine")
    with pytest.raises(NotFound):
        await accounts.revoke_api_key(other.access(), state.engine, key.id)


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("time_zone", {"time_zone": "Mars/Olympus"}),
        ("allowed_origins", {"allowed_origins": ["https://ok.example", "ftp://x/y"]}),
        ("allowed_origins", {"allowed_origins": ["https://example.com/path"]}),
        ("default_language", {"default_language": "de"}),
        ("name", {"name": "   "}),
    ],
)
async def test_bad_site_settings_are_refused_and_nothing_changes(
    state: Runtime, team: SiteTeam, field: str, values: dict[str, object]
) -> None:
    fields: dict[str, object] = {
        "name": "Renamed",
        "allowed_origins": ["https://shop.example.com"],
        "time_zone": "Europe/Paris",
        "default_language": "fr",
    }
    fields.update(values)
    with pytest.raises(InvalidRequest) as caught:
        await accounts.update_site(team.access(), state.engine, **fields)  # type: ignore[arg-type]
    assert caught.value.details[0]["field"] == field
    site = await accounts.site_by_key(state.engine, team.site.key)
    assert site == team.site


async def test_site_settings_are_saved_cleaned(state: Runtime, team: SiteTeam) -> None:
    site = await accounts.update_site(
        team.access("admin"),
        state.engine,
        name="  New   name ",
        allowed_origins=[
            "HTTPS://Shop.Example.com/",
            "",
            "https://shop.example.com",
            "http://localhost:8000",
        ],
        time_zone="America/Toronto",
        default_language="ru",
    )
    assert site.name == "New name"
    assert site.allowed_origins == ["https://shop.example.com", "http://localhost:8000"]
    assert (site.time_zone, site.default_language) == ("America/Toronto", "ru")
    with pytest.raises(Forbidden):
        await accounts.update_site(
            team.access("operator"),
            state.engine,
            name="x",
            allowed_origins=[],
            time_zone="UTC",
            default_language="en",
        )


async def test_staff_see_every_site_as_owners(state: Runtime, team: SiteTeam) -> None:
    staff = await accounts.create_user(
        state.engine, email="staff@vitrine.test", name="Staff", password=PASSWORD, is_staff=True
    )
    assert [(s.key, role) for s, role in await accounts.sites_for(state.engine, staff)] == [
        (team.site.key, "owner")
    ]
    access = await accounts.access_to(state.engine, staff, team.site.key)
    assert access == Access(user=staff, site=team.site, role="owner")
    with pytest.raises(NotFound):
        await accounts.access_to(state.engine, team.owner, "no-such-site")


async def test_times_come_back_aware_in_utc(state: Runtime, team: SiteTeam) -> None:
    site = await accounts.site_by_key(state.engine, team.site.key)
    assert site is not None and site.created_at.tzinfo is not None
    assert abs((utcnow() - site.created_at).total_seconds()) < 60


async def test_a_bad_email_is_reported_with_the_other_errors(
    state: Runtime, team: SiteTeam
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await operators.add_operator(
            team.access(),
            state.engine,
            email="not-an-email",
            name="",
            password="short",
            role="operator",
            avatar=None,
        )
    assert {d["field"] for d in caught.value.details} == {"email", "name", "password"}


async def test_an_existing_account_is_added_without_a_password(
    state: Runtime, team: SiteTeam
) -> None:
    other = await create_team(state, prefix="b-")
    member, created = await operators.add_operator(
        other.access(),
        state.engine,
        email=team.admin.email,
        name="",
        password="",
        role="operator",
        avatar=None,
    )
    assert not created and member.user.id == team.admin.id


async def test_only_staff_and_owners_create_sites_from_the_console(
    state: Runtime, team: SiteTeam
) -> None:
    with pytest.raises(Forbidden):
        await accounts.create_site_as(
            state.engine, team.operator, name="Mine", time_zone="UTC", default_language="en"
        )
    site = await accounts.create_site_as(
        state.engine, team.owner, name="Second shop", time_zone="UTC", default_language="fr"
    )
    assert (await accounts.access_to(state.engine, team.owner, site.key)).is_owner
