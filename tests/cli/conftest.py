"""Helpers to run ``python -m widget_server`` as a real process in a temporary directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import SECRET

COMMAND = [sys.executable, "-m", "widget_server"]


def cli_env(tmp_path: Path, **changes: str | None) -> dict[str, str]:
    """The test's environment without any VITRINE_*/STRIPE_* of the developer's, with the data
    directory in ``tmp_path`` and a fixed secret key; ``NAME=None`` removes a variable."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("VITRINE_", "STRIPE_"))
    }
    env["VITRINE_DATA_DIR"] = str(tmp_path / "var")
    env["VITRINE_SECRET_KEY"] = SECRET
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_cli(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args],
        cwd=tmp_path,
        env=env if env is not None else cli_env(tmp_path),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    log: Path
    url: str

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_healthy(self, timeout: float = 20) -> httpx.Response:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the server exited with {self.process.returncode}:\n" + self.output()
                )
            try:
                return httpx.get(self.url + "/healthz", timeout=2)
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise AssertionError("the server did not answer:\n" + self.output()) from None
                time.sleep(0.05)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 5) -> float:
        """Send ``sig`` and wait for the exit; returns how long it took."""
        started = time.monotonic()
        self.process.send_signal(sig)
        self.process.wait(timeout=timeout)
        return time.monotonic() - started


@contextmanager
def running(tmp_path: Path, *args: str, env: dict[str, str], port: int) -> Iterator[Server]:
    """``vitrine <args>`` in the background, killed on the way out whatever happened."""
    log = tmp_path / f"server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*COMMAND, *args],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield Server(process=process, log=log, url=f"http://127.0.0.1:{port}")
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)
