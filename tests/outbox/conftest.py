"""The outbox suite runs on SQLite and, when configured, on PostgreSQL, against real receivers:
a loopback HTTP server for webhooks and an aiosmtpd server for mail."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import free_port


@pytest.fixture
def database_url(any_database_url: str) -> str:
    return any_database_url


@dataclass
class Request:
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class Receiver:
    """A webhook receiver on a loopback port: records every POST, answers with ``status``."""

    url: str = ""
    status: int = 200
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Event = field(default_factory=threading.Event)

    def record(self, request: Request) -> int:
        with self.lock:
            self.requests.append(request)
            self.arrived.set()
            return self.status


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {name.lower(): value for name, value in self.headers.items()}
            status = found.record(Request(headers=headers, body=body))
            answer = b"thanks" if status < 300 else b"receiver is broken"
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 64  # several delivery workers connect at once
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    found.url = f"http://127.0.0.1:{server.server_address[1]}/vitrine/webhooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class Inbox:
    """An aiosmtpd handler that keeps every envelope; refuses recipients listed in ``refuse``."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    host: str
    port: int
    inbox: Inbox


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpServer(host="127.0.0.1", port=controller.port, inbox=inbox)
    finally:
        controller.stop()
