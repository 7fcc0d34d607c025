"""Migrations build the schema on each backend; start-up refuses a stale schema when told to."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import inspect

from tests.conftest import make_settings
from widget_server.app import MigrationsPending, create_app
from widget_server.db import migrate
from widget_server.db.engine import create_engine
from widget_server.db.schema import metadata
from widget_server.runtime import Runtime


async def test_migrations_create_every_table(state: Runtime) -> None:
    async with state.engine.connect() as conn:
        names = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert set(metadata.tables) <= names
    assert "alembic_version" in names
    assert not await migrate.pending(state.engine)


async def test_upgrade_twice_is_harmless(state: Runtime) -> None:
    await migrate.upgrade(state.engine)
    assert not await migrate.pending(state.engine)


async def test_start_refuses_unmigrated_database_without_auto_migrate(
    database_url: str, tmp_path: Path
) -> None:
    app = create_app(make_settings(database_url, tmp_path, auto_migrate=False))
    with pytest.raises(MigrationsPending, match="vitrine migrate"):
        async with app.router.lifespan_context(app):
            pass


async def test_start_without_auto_migrate_after_vitrine_migrate(
    database_url: str, tmp_path: Path
) -> None:
    engine = create_engine(database_url)
    await migrate.upgrade(engine)
    await engine.dispose()
    app = create_app(make_settings(database_url, tmp_path, auto_migrate=False))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
