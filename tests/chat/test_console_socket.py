"""The console socket: who receives what, taking, assigning with a notification, statuses,
leads, presence, auto-assignment round-robin, ratings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chat.conftest import ChatOperator, ChatVisitor, live_team
from tests.conftest import LiveServer, serve_app


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with serve_app(tmp_path) as live:
        yield live


def test_operators_get_new_chats_and_theirs_admins_get_all(server: LiveServer) -> None:
    team = live_team(server)
    admin = ChatOperator(server, team.site.key, team.admin.email)
    operator = ChatOperator(server, team.site.key, team.operator.email)
    admin.wait_for(lambda f: f["t"] == "presence" and f["operator"] == team.operator.id)
    assert {o["id"]: o["presence"] for o in operator.welcome["operators"]} == {
        team.owner.id: "offline",
        team.admin.id: "online",
        team.operator.id: "online",
    }
    visitor = ChatVisitor(server.url, team.site.key)
    c = visitor.say("Anyone there?")["c"]
    for side in (admin, operator):
        side.wait_for(lambda f: f["t"] == "msg" and f["c"] == c)

    taken = admin.request({"t": "take", "c": c})
    assert taken["t"] == "ok" and taken["conversation"]["assignee"]["id"] == team.admin.id
    gone = operator.wait_for(
        lambda f: f["t"] == "conv" and f["conversation"]["assignee"] is not None
    )
    assert gone["conversation"]["id"] == c
    late = operator.request({"t": "take", "c": c})
    assert late["t"] == "error" and late["code"] == "not_found"

    visitor.say("Second question")
    admin.wait_for(lambda f: f["t"] == "msg" and f.get("text") == "Second question")
    operator.drain()
    assert "Second question" not in [f.get("text") for f in operator.frames]

    # The admin transfers the chat: the operator is notified and now receives its frames.
    assigned = admin.request({"t": "assign", "c": c, "to": team.operator.id})
    assert assigned["t"] == "ok"
    notify = operator.wait_for(lambda f: f["t"] == "notify")
    assert notify["kind"] == "assigned" and notify["conversation"]["id"] == c
    visitor.say("Third question")
    operator.wait_for(lambda f: f["t"] == "msg" and f.get("text") == "Third question")
    refused = operator.request({"t": "assign", "c": c, "to": team.admin.id})
    assert refused["t"] == "error" and refused["code"] == "forbidden"

    pending = operator.request({"t": "status", "c": c, "status": "pending"})
    assert pending["conversation"]["status"] == "pending"
    visitor.wait_for(lambda f: f["t"] == "conv" and f["conversation"]["status"] == "pending")
    lead = operator.request({"t": "lead", "c": c})
    assert lead["t"] == "ok"
    assert [m["text"] for m in lead["lead"]["transcript"]] == [
        "Anyone there?",
        "Second question",
        "Third question",
    ]
    assert lead["lead"]["manager"]["id"] == team.operator.id

    operator.request({"t": "presence", "state": "away"})
    admin.wait_for(
        lambda f: (
            f["t"] == "presence" and f["operator"] == team.operator.id and f["state"] == "away"
        )
    )
    bad = operator.request({"t": "nonsense"})
    assert bad["t"] == "error" and bad["code"] == "invalid"
    operator.close()
    admin.wait_for(
        lambda f: (
            f["t"] == "presence" and f["operator"] == team.operator.id and f["state"] == "offline"
        )
    )
    admin.close()
    visitor.close()


def test_reconnecting_console_gets_missed_messages_and_notes(server: LiveServer) -> None:
    team = live_team(server)
    visitor = ChatVisitor(server.url, team.site.key)
    c = visitor.say("one")["c"]
    admin = ChatOperator(server, team.site.key, team.admin.email)
    admin.say(c, "a note", note=True)
    visitor.say("two")
    admin.connect({str(c): 0})
    missed = admin.wait_for(lambda f: f["t"] == "msg" and f["seq"] == 3)
    assert missed["text"] == "two"
    assert [(f["seq"], f["note"]) for f in admin.messages(c)] == [
        (1, False),
        (2, True),
        (3, False),
    ]


def test_new_chats_go_round_robin_to_online_operators(server: LiveServer) -> None:
    team = live_team(server, auto_assign=True)
    admin = ChatOperator(server, team.site.key, team.admin.email)
    operator = ChatOperator(server, team.site.key, team.operator.email)
    assignees = []
    for n in range(3):
        visitor = ChatVisitor(server.url, team.site.key)
        c = visitor.say(f"chat {n}")["c"]
        summary = visitor.wait_for(
            lambda f, c=c: (
                f["t"] == "conv"
                and f["conversation"]["id"] == c
                and f["conversation"]["operator"] is not None
            )
        )
        assignees.append(summary["conversation"]["operator"]["name"])
        visitor.close()
    assert assignees in (
        ["Adam Admin", "Oscar Operator", "Adam Admin"],
        ["Oscar Operator", "Adam Admin", "Oscar Operator"],
    )
    operator.wait_for(lambda f: f["t"] == "notify" and f["kind"] == "assigned")
    admin.wait_for(lambda f: f["t"] == "notify" and f["kind"] == "assigned")


def test_a_visitor_ends_and_rates_a_chat(server: LiveServer) -> None:
    team = live_team(server)
    admin = ChatOperator(server, team.site.key, team.admin.email)
    visitor = ChatVisitor(server.url, team.site.key)
    c = visitor.say("hi")["c"]
    visitor.send({"t": "rate", "c": c, "score": 5})
    early = visitor.wait_for(lambda f: f["t"] == "error")
    assert early["code"] == "invalid"
    visitor.send({"t": "end", "c": c})
    visitor.wait_for(lambda f: f["t"] == "conv" and f["conversation"]["status"] == "resolved")
    visitor.send({"t": "rate", "c": c, "score": 5, "comment": "Quick and kind"})
    rated = admin.wait_for(lambda f: f["t"] == "conv" and f["conversation"]["rating"] == 5)
    assert rated["conversation"]["rating_comment"] == "Quick and kind"
    closed = visitor.say("more?")
    assert closed["t"] == "error" and closed["code"] == "closed"
    visitor.send({"t": "end", "c": c + 1000})
    assert visitor.wait_for(lambda f: f["t"] == "error" and f["code"] == "not_found")
