"""Hit ingestion under load, against a bare Starlette endpoint, over loopback.

    .venv/bin/python bench/ingest.py [--hits 5000] [--concurrency 50] [--rounds 9]

Starts two uvicorn servers in subprocesses: the real Vitrine app (SQLite in a temporary
directory, a site allowing the bench's origin, automated browsers counted, the flusher on) and a
bare Starlette app whose one endpoint answers 204. Drives the same hits at each, as the browser
script sends them (``text/plain`` JSON, the site's Origin): visitors of five pageviews, the first
without a visit number and the next four with the number the server answered. Each visitor
comes from its own address (``X-Forwarded-For``, which uvicorn trusts from loopback), so the
per-IP rate limit stays on. Prints hits/s, p50 and p99 latency for both and their ratio, then
stops the Vitrine server with SIGTERM (a graceful shutdown flushes the buffer) and compares the
pageviews in the database with the hits it acknowledged. Goal: ratio >= 0.7, nothing lost.

The two servers and the client share the machine, whose speed drifts by tens of percent from
one second to the next on a shared host: one pass of each (under a second apiece) gave ratios
from 0.33 to 0.73 for the same code. So the load runs in ``--rounds`` rounds (default 9), each
driving ``--hits`` fresh hits at both servers back to back (which one goes first alternates), and
the ratio printed is the median of the rounds' ratios; the hits/s and latency lines pool every
round. ``--rounds 1`` is the single pass of the first version of this bench.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ORIGIN = "https://shop.example.com"
AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0"
PAGES_PER_VISITOR = 5
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- the servers (run as subprocesses of this script) ----------------------------------------


def quiet_exit() -> None:
    """uvicorn re-raises SIGTERM after its graceful shutdown: make that a clean exit 0 (as
    ``vitrine serve`` does)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)


def serve_vitrine(database: str, port: int) -> None:
    import uvicorn

    from widget_server.app import create_app
    from widget_server.settings import Settings

    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{database}",
        secret_key="bench-" + "x" * 40,
        base_url=f"http://127.0.0.1:{port}",
        port=port,
        data_dir=Path(database).parent,
    )
    quiet_exit()
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning",
                access_log=False, timeout_graceful_shutdown=10)  # fmt: skip


def serve_bare(port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def hit(request: Request) -> Response:
        await request.body()
        return Response(status_code=204)

    app = Starlette(routes=[Route("/t/{site_key}", hit, methods=["POST"])])
    quiet_exit()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def seed(database: str) -> str:
    """Migrate, then create a site allowing the bench's origin; returns its key."""
    from widget_server.accounts import service as accounts
    from widget_server.accounts.models import Access
    from widget_server.counter import service as counter
    from widget_server.db import migrate
    from widget_server.db.engine import create_engine

    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        await migrate.upgrade(engine)
        owner = await accounts.create_user(
            engine, email="bench@example.com", name="Bench", password="bench-password"
        )
        site = await accounts.create_site(
            engine, name="Bench", owner=owner, allowed_origins=[ORIGIN], time_zone="UTC"
        )
        access = Access(user=owner, site=site, role="owner")
        await counter.update_settings(access, engine, allow_bots=True)
        return site.key
    finally:
        await engine.dispose()


def start(args: list[str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, __file__, *args, str(port)], cwd=ROOT)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"the server {args[0]} exited with {process.returncode}") from None
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the server {args[0]} did not start in {START_TIMEOUT:.0f} s")


# --- the load ----------------------------------------------------------------------------------


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    acknowledged: int = 0
    failed: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    def line(self, label: str) -> str:
        ordered = sorted(self.latencies)
        p50 = statistics.median(ordered) * 1000
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
        return (
            f"{label:8} {len(ordered) / self.seconds:8.0f} hits/s   p50 {p50:6.2f} ms   "
            f"p99 {p99:6.2f} ms   ok {self.acknowledged}   refused {self.failed or 0}"
        )

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    @classmethod
    def pooled(cls, runs: list[Run]) -> Run:
        total = cls(seconds=sum(run.seconds for run in runs))
        for run in runs:
            total.latencies += run.latencies
            total.acknowledged += run.acknowledged
            for status, times in run.failed.items():
                total.failed[status] = total.failed.get(status, 0) + times
        return total


