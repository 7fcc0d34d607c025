"""``vitrine migrate``, ``create-user`` and ``create-site`` as real processes on a temp database."""

from __future__ import annotations

import os
import re
import select
import subprocess
import time
from pathlib import Path

from tests.cli.conftest import COMMAND, cli_env, run_cli
from widget_server.accounts import service as accounts
from widget_server.db.engine import create_engine
from widget_server.widgets.snippet import snippet

BASE_URL = "https://vitrine.example.com"


def test_migrate_then_create_a_user_and_a_site(tmp_path: Path) -> None:
    env = cli_env(tmp_path, VITRINE_BASE_URL=BASE_URL, VITRINE_AUTO_MIGRATE="0")
    first = run_cli(tmp_path, "migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert "migrated to the newest schema" in first.stdout
    again = run_cli(tmp_path, "migrate", env=env)
    assert "already up to date" in again.stdout
    assert (tmp_path / "var" / "vitrine.db").exists()

    user = run_cli(
        tmp_path,
        "create-user",
        "--email",
        "Ada@Example.com",
        "--name",
        "Ada Lovelace",
        "--password",
        "analytical-engine",
        env=env,
    )
    assert user.returncode == 0, user.stderr
    assert user.stdout.strip() == "Created user Ada@Example.com."

    site = run_cli(
        tmp_path,
        "create-site",
        "--name",
        "Ada's shop",
        "--owner-email",
        "ada@example.com",
        "--origin",
        "https://shop.example.com",
        "--origin",
        "https://www.example.com",
        "--time-zone",
        "Europe/Paris",
        "--language",
        "fr",
        env=env,
    )
    assert site.returncode == 0, site.stderr
    match = re.search(r"^Site key: ([a-z0-9]+)$", site.stdout, re.M)
    assert match, site.stdout
    key = match.group(1)
    assert site.stdout.rstrip("\n").splitlines()[-1] == snippet(BASE_URL, key)
    assert f'src="{BASE_URL}/s/{key}.js"' in site.stdout


async def test_the_site_made_by_the_command_is_in_the_database(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    for args in (
        ("create-user", "--email", "o@example.com", "--name", "O", "--password", "12345678"),
        (
            "create-user",
            "--email",
            "s@example.com",
            "--name",
            "S",
            "--password",
            "12345678",
            "--staff",
        ),
        (
            "create-site",
            "--name",
            "Shop",
            "--owner-email",
            "o@example.com",
            "--origin",
            "https://shop.example.com/",
            "--time-zone",
            "America/Toronto",
        ),
    ):
        result = run_cli(tmp_path, *args, env=env)
        assert result.returncode == 0, result.stderr
    key = re.findall(r"^Site key: (\S+)$", result.stdout, re.M)[0]
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'var' / 'vitrine.db'}")
    try:
        site = await accounts.site_by_key(engine, key)
        assert site is not None
        assert (site.name, site.allowed_origins) == ("Shop", ["https://shop.example.com"])
        assert (site.time_zone, site.default_language) == ("America/Toronto", "en")
        owner = await accounts.user_by_email(engine, "o@example.com")
        staff = await accounts.user_by_email(engine, "s@example.com")
        assert owner is not None and staff is not None
        assert not owner.is_staff and staff.is_staff
        assert [(s.key, role) for s, role in await accounts.sites_for(engine, owner)] == [
            (key, "owner")
        ]
        assert await accounts.authenticate(engine, "o@example.com", "12345678", "127.0.0.1")
    finally:
        await engine.dispose()


def test_refusals_are_one_line_and_exit_1(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    args = ("create-user", "--email", "ada@example.com", "--name", "Ada", "--password", "12345678")
    assert run_cli(tmp_path, *args, env=env).returncode == 0
    cases = {
        (
            "create-user",
            "--email",
            "ADA@example.com",
            "--name",
            "Ada",
            "--password",
            "12345678",
        ): "vitrine: --email: An account with this e-mail already exists.",
        (
            "create-user",
            "--email",
            "not-an-email",
            "--name",
            "X",
            "--password",
            "12345678",
        ): "vitrine: --email: Enter a valid e-mail address.",
        (
            "create-user",
            "--email",
            "b@example.com",
            "--name",
            "B",
            "--password",
            "short",
        ): "vitrine: --password: The password must be at least 8 characters.",
        (
            "create-site",
            "--name",
            "Shop",
            "--owner-email",
            "nobody@example.com",
        ): "vitrine: no user has the e-mail nobody@example.com: "
        "create one with `vitrine create-user`",
        (
            "create-site",
            "--name",
            "Shop",
            "--owner-email",
            "ada@example.com",
            "--time-zone",
            "Mars/Olympus",
        ): "vitrine: --time-zone: Unknown time zone 'Mars/Olympus'; use a name like Europe/Paris.",
        (
            "create-site",
            "--name",
            "Shop",
            "--owner-email",
            "ada@example.com",
            "--origin",
            "https://shop.example.com/cart",
        ): "vitrine: --origin: 'https://shop.example.com/cart' is not an origin: write it like "
        "https://www.example.com (or https://*.example.com), without a path.",
    }
    for command, expected in cases.items():
        result = run_cli(tmp_path, *command, env=env)
        assert (result.returncode, result.stderr.strip()) == (1, expected), command
        assert "Traceback" not in result.stderr


def test_create_user_without_password_or_terminal_is_refused(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "create-user", "--email", "a@example.com", "--name", "A")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "vitrine: give --password (there is no terminal to ask for one)"
    )


def _answer_prompts(tmp_path: Path, answers: list[str]) -> tuple[int, str]:
    """Run create-user on a pseudo-terminal, typing each answer once its prompt shows."""
    main_fd, terminal_fd = os.openpty()
    args = ["create-user", "--email", "t@example.com", "--name", "Tess"]
    process = subprocess.Popen(
        [*COMMAND, *args],
        cwd=tmp_path,
        env=cli_env(tmp_path),
        stdin=terminal_fd,
        stdout=terminal_fd,
        stderr=terminal_fd,
        start_new_session=True,
    )
    os.close(terminal_fd)
    seen = b""
    since_answer = b""  # output after the last answer: where the next prompt shows
    try:
        deadline = time.monotonic() + 20
        pending = list(answers)
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main_fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(main_fd, 1024)
                except OSError:  # the terminal closes when the process ends
                    break
                if not chunk:
                    break
                seen += chunk
                since_answer += chunk
                if pending and since_answer.endswith(b": "):
                    os.write(main_fd, pending.pop(0).encode() + b"\n")
                    since_answer = b""
            elif process.poll() is not None:
                break
        return process.wait(timeout=10), seen.decode(errors="replace")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(main_fd)


def test_create_user_asks_for_the_password_twice_on_a_terminal(tmp_path: Path) -> None:
    status, output = _answer_prompts(tmp_path, ["typed-secret", "typed-secret"])
    assert status == 0, output
    assert "Password: " in output and "Password (again): " in output
    assert "typed-secret" not in output  # not echoed
    assert "Created user t@example.com." in output


def test_create_user_refuses_two_different_passwords(tmp_path: Path) -> None:
    status, output = _answer_prompts(tmp_path, ["typed-secret", "another-secret"])
    assert status == 1, output
    assert "vitrine: the two passwords are not the same" in output
