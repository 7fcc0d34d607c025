"""Visitor and operator talking through the real sockets of a live server."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Origin

from tests.chat.conftest import (
    ORIGIN,
    ChatOperator,
    ChatVisitor,
    live_team,
    new_cid,
    start_session,
    ws_url,
)
from tests.conftest import LiveServer, serve_app


@pytest.fixture
def server(tmp_path: Path) -> LiveServer:
    with serve_app(tmp_path) as live:
        yield live  # type: ignore[misc]


def test_visitor_and_operator_talk_live(server: LiveServer) -> None:
    team = live_team(server)
    operator = ChatOperator(server, team.site.key, team.operator.email)
    assert operator.welcome["me"] == {
        "id": team.operator.id,
        "name": "Oscar Operator",
        "admin": False,
    }
    visitor = ChatVisitor(server.url, team.site.key)
    ack = visitor.say("Hello, do you ship to Lyon?", contact={"name": "Ann"})
    assert ack["seq"] == 1
    conversation = ack["c"]
    live = operator.wait_for(lambda f: f["t"] == "msg" and f["c"] == conversation)
    assert live["text"] == "Hello, do you ship to Lyon?"
    assert live["from"] == "visitor" and live["note"] is False
    assert live["author"]["name"] == "Ann"

    reply = operator.say(conversation, "Yes, in two days.")
    assert reply["t"] == "ack" and reply["seq"] == 2
    got = visitor.wait_for(lambda f: f["t"] == "msg" and f["seq"] == 2)
    assert got["from"] == "operator" and got["author"]["name"] == "Oscar Operator"
    assert "note" not in got
    # Replying took the chat: the visitor learns who answers.
    summary = visitor.wait_for(
        lambda f: f["t"] == "conv" and f["conversation"]["operator"] is not None
    )
    assert summary["conversation"]["operator"]["name"] == "Oscar Operator"

    note = operator.say(conversation, "Regular customer, be nice", note=True)
    assert note["t"] == "ack" and note["seq"] == 3
    operator.wait_for(lambda f: f["t"] == "msg" and f["seq"] == 3 and f["note"] is True)
    visitor.say("Great, thanks")
    visitor.drain()
    texts = [f["text"] for f in visitor.messages(conversation)]
    assert "Regular customer, be nice" not in texts
    assert [f["seq"] for f in visitor.messages(conversation)] == [1, 2, 4]

    # Typing and read receipts cross over.
    visitor.send({"t": "typing", "c": conversation, "on": True})
    operator.wait_for(lambda f: f["t"] == "typing" and f["c"] == conversation and f["on"])
    operator.request({"t": "read", "c": conversation, "seq": 4})
    visitor.wait_for(lambda f: f["t"] == "read" and f["seq"] == 4)
    visitor.send({"t": "read", "c": conversation, "seq": 2})
    operator.wait_for(lambda f: f["t"] == "read" and f["c"] == conversation and f["seq"] == 2)
    visitor.send({"t": "ping"})
    visitor.wait_for(lambda f: f["t"] == "pong")
    visitor.close()
    operator.close()


def test_resending_a_client_id_stores_nothing_new(server: LiveServer) -> None:
    team = live_team(server)
    visitor = ChatVisitor(server.url, team.site.key)
    cid = new_cid()
    first = visitor.say("Once", cid=cid)
    visitor.conversation = None  # the first message resent, as after a reconnect
    again = visitor.say("Once", cid=cid)
    assert (again["c"], again["seq"], again["id"]) == (first["c"], first["seq"], first["id"])
    second = visitor.say("Twice")
    assert second["seq"] == 2


def test_reconnecting_with_since_gets_every_message_once_in_order(server: LiveServer) -> None:
    team = live_team(server)
    operator = ChatOperator(server, team.site.key, team.admin.email)
    visitor = ChatVisitor(server.url, team.site.key)
    conversation = visitor.say("first")["c"]
    operator.wait_for(lambda f: f["t"] == "msg" and f["c"] == conversation)
    visitor.close()

    # While the visitor is away, the operator writes; then both write while it reconnects.
    for n in range(5):
        assert operator.say(conversation, f"away {n}")["t"] == "ack"
    stop = threading.Event()

    def operator_writes() -> None:
        n = 0
        while not stop.is_set() and n < 30:
            operator.say(conversation, f"during {n}")
            n += 1

    writer = threading.Thread(target=operator_writes)
    writer.start()
    try:
        visitor.connect({str(conversation): 1})
        visitor.conversation = conversation
        for n in range(5):
            assert visitor.say(f"back {n}")["t"] == "ack"
    finally:
        stop.set()
        writer.join(timeout=30)
    last = operator.say(conversation, "the end")["seq"]
    visitor.wait_for(lambda f: f["t"] == "msg" and f["seq"] == last)
    seqs = [f["seq"] for f in visitor.messages(conversation)]
    assert len(seqs) == len(set(seqs)), "a message arrived twice"
    assert sorted(seqs) == list(range(2, last + 1)), "a message is missing"
    assert seqs == sorted(seqs)


def test_each_message_names_the_one_before_it_on_its_side(server: LiveServer) -> None:
    """``prev``: operators see every seq, so it is seq - 1; the visitor's chain skips notes.
    A client that got seq 11 before seq 10 (two processes) knows from ``prev`` that it misses
    one, and asks ``since`` the end of its unbroken chain."""
    team = live_team(server)
    operator = ChatOperator(server, team.site.key, team.admin.email)
    visitor = ChatVisitor(server.url, team.site.key)
    cid = new_cid()
    first = visitor.say("Hello", cid=cid)  # seq 1
    conversation = first["c"]
    assert (first["seq"], first["prev"]) == (1, 0)
    note = operator.say(conversation, "a private note", note=True)  # seq 2
    assert (note["seq"], note["prev"]) == (2, 1)
    reply = operator.say(conversation, "Hi! How can I help?")  # seq 3
    assert (reply["seq"], reply["prev"]) == (3, 2)
    live = visitor.wait_for(lambda f: f["t"] == "msg" and f["seq"] == 3)
    assert live["prev"] == 1  # the note is not the visitor's: its gap is no loss
    second = visitor.say("Thanks")  # seq 4
    assert (second["seq"], second["prev"]) == (4, 3)
    seen = operator.wait_for(lambda f: f["t"] == "msg" and f["seq"] == 4)
    assert seen["prev"] == 3

    # A resent first message's ack names the message before it too (none).
    visitor.conversation = None
    again = visitor.say("Hello", cid=cid)
    assert (again["seq"], again["prev"]) == (1, 0)

    # The backlog after a reconnect is a chain starting at the client's since.
    last = lambda f: f["t"] == "msg" and f["seq"] == 4  # noqa: E731
    visitor.connect({str(conversation): 0})
    visitor.wait_for(last)
    chain = [(f["seq"], f["prev"]) for f in visitor.messages(conversation)]
    assert chain == [(1, 0), (3, 1), (4, 3)]
    visitor.connect({str(conversation): 1})
    visitor.wait_for(last)
    assert [(f["seq"], f["prev"]) for f in visitor.messages(conversation)] == [(3, 1), (4, 3)]
    operator.connect({str(conversation): 1})
    operator.wait_for(last)
    backlog = [(f["seq"], f["prev"]) for f in operator.messages(conversation)]
    assert backlog == [(2, 1), (3, 2), (4, 3)]


def test_identity_required_without_a_valid_hash_cannot_start(server: LiveServer) -> None:
    team = live_team(server, identity_required=True, identity_secret="s" * 32)
    from widget_server.widgets.service import identity_hash

    wrong = {"i": "vis-1", "identity": {"id": "42", "hash": "00" * 32}}
    session = start_session(server.url, team.site.key, wrong)
    assert session["can_start"] is False and session["reason"] == "identity_required"
    visitor = ChatVisitor(server.url, team.site.key, token=session["token"])
    refused = visitor.say("hi")
    assert refused["t"] == "error" and refused["code"] == "identity_required"
    missing = start_session(server.url, team.site.key, {"i": "vis-2"})
    assert missing["can_start"] is False

    right = {
        "i": "vis-3",
        "identity": {"id": "42", "name": "Ann", "hash": identity_hash("s" * 32, "42")},
    }
    session = start_session(server.url, team.site.key, right)
    assert session["can_start"] is True and session["visitor"]["verified"] is True
    visitor = ChatVisitor(server.url, team.site.key, token=session["token"])
    assert visitor.say("hi")["t"] == "ack"


def test_too_many_messages_are_refused_with_retry_after(server: LiveServer) -> None:
    team = live_team(server)
    visitor = ChatVisitor(server.url, team.site.key)
    for n in range(20):
        assert visitor.say(f"message {n}")["t"] == "ack"
    refused = visitor.say("one too many")
    assert refused["code"] == "rate_limited"
    assert 1 <= refused["retry_after"] <= 60
    assert refused["message"]


def test_foreign_origins_and_bad_tokens_are_closed(server: LiveServer) -> None:
    team = live_team(server)
    token = start_session(server.url, team.site.key, {"i": "vis-1"})["token"]
    hello = '{"t": "hello", "site": "%s", "token": "%s", "since": {}}'
    with connect(
        ws_url(server.url, "/ws/visitor"), origin=Origin("https://evil.example"), proxy=None
    ) as ws:
        ws.send(hello % (team.site.key, token))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    with connect(ws_url(server.url, "/ws/visitor"), origin=Origin(ORIGIN), proxy=None) as ws:
        ws.send(hello % (team.site.key, token + "x"))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    with (
        connect(
            ws_url(server.url, "/ws/console"), origin=Origin("https://evil.example"), proxy=None
        ) as ws,
        pytest.raises(ConnectionClosed) as closed,
    ):
        ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    with (
        connect(ws_url(server.url, "/ws/console"), origin=Origin(server.url), proxy=None) as ws,
        pytest.raises(ConnectionClosed) as closed,
    ):
        ws.recv(timeout=5)  # not logged in
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
