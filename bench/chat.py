"""Chat sockets under load, over loopback: memory per idle visitor socket, then message delivery
latency visitor → operator in one process and across two processes sharing a database and Redis.

    .venv/bin/python bench/chat.py [--sockets 10000] [--rate 500] [--seconds 10]
                                   [--postgres URL] [--redis URL] [--skip-idle] [--skip-two]
                                   [--skip-baseline] [--gc-log] [--read-marks]

1. **Idle sockets.** Starts one ``vitrine serve``-like uvicorn process (SQLite in a temporary
   folder, a site with the chat on), opens ``--sockets`` visitor sockets to it (``hello`` with a
   visitor token each; ``--visitors`` distinct visitors share them as browser tabs do), waits for
   the server to settle, and prints the server's resident memory before and after, and the
   difference per socket. Goal: 10,000 sockets at ≤ 40 KB each.
2. **Delivery, one process.** An operator's console socket and ``--senders`` visitors, each with
   a conversation, on the same process; the visitors send ``--rate`` messages a second in all for
   ``--seconds``, each carrying its send time; the latency is the time until the operator's socket
   receives it (``msg`` frame). Prints p50 / p99. Goal: p99 ≤ 20 ms at 500 msg/s.
3. **Delivery, two processes.** The same with the visitors on one process and the operator on
   another, both on one PostgreSQL database (``--postgres``, default the machine's local server)
   and one Redis (``--redis``). Goal: p99 ≤ 40 ms.

Before each delivery run, the same load goes through a bare relay (``serve_bare``: Starlette
WebSockets on the same uvicorn settings, no database, no bus, no checks) and its line ``bare`` is
printed, then the run's p99 as a multiple of it. The goals are absolute, but this machine is
shared and its speed swings from minute to minute: the bare line says what it could do just then.

Each delivery line is followed by its split at the moment the server stamped the message (its
``created_at``, taken just before the write): from the client's send to that stamp, and from
the stamp to the operator's socket (the write, the bus, the operator's process). The CPU time a
message cost is printed for each server process (the visitors' first), this client, and the
machine's PostgreSQL and Redis servers, which all share the same cores.

With ``--read-marks`` the operator's socket marks each message read as it arrives, as a console
with the conversation open does: each message then also costs a read receipt (a write, and a
frame back to the visitor's socket). The latency is still the message's.

With ``--gc-log`` each server process records its garbage collections, and every delivery
run prints, per process, how many of each generation ran while it measured and the longest
pause: a full collection stops the event loop, and every socket of that process waits for it.

The client is this script (asyncio + the ``websockets`` library), on the same 2-core machine as
the servers; the figures include its own scheduling delays.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import json
import os
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from widget_server.chat.limits import MESSAGES_PER_VISITOR  # noqa: E402

ORIGIN = "https://shop.example.com"
PASSWORD = "bench-password-1"
START_TIMEOUT = 30.0
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
GC_LOG = "VITRINE_BENCH_GC_LOG"  # a folder: each server process writes <pid>.gc there


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- the servers (subprocesses of this script) --------------------------------------------------


def serve(database_url: str, redis_url: str, port: int, data_dir: str) -> None:
    from widget_server.app import create_app
    from widget_server.settings import Settings

    settings = Settings(
        database_url=database_url,
        redis_url=redis_url or None,
        secret_key="bench-" + "x" * 40,
        base_url=f"http://127.0.0.1:{port}",
        port=port,
        data_dir=Path(data_dir),
    )
    run_uvicorn(create_app(settings), port)


def run_uvicorn(app: Any, port: int) -> None:
    """Serve ``app`` as ``vitrine serve`` does (the Vitrine server and the bare relay alike)."""
    import uvicorn

    from widget_server.cli import WEBSOCKET_OPTIONS, freeze_startup_objects

    raise_fd_limit()
    freeze_startup_objects()
    if os.environ.get(GC_LOG):
        log_collections(Path(os.environ[GC_LOG]) / f"{os.getpid()}.gc")
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        backlog=4096,
        timeout_graceful_shutdown=5,
        **WEBSOCKET_OPTIONS,
    )


def log_collections(path: Path) -> None:
    """Append a line ``<generation> <start, monotonic s> <pause ms>`` to ``path`` for each
    collection of the cyclic garbage collector in this process."""
    log = path.open("a", buffering=1)
    began = 0.0

    def probe(phase: str, info: dict[str, int]) -> None:
        nonlocal began
        if phase == "start":
            began = time.monotonic()
        else:
            log.write(f"{info['generation']} {began:.6f} {(time.monotonic() - began) * 1000:.3f}\n")

    gc.callbacks.append(probe)


def collections(folder: Path, pid: int, start: float, end: float) -> str:
    """What ``log_collections`` recorded for ``pid`` between ``start`` and ``end``."""
    try:
        lines = (folder / f"{pid}.gc").read_text().split()
    except FileNotFoundError:
        return "none"
    counts, longest = [0, 0, 0], 0.0
    for generation, began, pause in zip(lines[::3], lines[1::3], lines[2::3], strict=True):
        if start <= float(began) <= end:
            counts[int(generation)] += 1
            longest = max(longest, float(pause))
    return f"gen0/1/2 {counts[0]}/{counts[1]}/{counts[2]}, longest {longest:.1f} ms"


async def seed(database_url: str) -> str:
    """Migrate, then create a site with the chat on and its owner (who answers chats)."""
    from widget_server.accounts import service as accounts
    from widget_server.accounts.models import Access
    from widget_server.db import migrate
    from widget_server.db.engine import create_engine
    from widget_server.widgets import service as widgets

    engine = create_engine(database_url)
    try:
        await migrate.upgrade(engine)
        owner = await accounts.create_user(
            engine,
            email=f"bench-{secrets.token_hex(4)}@example.com",
            name="Bench Operator",
            password=PASSWORD,
        )
        site = await accounts.create_site(
            engine, name="Bench", owner=owner, allowed_origins=[ORIGIN], time_zone="UTC"
        )
        await widgets.enable_chat(Access(user=owner, site=site, role="owner"), engine)
        return f"{site.key} {owner.email}"
    finally:
        await engine.dispose()


def serve_bare(port: int) -> None:
    """The baseline: a bare Starlette app on the same uvicorn settings that only relays, with no
    database, bus or checks: each visitor frame is parsed, acknowledged to its sender and
    forwarded to every operator socket. What delivery costs on this machine right now."""
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    operators: set[WebSocket] = set()

    async def operator(ws: WebSocket) -> None:
        await ws.accept()
        operators.add(ws)
        try:
            while True:
                await ws.receive_text()
        except WebSocketDisconnect:
            operators.discard(ws)

    async def visitor(ws: WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                frame = json.loads(await ws.receive_text())
                ack = {"t": "ack", "cid": frame["cid"], "c": frame.get("c") or 1}
                await ws.send_text(json.dumps(ack))
                out = json.dumps({"t": "msg", "cid": frame["cid"], "text": frame.get("text")})
                for target in list(operators):
                    await target.send_text(out)
        except WebSocketDisconnect:
            pass

    routes = [WebSocketRoute("/bare/operator", operator), WebSocketRoute("/bare/visitor", visitor)]
    run_uvicorn(Starlette(routes=routes), port)


@contextlib.contextmanager
def server(database_url: str, redis_url: str, data_dir: str) -> Iterator[tuple[int, int]]:
    """(port, pid) of a running server; stopped with SIGTERM on the way out."""
    port = free_port()
    with process_on(port, ["serve", database_url, redis_url, str(port), data_dir]) as pid:
        yield port, pid


@contextlib.contextmanager
def bare_server() -> Iterator[tuple[int, int]]:
    port = free_port()
    with process_on(port, ["bare", str(port)]) as pid:
        yield port, pid


@contextlib.contextmanager
def process_on(port: int, args: list[str]) -> Iterator[int]:
    """This script run with ``args`` until it listens on ``port``; SIGTERM on the way out."""
    process = subprocess.Popen([sys.executable, __file__, *args], cwd=ROOT)
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.1)
        yield process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / os.sysconf("SC_CLK_TCK")


def services_cpu_seconds() -> float:
    """CPU time used so far by this machine's PostgreSQL and Redis server processes (0 when
    they run elsewhere): they share the cores with the servers and this client."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
        except OSError:  # gone meanwhile
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        if name.startswith(("postgres", "redis-server")):
            fields = raw.rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