class Connection:
    """One keep-alive HTTP/1.1 connection over loopback: a client lean enough that the servers,
    not the client, are what the figures measure (httpx slows down with many connections)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}",
                 f"Content-Length: {len(body)}"]  # fmt: skip
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _sep, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length) if length else b""

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def drive(port: int, path: str, visitors: int, concurrency: int, offset: int) -> Run:
    run = Run()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for visitor in range(visitors):
        queue.put_nowait(offset + visitor)

    async def visit(http: Connection, visitor: int) -> None:
        address = f"10.{visitor >> 16 & 255}.{visitor >> 8 & 255}.{visitor & 255}"
        headers = {
            "Origin": ORIGIN,
            "Content-Type": "text/plain;charset=UTF-8",
            "User-Agent": AGENT,
            "X-Forwarded-For": address,
        }
        number = None
        for page in range(PAGES_PER_VISITOR):
            hit: dict[str, object] = {
                "t": "p",
                "u": f"{ORIGIN}/page/{page}?utm_source=bench&utm_medium=cpc",
                "i": f"visitor-{visitor:08d}",
            }
            if number is not None:
                hit["v"] = number
            started = time.perf_counter()
            status, answer = await http.post(path, json.dumps(hit).encode(), headers)
            run.latencies.append(time.perf_counter() - started)
            if status in (200, 204):
                run.acknowledged += 1
                if status == 200:
                    number = json.loads(answer)["v"]
            else:
                run.failed[status] = run.failed.get(status, 0) + 1

    async def worker() -> None:
        http = Connection(port)
        try:
            while not queue.empty():
                await visit(http, queue.get_nowait())
        finally:
            await http.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    run.seconds = time.perf_counter() - started
    return run


def stored_pageviews(database: str) -> int:
    with sqlite3.connect(database) as conn:
        (found,) = conn.execute("SELECT count(*) FROM pageviews").fetchone()
        return int(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hits", type=int, default=5000, help="hits per server (default 5000)")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=9, help="rounds, median ratio (default 9)")
    args = parser.parse_args()
    if not 0 < args.hits <= 100_000 or not 0 < args.concurrency <= 500:
        parser.error("--hits must be 1..100000 and --concurrency 1..500")
    if not 0 < args.rounds <= 50:
        parser.error("--rounds must be 1..50")
    visitors = max(1, args.hits // PAGES_PER_VISITOR)
    warm_up = max(1, visitors // 10)

    mine: list[Run] = []
    theirs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="vitrine-bench-") as tmp:
        database = str(Path(tmp) / "bench.db")
        key = asyncio.run(seed(database))
        ours_port, bare_port = free_port(), free_port()
        ours = start(["serve-vitrine", database], ours_port)
        bare = start(["serve-bare"], bare_port)
        try:
            path = f"/t/{key}"
            warm = [asyncio.run(drive(port, path, warm_up, args.concurrency, 900_000))
                    for port in (ours_port, bare_port)]  # fmt: skip
            for round_ in range(args.rounds):
                offset = round_ * visitors  # new visitors (and addresses) every round
                order = [(bare_port, theirs), (ours_port, mine)]
                for port, runs in order if round_ % 2 == 0 else order[::-1]:
                    runs.append(asyncio.run(drive(port, path, visitors, args.concurrency, offset)))
        finally:
            bare.send_signal(signal.SIGTERM)
            ours.send_signal(signal.SIGTERM)  # graceful: the lifespan flushes the buffer
            ours_exit, bare_exit = ours.wait(timeout=30), bare.wait(timeout=30)
        acknowledged = sum(run.acknowledged for run in mine) + warm[0].acknowledged
        found = stored_pageviews(database)

    ratios = [run.rate / base.rate for run, base in zip(mine, theirs, strict=True)]
    print(f"hits per server: {visitors * PAGES_PER_VISITOR} x {args.rounds} rounds, concurrency "
          f"{args.concurrency}, loopback, {PAGES_PER_VISITOR} pageviews per visitor")  # fmt: skip
    print(Run.pooled(mine).line("vitrine"))
    print(Run.pooled(theirs).line("bare"))
    print(f"rounds   {' '.join(f'{ratio:.2f}' for ratio in ratios)}")
    print(f"ratio    {statistics.median(ratios):.2f} (median over the rounds of vitrine hits/s / "
          f"bare hits/s; goal >= 0.7)")  # fmt: skip
    print(f"shutdown exit codes: vitrine {ours_exit}, bare {bare_exit}")
    print(f"stored   {found} pageviews in the database, {acknowledged} hits acknowledged, "
          f"{acknowledged - found} lost")  # fmt: skip
    return 0 if found == acknowledged and ours_exit == 0 else 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "serve-vitrine":
        serve_vitrine(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 3 and sys.argv[1] == "serve-bare":
        serve_bare(int(sys.argv[2]))
    else:
        sys.exit(main())
