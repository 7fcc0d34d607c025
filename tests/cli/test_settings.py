"""Settings.from_env: defaults, the generated secret key, and one clear line per bad value."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from tests.cli.conftest import cli_env, run_cli
from widget_server.settings import Settings, SettingsError


def test_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env({"VITRINE_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'vitrine.db'}"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.env == "development"
    assert settings.auto_migrate and settings.run_jobs
    assert settings.redis_url is None and settings.smtp is None
    assert settings.stripe_secret_key is None and settings.stripe_webhook_secret is None
    assert settings.landing_dir is None and settings.landing_site is None
    assert not settings.secure_cookies


def test_base_url_follows_host_and_port_unless_set(tmp_path: Path) -> None:
    env = {"VITRINE_DATA_DIR": str(tmp_path), "VITRINE_HOST": "0.0.0.0", "VITRINE_PORT": "9000"}
    assert Settings.from_env(env).base_url == "http://0.0.0.0:9000"
    env["VITRINE_BASE_URL"] = "https://chat.example.com/"
    settings = Settings.from_env(env)
    assert settings.base_url == "https://chat.example.com"
    assert settings.secure_cookies


def test_database_url_aliases(tmp_path: Path) -> None:
    env = {"VITRINE_DATA_DIR": str(tmp_path), "VITRINE_DATABASE_URL": "postgres://u@db/vitrine"}
    assert Settings.from_env(env).database_url == "postgresql+asyncpg://u@db/vitrine"


def test_secret_key_is_generated_once_with_a_warning_then_reused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    env = {"VITRINE_DATA_DIR": str(data_dir)}
    with caplog.at_level(logging.WARNING, logger="widget_server.settings"):
        first = Settings.from_env(env)
    key_file = data_dir / "secret_key"
    assert key_file.read_text().strip() == first.secret_key
    assert len(first.secret_key) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [r.getMessage() for r in caplog.records] == [
        f"VITRINE_SECRET_KEY is not set: generated one into {key_file}"
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="widget_server.settings"):
        second = Settings.from_env(env)
    assert second.secret_key == first.secret_key
    assert caplog.records == []


def test_production_needs_a_secret_key(tmp_path: Path) -> None:
    env = {"VITRINE_DATA_DIR": str(tmp_path), "VITRINE_ENV": "production"}
    with pytest.raises(SettingsError, match="VITRINE_SECRET_KEY must be set"):
        Settings.from_env(env)
    assert not (tmp_path / "secret_key").exists()
    key = "k" * 40
    assert Settings.from_env({**env, "VITRINE_SECRET_KEY": key}).secret_key == key


def test_a_bad_value_stops_before_a_key_file_is_written(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="VITRINE_SMTP_URL"):
        Settings.from_env({"VITRINE_DATA_DIR": str(tmp_path), "VITRINE_SMTP_URL": "http://x"})
    assert not (tmp_path / "secret_key").exists()


def test_landing_site(tmp_path: Path) -> None:
    env = {"VITRINE_DATA_DIR": str(tmp_path), "VITRINE_LANDING_SITE": "k3x9mz2qpw7a"}
    assert Settings.from_env(env).landing_site == "k3x9mz2qpw7a"
    with pytest.raises(SettingsError, match="VITRINE_LANDING_SITE"):
        Settings.from_env({**env, "VITRINE_LANDING_SITE": "<script>"})


BAD_SETTINGS = [
    ("VITRINE_PORT", "abc"),
    ("VITRINE_PORT", "70000"),
    ("VITRINE_DATABASE_URL", "mysql://x"),
    ("VITRINE_ENV", "production"),  # without VITRINE_SECRET_KEY
    ("VITRINE_SMTP_URL", "http://x"),
    ("VITRINE_BASE_URL", "not-a-url"),
    ("VITRINE_AUTO_MIGRATE", "maybe"),
    ("VITRINE_LANDING_DIR", "no/such/dir"),
    ("VITRINE_REDIS_URL", "http://cache"),
    ("STRIPE_API_BASE", "stripe.test"),
]


@pytest.mark.parametrize(("name", "value"), BAD_SETTINGS, ids=[f"{n}={v}" for n, v in BAD_SETTINGS])
def test_serve_refuses_a_bad_setting_in_one_line(tmp_path: Path, name: str, value: str) -> None:
    env = cli_env(tmp_path, **{name: value})
    if name == "VITRINE_ENV":
        env.pop("VITRINE_SECRET_KEY")
    result = run_cli(tmp_path, "serve", env=env, timeout=15)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("vitrine: ")
    expected = "VITRINE_SECRET_KEY" if name == "VITRINE_ENV" else name
    assert expected in lines[0]
    assert result.stdout == ""
    assert not (tmp_path / "var").exists(), "nothing is written before the settings are good"


def test_serve_names_a_data_dir_it_cannot_write(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = cli_env(tmp_path, VITRINE_DATA_DIR=str(blocker / "var"), VITRINE_SECRET_KEY=None)
    result = run_cli(tmp_path, "serve", env=env, timeout=15)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("vitrine: VITRINE_DATA_DIR: ")


def test_serve_names_a_database_it_cannot_open(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = cli_env(tmp_path, VITRINE_DATABASE_URL=f"sqlite:///{blocker}/vitrine.db")
    result = run_cli(tmp_path, "serve", env=env, timeout=15)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("vitrine: cannot open the database sqlite+aiosqlite:///")
    assert "(VITRINE_DATABASE_URL)" in result.stderr