# --- the clients ------------------------------------------------------------------------------


def address(n: int) -> str:
    """A distinct client address per visitor (uvicorn trusts X-Forwarded-For from loopback), so
    the per-IP limits on new conversations apply as they would to real visitors."""
    return f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


async def session(http: httpx.AsyncClient, key: str, visitor: str, n: int) -> str:
    body = json.dumps({"i": visitor, "lang": ["en"]})
    answer = await http.post(
        f"/chat/{key}/session",
        content=body,
        headers={"Origin": ORIGIN, "Content-Type": "text/plain", "X-Forwarded-For": address(n)},
    )
    answer.raise_for_status()
    token: str = answer.json()["token"]
    return token


async def visitor_socket(port: int, key: str, token: str, n: int) -> Any:
    ws = await websockets.connect(
        f"ws://127.0.0.1:{port}/ws/visitor",
        origin=ORIGIN,
        additional_headers={"X-Forwarded-For": address(n)},
        max_size=2**20,
        open_timeout=60,
        ping_interval=None,
    )
    await ws.send(json.dumps({"t": "hello", "site": key, "token": token, "since": {}}))
    welcome = json.loads(await ws.recv())
    if welcome.get("t") != "welcome":
        raise RuntimeError(f"no welcome: {welcome}")
    return ws


