"""The demo served like ``vitrine demo``: the example landing page at ``/`` with the demo site's
counter code, seeded by ``widget_server.demo.seed`` before the server starts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import LiveServer, make_settings, seed, serve_app
from widget_server import demo
from widget_server.accounts import service as accounts
from widget_server.accounts.models import Access
from widget_server.counter import service as counter
from widget_server.db import migrate
from widget_server.db.engine import create_engine
from widget_server.runtime import Runtime


def _site_key_before_serving(database_url: str, tmp_path: Path) -> str:
    """Migrate and seed the demo (as ``vitrine demo`` does) before the server starts: the
    landing page needs the site's key in the server's settings. Runs in a worker thread, beside
    sync Playwright's event loop."""

    async def go() -> str:
        engine = create_engine(database_url)
        try:
            await migrate.upgrade(engine)
            site = await demo.seed(engine, make_settings(database_url, tmp_path))
            return site.key
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, go()).result()


@contextmanager
def serve_landing(tmp_path: Path, **overrides: Any) -> Iterator[tuple[LiveServer, str]]:
    """The demo's server and its site key; the site counts Playwright's (automated) Chromium.
    ``overrides`` are settings (e.g. ``run_jobs=True`` and an SMTP server for the e-mails)."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'landing.db'}"
    key = _site_key_before_serving(database_url, tmp_path)
    with serve_app(
        tmp_path,
        database_url=database_url,
        landing_dir=demo.EXAMPLE_LANDING,
        landing_site=key,
        **overrides,
    ) as server:

        async def allow(state: Runtime) -> None:
            # Seeding again (idempotent) adds this port's origins, as the demo does on a new port.
            site = await demo.seed(state.engine, state.settings)
            assert site.key == key and server.url in site.allowed_origins
            owner = demo.LOGINS[0]
            user = await accounts.user_by_email(state.engine, owner.email)
            assert user is not None
            access = Access(user=user, site=site, role="owner")
            await counter.update_settings(access, state.engine, allow_bots=True)

        seed(server, allow)
        yield server, key
