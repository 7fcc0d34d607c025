"""``vitrine serve`` as a real process: health, a clean stop on a signal, the schema check;
and what it does before serving."""

from __future__ import annotations

import gc
import signal
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette

from tests.cli.conftest import cli_env, run_cli, running
from tests.conftest import free_port, make_settings
from widget_server.cli import run_server

NOT_MIGRATED = "vitrine: the database schema is not up to date: run `vitrine migrate`"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_answers_healthz_and_stops_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    port = free_port()
    env = cli_env(tmp_path, VITRINE_PORT=str(port))
    with running(tmp_path, "serve", env=env, port=port) as server:
        response = server.wait_until_healthy()
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
        took = server.stop(sig)
        assert server.process.returncode == 0, server.output()
        assert took < 5
        output = server.output()
        assert "Application shutdown complete" in output
        assert "Traceback" not in output


def test_serve_port_option_wins_over_the_variable(tmp_path: Path) -> None:
    port = free_port()
    env = cli_env(tmp_path, VITRINE_PORT="1")
    with running(tmp_path, "serve", "--port", str(port), env=env, port=port) as server:
        assert server.wait_until_healthy().status_code == 200
        server.stop()
        assert server.process.returncode == 0


def test_serve_refuses_a_stale_schema_without_auto_migrate(tmp_path: Path) -> None:
    env = cli_env(tmp_path, VITRINE_AUTO_MIGRATE="0", VITRINE_PORT=str(free_port()))
    refused = run_cli(tmp_path, "serve", env=env, timeout=20)
    assert (refused.returncode, refused.stderr.strip()) == (1, NOT_MIGRATED)
    assert refused.stdout == ""

    assert run_cli(tmp_path, "migrate", env=env).returncode == 0
    port = free_port()
    env["VITRINE_PORT"] = str(port)
    with running(tmp_path, "serve", env=env, port=port) as server:
        assert server.wait_until_healthy().status_code == 200
        server.stop()


def test_serve_puts_what_start_up_made_out_of_the_collectors_reach(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Full garbage collections walk every tracked object with the event loop stopped; frozen
    at start, the modules and the app are not walked again (``cli.freeze_startup_objects``)."""
    frozen: list[int] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: frozen.append(gc.get_freeze_count()))
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'v.db'}", tmp_path)
    try:
        assert run_server(Starlette(), settings) == 0
    finally:
        gc.unfreeze()
    assert frozen and frozen[0] > 10_000