async def console_socket(port: int, key: str, email: str) -> Any:
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base) as http:
        page = await http.get("/console/login")
        marker = 'name="csrf_token" value="'
        csrf = page.text.split(marker, 1)[1].split('"', 1)[0]
        answer = await http.post(
            "/console/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf}
        )
        if answer.status_code != 303:
            raise RuntimeError(f"console login failed: {answer.status_code}")
        cookie = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
    ws = await websockets.connect(
        f"ws://127.0.0.1:{port}/ws/console",
        origin=base,
        additional_headers={"Cookie": cookie},
        ping_interval=None,
    )
    await ws.send(json.dumps({"t": "hello", "site": key, "since": {}}))
    while json.loads(await ws.recv()).get("t") != "welcome":
        pass
    return ws


async def idle(port: int, pid: int, key: str, sockets: int, visitors: int) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
        tokens = [await session(http, key, f"bench-idle-{n:08d}", n) for n in range(visitors)]
    await asyncio.sleep(1.0)
    before = rss_kib(pid)
    opened: list[Any] = []
    started = time.perf_counter()
    batch = 200
    for first in range(0, sockets, batch):
        count = min(batch, sockets - first)
        opened += await asyncio.gather(
            *(
                visitor_socket(port, key, tokens[(first + n) % visitors], (first + n) % visitors)
                for n in range(count)
            )
        )
    took = time.perf_counter() - started
    await asyncio.sleep(3.0)  # let the server settle (and its allocator)
    after = rss_kib(pid)
    per = (after - before) * 1024 / sockets
    print(
        f"idle     {sockets} visitor sockets ({visitors} visitors) opened in {took:.1f} s; "
        f"server RSS {before / 1024:.1f} MiB -> {after / 1024:.1f} MiB: "
        f"{per / 1024:.1f} KiB per socket (goal <= 40 KB)"
    )
    await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)


async def delivery(
    label: str,
    visitor_port: int,
    operator_port: int,
    key: str,
    email: str,
    rate: int,
    seconds: float,
    senders: int,
    pids: list[int],
    read_marks: bool,
) -> float | None:
    operator = await console_socket(operator_port, key, email)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{visitor_port}", timeout=60) as http:
        tokens = [await session(http, key, f"bench-{label}-{n:06d}", n) for n in range(senders)]
    visitors = [await visitor_socket(visitor_port, key, token, n) for n, token in enumerate(tokens)]
    conversations: list[int] = []
    for n, ws in enumerate(visitors):  # each visitor opens a conversation first
        await ws.send(
            json.dumps({"t": "send", "c": None, "cid": f"open-{label}-{n:06d}", "text": "hello"})
        )
        while (frame := json.loads(await ws.recv())).get("t") != "ack":
            pass
        conversations.append(frame["c"])
    return await measure(label, operator, visitors, conversations, rate, seconds, pids, read_marks)


async def bare_delivery(
    port: int, pid: int, rate: int, seconds: float, senders: int
) -> float | None:
    """The same load through the bare relay (``serve_bare``)."""
    connect = functools.partial(websockets.connect, ping_interval=None, open_timeout=60)
    operator = await connect(f"ws://127.0.0.1:{port}/bare/operator")
    visitors = [await connect(f"ws://127.0.0.1:{port}/bare/visitor") for _ in range(senders)]
    conversations = list(range(1, senders + 1))
    return await measure("bare", operator, visitors, conversations, rate, seconds, [pid])


