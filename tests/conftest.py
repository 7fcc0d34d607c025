"""Test harness: an app on a temporary database, an HTTP client, users and sites, a live server
(uvicorn on a free port) and the system Chromium through Playwright.

Storage suites opt into both backends by overriding ``database_url`` with ``any_database_url``
(see tests/storage/conftest.py); PostgreSQL runs when ``VITRINE_TEST_POSTGRES_URL`` is set and
Redis suites when ``VITRINE_TEST_REDIS_URL`` is set; otherwise they are skipped, saying why.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher, profiles
from starlette.applications import Starlette

from widget_server.accounts import operators
from widget_server.accounts import service as accounts
from widget_server.accounts.models import Access, Site, User
from widget_server.app import create_app
from widget_server.bus import LocalBus
from widget_server.db.engine import create_engine
from widget_server.runtime import Runtime
from widget_server.settings import Settings

POSTGRES_URL = os.environ.get("VITRINE_TEST_POSTGRES_URL", "").strip()
REDIS_URL = os.environ.get("VITRINE_TEST_REDIS_URL", "").strip()
CHROMIUM = os.environ.get("VITRINE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery"
SECRET = "test-secret-" + "x" * 40
T = TypeVar("T")


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> None:
    """argon2's default cost is 0.2 s a hash here: right for production, too slow for tests."""
    accounts.use_password_hasher(PasswordHasher.from_parameters(profiles.CHEAPEST))


# --- databases -------------------------------------------------------------------------------


def _postgres_admin_dsn() -> str:
    return POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")


async def _create_pg_database() -> str:
    import asyncpg

    name = "vt_" + secrets.token_hex(6)
    conn = await asyncpg.connect(_postgres_admin_dsn())
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def _drop_pg_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_postgres_admin_dsn())
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _pg_url_for(name: str) -> str:
    base = re.sub(r"^postgres(ql)?(\+asyncpg)?://", "postgresql+asyncpg://", POSTGRES_URL)
    return base.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def any_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each backend in turn."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'vitrine.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL suite: VITRINE_TEST_POSTGRES_URL is not set")
    name = asyncio.run(_create_pg_database())
    try:
        yield _pg_url_for(name)
    finally:
        asyncio.run(_drop_pg_database(name))


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'vitrine.db'}"


@pytest.fixture
def redis_url() -> str:
    if not REDIS_URL:
        pytest.skip("Redis suite: VITRINE_TEST_REDIS_URL is not set")
    return REDIS_URL


# --- the app ---------------------------------------------------------------------------------


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "secret_key": SECRET,
        "base_url": "http://testserver",
        "run_jobs": False,
        "data_dir": data_dir,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def state(app: Starlette) -> Runtime:
    value = app.state.runtime
    assert isinstance(value, Runtime)
    return value


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


# --- people and sites ------------------------------------------------------------------------


@dataclass
class SiteTeam:
    """A site with its owner, an admin and an operator (all with password ``PASSWORD``)."""

    site: Site
    owner: User
    admin: User
    operator: User

    def access(self, who: str = "owner") -> Access:
        user = getattr(self, who)
        return Access(user=user, site=self.site, role=who)  # type: ignore[arg-type]


async def create_team(state: Runtime, prefix: str = "") -> SiteTeam:
    engine = state.engine
    owner = await accounts.create_user(
        engine, email=f"{prefix}owner@example.com", name="Olivia Owner", password=PASSWORD
    )
    site = await accounts.create_site(
        engine,
        name=f"{prefix}Shop",
        owner=owner,
        allowed_origins=["https://shop.example.com"],
        time_zone="Europe/Paris",
    )
    as_owner = Access(user=owner, site=site, role="owner")
    admin, _ = await operators.add_operator(
        as_owner,
        engine,
        email=f"{prefix}admin@example.com",
        name="Adam Admin",
        password=PASSWORD,
        role="admin",
        avatar=None,
    )
    operator, _ = await operators.add_operator(
        as_owner,
        engine,
        email=f"{prefix}operator@example.com",
        name="Oscar Operator",
        password=PASSWORD,
        role="operator",
        avatar=None,
    )
    return SiteTeam(site=site, owner=owner, admin=admin.user, operator=operator.user)


@pytest.fixture
async def team(state: Runtime) -> SiteTeam:
    return await create_team(state)


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


async def log_in(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    """Log in through the real form; returns the session's CSRF token."""
    page = await http.get("/console/login")
    token = csrf_from(page.text)
    response = await http.post(
        "/console/login", data={"email": email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 303, response.text
    home = await http.get(response.headers["location"], follow_redirects=True)
    return csrf_from(home.text)


# --- a real server and a real browser --------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    url: str
    settings: Settings
    app: Starlette


@contextmanager
def serve_app(tmp_path: Path, **overrides: Any) -> Iterator[LiveServer]:
    """uvicorn serving a fresh app (settings ``overrides`` applied) on a free port, in a thread."""
    port = free_port()
    database_url = overrides.pop("database_url", f"sqlite+aiosqlite:///{tmp_path / 'live.db'}")
    settings = make_settings(
        database_url,
        tmp_path,
        base_url=f"http://127.0.0.1:{port}",
        port=port,
        **overrides,
    )
    application = create_app(settings)
    config = uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", settings=settings, app=application)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A real server without background jobs; seed it through ``seed``."""
    with serve_app(tmp_path) as server:
        yield server


def seed(server: LiveServer, make: Callable[[Runtime], Awaitable[T]]) -> T:
    """Prepare data for a live server through the real services, on an engine of its own (the
    server's engine belongs to the server's event loop). Runs in a worker thread, so it works
    beside sync Playwright, which keeps an event loop running on the test's thread."""

    async def go() -> T:
        engine = create_engine(server.settings.database_url)
        try:
            return await make(Runtime(settings=server.settings, engine=engine, bus=LocalBus()))
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, go()).result()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """The system Chromium, driven by Playwright (no browser download).

    Module-scoped on purpose: sync Playwright keeps an event loop running in the main thread
    while it is open, and pytest-asyncio cannot run the async tests of later modules beside it.
    """
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        if os.environ.get("CI"):
            pytest.fail(f"browser tests need Chromium at {CHROMIUM}")
        pytest.skip(f"browser suite: no Chromium at {CHROMIUM} (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say once per reason what was skipped (e.g. the PostgreSQL suite), not once per test."""
    reasons: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    if reasons:
        terminalreporter.section("skipped suites")
        for reason, count in reasons.most_common():
            terminalreporter.line(f"{count:4d} skipped: {reason}")
