"""Two server processes (two apps, each with its own engine and bus client) behind no load
balancer at all: a visitor on one and an operator on the other talk both ways, through one
database and one Redis."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chat.conftest import ChatOperator, ChatVisitor, live_team
from tests.conftest import serve_app


@pytest.fixture
def database_url(any_database_url: str) -> str:
    return any_database_url


@pytest.mark.redis
def test_two_processes_exchange_messages_both_ways(
    tmp_path: Path, database_url: str, redis_url: str
) -> None:
    shared = {"database_url": database_url, "redis_url": redis_url}
    with (
        serve_app(tmp_path / "a", **shared) as first,
        serve_app(tmp_path / "b", **shared) as second,
    ):
        team = live_team(first)
        operator = ChatOperator(second, team.site.key, team.operator.email)
        visitor = ChatVisitor(first.url, team.site.key)
        online = ChatVisitor(first.url, team.site.key, token=visitor.token)
        assert online.frames[0]["operators_online"] == 1  # presence crosses processes too

        conversation = visitor.say("Hello from process A")["c"]
        got = operator.wait_for(lambda f: f["t"] == "msg" and f["c"] == conversation)
        assert got["text"] == "Hello from process A"
        assert operator.say(conversation, "Hello from process B")["seq"] == 2
        reply = visitor.wait_for(lambda f: f["t"] == "msg" and f["seq"] == 2)
        assert reply["text"] == "Hello from process B"

        for n in range(10):
            visitor.say(f"v{n}")
            operator.say(conversation, f"o{n}")
        last = 22
        visitor.wait_for(lambda f: f["t"] == "msg" and f["seq"] == last)
        operator.wait_for(lambda f: f["t"] == "msg" and f["seq"] == last)
        for side in (visitor, operator):
            seqs = sorted(f["seq"] for f in side.messages(conversation))
            assert seqs == list(range(1, last + 1))
        visitor.close()
        online.close()
        operator.close()