async def measure(
    label: str,
    operator: Any,
    visitors: list[Any],
    conversations: list[int],
    rate: int,
    seconds: float,
    pids: list[int],
    read_marks: bool = False,
) -> float | None:
    """Send ``rate`` messages a second from the visitors in turn, each into its conversation;
    print how long each took to reach the operator's socket, and the CPU time the servers
    (``pids``) and this client used per message; returns the p99 in ms."""
    senders = len(visitors)
    sent: dict[str, tuple[float, float]] = {}
    latencies: list[float] = []
    total = int(rate * seconds)
    done = asyncio.Event()

    stamped: list[tuple[float, float]] = []  # (sent → stamped by the server, stamped → received)

    async def receive() -> None:
        async for raw in operator:
            frame = json.loads(raw)
            if frame.get("t") == "msg" and frame.get("cid") in sent:
                received, now = time.perf_counter(), time.time()
                started, wall = sent.pop(frame["cid"])
                latencies.append(received - started)
                if isinstance(frame.get("at"), str):  # the message's created_at
                    at = datetime.fromisoformat(frame["at"].replace("Z", "+00:00")).timestamp()
                    stamped.append((at - wall, now - at))
                if read_marks:  # as a console with the conversation open does
                    read = {"t": "read", "c": frame["c"], "seq": frame["seq"]}
                    await operator.send(json.dumps(read))
                if len(latencies) >= total:
                    done.set()
                    return

    async def drain(ws: Any) -> None:  # acks and echoes the visitor gets back
        with contextlib.suppress(websockets.ConnectionClosed):
            async for _raw in ws:
                pass

    readers = [asyncio.create_task(receive())] + [asyncio.create_task(drain(ws)) for ws in visitors]
    # This client's own full garbage collections stop it for up to 100 ms here, which would
    # show as the servers' latency: none while measuring (it frees its frames by refcount).
    gc.collect()
    gc.disable()
    interval = 1.0 / rate
    server_cpu, client_cpu = [cpu_seconds([pid]) for pid in pids], time.process_time()
    services_cpu = services_cpu_seconds()
    window = time.monotonic()
    started = time.perf_counter()
    try:
        for n in range(total):
            at = started + n * interval
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            cid = f"m-{label}-{n:08d}"
            sent[cid] = (time.perf_counter(), time.time())
            who = n % senders
            frame = {"t": "send", "c": conversations[who], "cid": cid, "text": f"message {n}"}
            await visitors[who].send(json.dumps(frame))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=30)
    finally:
        gc.enable()
    took = time.perf_counter() - started
    window_end = time.monotonic()
    per_process = [
        (cpu_seconds([pid]) - was) / total * 1e6 for pid, was in zip(pids, server_cpu, strict=True)
    ]
    client_cpu = (time.process_time() - client_cpu) / total * 1e6
    services_cpu = (services_cpu_seconds() - services_cpu) / total * 1e6
    for task in readers:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in [operator, *visitors]), return_exceptions=True)
    if not latencies:
        print(f"{label:8} no message arrived")
        return None
    split = ""
    if len(per_process) > 1:  # the visitors' process first, then the operator's
        split = " (" + " + ".join(f"{cpu:.0f}" for cpu in per_process) + ")"
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = percentile(ordered, 0.99)
    print(
        f"{label:8} {len(ordered)}/{total} messages at {rate} msg/s ({senders} visitors, "
        f"{total / took:.0f} msg/s achieved): p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
        f"max {ordered[-1] * 1000:.2f} ms, lost {total - len(ordered)}; CPU a message: "
        f"server {sum(per_process):.0f} us{split}, client {client_cpu:.0f} us, "
        f"PostgreSQL + Redis {services_cpu:.0f} us"
    )
    if stamped:
        ins, outs = sorted(s[0] for s in stamped), sorted(s[1] for s in stamped)
        print(
            f"{label:8} of which: sent -> stamped by the server (before its write) "
            f"p50 {percentile(ins, 0.5):.2f} / p99 {percentile(ins, 0.99):.2f} ms; "
            f"stamped -> at the operator p50 {percentile(outs, 0.5):.2f} / "
            f"p99 {percentile(outs, 0.99):.2f} ms"
        )
    if os.environ.get(GC_LOG):
        folder = Path(os.environ[GC_LOG])
        for pid in pids:
            print(f"{label:8} collections in {pid}: {collections(folder, pid, window, window_end)}")
    return p99


def percentile(ordered: list[float], q: float) -> float:
    """The ``q`` quantile of sorted seconds, in ms."""
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


def seed_sync(database_url: str) -> tuple[str, str]:
    key, email = asyncio.run(seed(database_url)).split()
    return key, email


