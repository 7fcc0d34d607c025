"""The chat's HTTP endpoints in-process: the visitor's session, files and transcript (CORS and
origins), signed file links, the console's JSON, and the REST API's leads and conversations."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
from PIL import Image

from tests.chat.conftest import ORIGIN, chat_team, new_cid
from tests.conftest import log_in
from widget_server.accounts import service as accounts
from widget_server.chat import leads, service, visitors
from widget_server.counter import service as counter
from widget_server.outbox import service as outbox
from widget_server.runtime import Runtime

HEADERS = {"Origin": ORIGIN, "Content-Type": "text/plain"}


def png(size: int = 8) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), "red").save(out, "PNG")
    return out.getvalue()


async def session(client: httpx.AsyncClient, key: str, **body: Any) -> httpx.Response:
    return await client.post(
        f"/chat/{key}/session", content=json.dumps({"i": "vis-1", **body}), headers=HEADERS
    )


async def test_the_session_answers_the_widget_and_refuses_foreign_origins(
    client: httpx.AsyncClient, state: Runtime
) -> None:
    team = await chat_team(state, default_language="fr", use_browser_language=True)
    answer = await session(client, team.site.key, lang=["ru-RU", "en"], params={"plan": "pro"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    body = answer.json()
    assert body["ws"] == "ws://testserver/ws/visitor"
    assert body["can_start"] is True and body["reason"] is None
    assert body["widget"]["language"] == "ru"
    assert body["conversations"] == []
    visitor = await visitors.visitor_of_token(state, team.site.id, body["token"])
    assert visitor is not None and visitor.params == {"plan": "pro"}

    foreign = await client.post(
        f"/chat/{team.site.key}/session",
        content='{"i": "vis-1"}',
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    assert "access-control-allow-origin" not in foreign.headers
    bad = await session(client, team.site.key, params={"x" * 41: 1})
    assert bad.status_code == 422 and bad.headers["access-control-allow-origin"] == ORIGIN
    assert (await session(client, "nosuchsite")).status_code == 404
    await service.widgets.enable_chat(team.access(), state.engine, False)
    assert (await session(client, team.site.key)).status_code == 404


async def test_attachments_are_sniffed_and_served_with_safe_headers(
    client: httpx.AsyncClient, state: Runtime
) -> None:
    team = await chat_team(state)
    token = (await session(client, team.site.key)).json()["token"]
    url = f"/chat/{team.site.key}/files"

    async def upload(name: str, data: bytes) -> httpx.Response:
        return await client.post(
            url, data={"token": token}, files={"file": (name, data)}, headers={"Origin": ORIGIN}
        )

    good = await upload("photo.png", png())
    assert good.status_code == 200, good.text
    file = good.json()["file"]
    assert (file["name"], file["type"], file["size"]) == ("photo.png", "image/png", len(png()))

    disguised = await upload("invoice.pdf", png())
    assert disguised.status_code == 422
    assert "image/png" in disguised.json()["error"]["message"]
    script = await upload("notes.txt", b"MZ\x90\x00\x03\x00binary")
    assert script.status_code == 422
    assert "PDF" in script.json()["error"]["message"]
    too_big = await upload("big.txt", b"a" * (5 * 1024 * 1024 + 1))
    assert too_big.status_code == 413
    assert (await upload("doc.pdf", b"%PDF-1.7\n...")).status_code == 200
    assert (await upload("readme.txt", "héllo".encode())).status_code == 200
    no_token = await client.post(url, files={"file": ("a.png", png())}, headers={"Origin": ORIGIN})
    assert no_token.status_code == 401

    served = await client.get(file["url"].removeprefix("http://testserver"))
    assert served.status_code == 200 and served.content == png()
    assert served.headers["content-type"] == "image/png"
    assert served.headers["content-disposition"] == "inline; filename*=UTF-8''photo.png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"] == "default-src 'none'; sandbox"
    forged = await client.get(f"/chat/files/{file['id']}?s=0000")
    assert forged.status_code == 404

    visitor = await visitors.visitor_of_token(state, team.site.id, token)
    assert visitor is not None
    sent = await service.visitor_send(
        state, visitor, conversation_id=None, client_id=new_cid(), text="", file_id=file["id"]
    )
    assert sent.message.file is not None and sent.message.file.name == "photo.png"


async def test_a_transcript_is_mailed_without_notes(
    client: httpx.AsyncClient, state: Runtime
) -> None:
    team = await chat_team(state)
    token = (await session(client, team.site.key)).json()["token"]
    visitor = await visitors.visitor_of_token(state, team.site.id, token)
    assert visitor is not None
    c = (
        await service.visitor_send(
            state, visitor, conversation_id=None, client_id=new_cid(), text="Hi there"
        )
    ).conversation.id
    await service.operator_send(
        state, team.access("operator"), c, client_id=new_cid(), text="Hello!"
    )
    await service.operator_send(
        state, team.access("operator"), c, client_id=new_cid(), text="HIDDEN", note=True
    )
    body = {"token": token, "c": c, "email": "ann@example.com"}
    answer = await client.post(
        f"/chat/{team.site.key}/transcript", content=json.dumps(body), headers=HEADERS
    )
    assert answer.status_code == 202, answer.text
    page = await outbox.list_messages(team.access(), state.engine, kind="mail", state=None, page=1)
    (mail,) = page.messages
    assert mail.target == "ann@example.com" and mail.topic == "chat_transcript"
    assert "Hi there" in mail.payload["text"] and "Hello!" in mail.payload["html"]
    assert "HIDDEN" not in mail.payload["text"] + mail.payload["html"]
    for _ in range(2):
        again = await client.post(
            f"/chat/{team.site.key}/transcript", content=json.dumps(body), headers=HEADERS
        )
        assert again.status_code == 202
    too_many = await client.post(
        f"/chat/{team.site.key}/transcript", content=json.dumps(body), headers=HEADERS
    )
    assert too_many.status_code == 429
    assert too_many.headers["access-control-allow-origin"] == ORIGIN
    bad = await client.post(
        f"/chat/{team.site.key}/transcript",
        content=json.dumps({**body, "email": "nope"}),
        headers=HEADERS,
    )
    assert bad.status_code == 422
    other = await client.post(
        f"/chat/{team.site.key}/transcript",
        content=json.dumps({**body, "c": c + 1}),
        headers=HEADERS,
    )
    assert other.status_code == 404


async def test_console_json_lists_and_details_a_chat(
    client: httpx.AsyncClient, state: Runtime
) -> None:
    team = await chat_team(state)
    token = (await session(client, team.site.key, params={"plan": "pro"})).json()["token"]
    visitor = await visitors.visitor_of_token(state, team.site.id, token)
    assert visitor is not None
    c = (
        await service.visitor_send(
            state, visitor, conversation_id=None, client_id=new_cid(), text="Hi"
        )
    ).conversation.id
    await service.operator_send(
        state, team.access("admin"), c, client_id=new_cid(), text="note", note=True
    )
    csrf = await log_in(client, team.operator.email)
    listed = await client.get(f"/console/sites/{team.site.key}/chats.json?tab=new")
    assert listed.status_code == 200
    assert [s["id"] for s in listed.json()] == [c]
    assert listed.json()[0]["params"] == {"plan": "pro"}
    assert (
        await client.get(f"/console/sites/{team.site.key}/chats.json?tab=all")
    ).status_code == 403
    detail = (await client.get(f"/console/sites/{team.site.key}/chats/{c}.json")).json()
    assert [m["text"] for m in detail["messages"]] == ["Hi", "note"]
    assert detail["messages"][1]["note"] is True
    assert detail["visitor"]["verified"] is False and detail["params"] == {"plan": "pro"}
    assert detail["visit"] is None and detail["pages"] == [] and detail["leads"] == []
    await service.take(state, team.access("admin"), c)
    hidden = await client.get(f"/console/sites/{team.site.key}/chats/{c}.json")
    assert hidden.status_code == 404

    upload = await client.post(
        f"/console/sites/{team.site.key}/chats/files",
        data={"csrf_token": csrf},
        files={"file": ("a.png", png())},
    )
    assert upload.status_code == 200, upload.text
    assert upload.json()["file"]["type"] == "image/png"
    no_csrf = await client.post(
        f"/console/sites/{team.site.key}/chats/files", files={"file": ("a.png", png())}
    )
    assert no_csrf.status_code == 403


async def test_the_api_lists_leads_and_reads_conversations_without_notes(
    client: httpx.AsyncClient, state: Runtime
) -> None:
    team = await chat_team(state)
    other = await chat_team(state, "other-")
    _, secret = await accounts.create_api_key(team.access(), state.engine, "crm")
    _, other_secret = await accounts.create_api_key(other.access(), state.engine, "crm")
    visitor = await visitors.visitor_of_token(
        state, team.site.id, (await session(client, team.site.key)).json()["token"]
    )
    assert visitor is not None
    made = []
    for n in range(3):
        c = (
            await service.visitor_send(
                state, visitor, conversation_id=None, client_id=new_cid(), text=f"chat {n}"
            )
        ).conversation.id
        await service.operator_send(
            state, team.access("operator"), c, client_id=new_cid(), text="PRIVATE", note=True
        )
        made.append(await leads.make_lead(state, team.access("operator"), c))
    auth = {"Authorization": f"Bearer {secret}"}
    listed = await client.get("/api/v2/leads", headers=auth)
    assert listed.status_code == 200
    assert [lead["id"] for lead in listed.json()["data"]] == [m.id for m in reversed(made)]
    limited = await client.get("/api/v2/leads?limit=1", headers=auth)
    assert [lead["id"] for lead in limited.json()["data"]] == [made[-1].id]
    assert (await client.get("/api/v2/leads?limit=0", headers=auth)).status_code == 422
    one = (await client.get(f"/api/v2/leads/{made[0].id}", headers=auth)).json()
    assert one["manager"]["name"] == "Oscar Operator"
    assert [m["text"] for m in one["transcript"]] == ["chat 0"]

    conversation = await client.get(
        f"/api/v2/conversations/{made[0].conversation_id}", headers=auth
    )
    assert conversation.status_code == 200
    data = conversation.json()
    assert [m["text"] for m in data["messages"]] == ["chat 0"]
    assert "PRIVATE" not in conversation.text
    assert data["visitor"]["verified"] is False
    foreign = {"Authorization": f"Bearer {other_secret}"}
    assert (await client.get(f"/api/v2/leads/{made[0].id}", headers=foreign)).status_code == 404
    assert (
        await client.get(f"/api/v2/conversations/{made[0].conversation_id}", headers=foreign)
    ).status_code == 404
    assert (await client.get("/api/v2/leads")).status_code == 401


async def test_a_chat_knows_its_visit_source_and_pages(
    client: httpx.AsyncClient, state: Runtime
) -> None:
    team = await chat_team(state)
    browser = {
        **HEADERS,
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36",
    }
    landing = "https://shop.example.com/?utm_source=newsletter&utm_campaign=spring"
    hit = {"t": "p", "u": landing, "r": "", "i": "visitor-0001"}
    first = await client.post(f"/t/{team.site.key}", content=json.dumps(hit), headers=browser)
    assert first.status_code == 200, first.text
    number = first.json()["v"]
    page = {**hit, "u": "https://shop.example.com/pricing", "v": number}
    assert (
        await client.post(f"/t/{team.site.key}", content=json.dumps(page), headers=browser)
    ).status_code == 204
    await counter.flush(state)

    token = (
        await session(client, team.site.key, v=number, u="https://shop.example.com/pricing")
    ).json()["token"]
    visitor = await visitors.visitor_of_token(state, team.site.id, token)
    assert visitor is not None
    c = (
        await service.visitor_send(
            state, visitor, conversation_id=None, client_id=new_cid(), text="Hi"
        )
    ).conversation.id
    await log_in(client, team.admin.email)
    detail = (await client.get(f"/console/sites/{team.site.key}/chats/{c}.json")).json()
    assert detail["visit"]["number"] == number
    assert detail["visit"]["source"] == "newsletter" and detail["visit"]["campaign"] == "spring"
    assert [p["url"] for p in detail["pages"]] == [landing, "https://shop.example.com/pricing"]
    assert detail["conversation"]["channel"] == detail["visit"]["channel"]
    assert detail["conversation"]["visit"] == number
    lead = await leads.make_lead(state, team.access("admin"), c)
    assert lead.source is not None and lead.source["source"] == "newsletter"


async def test_a_visitor_who_leaves_mid_request_is_a_quiet_400(
    app: Any, state: Runtime, caplog: Any
) -> None:
    # A page that closes while its session request is being sent: the body never comes. The
    # server answers into the void in the one error shape and logs no traceback (no 500).
    team = await chat_team(state)
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": f"/chat/{team.site.key}/session", "raw_path": b"",
        "query_string": b"", "root_path": "", "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
        "headers": [(b"host", b"testserver"), (b"origin", ORIGIN.encode()),
                    (b"content-type", b"text/plain"), (b"content-length", b"100")],
    }  # fmt: skip
    parts = [
        {"type": "http.request", "body": b'{"i": "vis', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return parts.pop(0) if parts else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with caplog.at_level("INFO"):
        await app(scope, receive, send)
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 400
    body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert body["error"]["code"] == "bad_request"
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert not [r for r in caplog.records if r.exc_info]