async def reachable(postgres: str, redis_url: str) -> str:
    import asyncpg
    import redis.asyncio as aioredis

    try:
        conn = await asyncpg.connect(postgres, timeout=3)
        await conn.close()
        client = aioredis.from_url(redis_url)
        await client.ping()
        await client.aclose()
    except Exception as exc:
        return str(exc)
    return ""


async def fresh_postgres(admin_url: str) -> str:
    """A throwaway database on the server of ``admin_url``; returns its URL."""
    import asyncpg

    name = f"vitrine_bench_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin_url.rsplit("/", 1)[0] + "/" + name


async def drop_postgres(admin_url: str, url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--visitors", type=int, default=1000, help="distinct visitors (tabs share)")
    parser.add_argument("--rate", type=int, default=500, help="messages a second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--senders", type=int, default=300, help="visitors sending messages")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--redis", default=DEFAULT_REDIS)
    parser.add_argument("--skip-idle", action="store_true")
    parser.add_argument("--skip-two", action="store_true")
    parser.add_argument(
        "--skip-baseline", action="store_true", help="no bare relay run before each delivery"
    )
    parser.add_argument(
        "--gc-log", action="store_true", help="print the servers' garbage collections"
    )
    parser.add_argument(
        "--read-marks",
        action="store_true",
        help="the operator marks each message read as it arrives (a read receipt each)",
    )
    args = parser.parse_args()
    if not 0 < args.sockets <= 15_000 or not 0 < args.visitors <= args.sockets:
        parser.error("--sockets must be 1..15000 and --visitors 1..sockets")
    if not 0 < args.rate <= 5000 or not 0 < args.seconds <= 120 or not 0 < args.senders <= 1000:
        parser.error("--rate 1..5000, --seconds up to 120, --senders 1..1000")
    if args.rate * min(args.seconds, 60) / args.senders > MESSAGES_PER_VISITOR:
        parser.error(
            f"each visitor may send {MESSAGES_PER_VISITOR} messages a minute: use more --senders"
        )
    raise_fd_limit()
    with contextlib.ExitStack() as stack:
        if args.gc_log:
            os.environ[GC_LOG] = stack.enter_context(tempfile.TemporaryDirectory())
        return run(args)


def run(args: argparse.Namespace) -> int:
    def baseline() -> float | None:
        if args.skip_baseline:
            return None
        with bare_server() as (port, pid):
            return asyncio.run(bare_delivery(port, pid, args.rate, args.seconds, args.senders))

    def against(label: str, p99: float | None, bare: float | None) -> None:
        if p99 is not None and bare:
            print(f"{label:8} p99 is {p99 / bare:.1f}x the bare relay's, measured just before")

    with tempfile.TemporaryDirectory(prefix="vitrine-chat-bench-") as tmp:
        sqlite = f"sqlite+aiosqlite:///{tmp}/bench.db"
        key, email = seed_sync(sqlite)
        with server(sqlite, "", tmp) as (port, pid):
            if not args.skip_idle:
                asyncio.run(idle(port, pid, key, args.sockets, args.visitors))
            bare = baseline()
            p99 = asyncio.run(
                delivery(
                    "one",
                    port,
                    port,
                    key,
                    email,
                    args.rate,
                    args.seconds,
                    args.senders,
                    [pid],
                    args.read_marks,
                )
            )
            against("one", p99, bare)
    if args.skip_two:
        return 0
    problem = asyncio.run(reachable(args.postgres, args.redis))
    if problem:
        print(f"two      skipped: PostgreSQL or Redis not reachable ({problem})")
        return 0
    database = asyncio.run(fresh_postgres(args.postgres))
    try:
        with tempfile.TemporaryDirectory(prefix="vitrine-chat-bench-") as tmp:
            url = database.replace("postgresql://", "postgresql+asyncpg://", 1)
            key, email = seed_sync(url)
            with (
                server(url, args.redis, tmp) as (first, first_pid),
                server(url, args.redis, tmp) as (second, second_pid),
            ):
                bare = baseline()
                p99 = asyncio.run(
                    delivery(
                        "two",
                        first,
                        second,
                        key,
                        email,
                        args.rate,
                        args.seconds,
                        args.senders,
                        [first_pid, second_pid],
                        args.read_marks,
                    )
                )
                against("two", p99, bare)
    finally:
        asyncio.run(drop_postgres(args.postgres, database))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif len(sys.argv) == 3 and sys.argv[1] == "bare":
        serve_bare(int(sys.argv[2]))
    else:
        sys.exit(main())
