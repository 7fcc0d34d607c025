"""client.leads and client.conversations against the real app (in-process and live)."""

from __future__ import annotations

import httpx
import pytest
import vitrine_sdk
from starlette.applications import Starlette

from tests.chat.conftest import chat_team, new_cid
from tests.conftest import LiveServer, seed
from widget_server.accounts import service as accounts
from widget_server.chat import leads, service, visitors
from widget_server.runtime import Runtime


async def make_leads(state: Runtime, count: int) -> tuple[str, list[int], list[int]]:
    """A site with ``count`` leads; returns a secret key, the lead ids and conversation ids."""
    team = await chat_team(state)
    _, secret = await accounts.create_api_key(team.access(), state.engine, "crm")
    settings = await service.widgets.widget_settings(state.engine, team.site.id)
    body = {"i": "vis-1", "identity": {"name": "Ann", "email": "ann@example.com"}}
    visitor = await visitors.start_session(
        state, team.site, settings, visitors.parse_session(body), "en"
    )
    lead_ids, conversation_ids = [], []
    for n in range(count):
        sent = await service.visitor_send(
            state, visitor, conversation_id=None, client_id=new_cid(), text=f"question {n}"
        )
        c = sent.conversation.id
        operator = team.access("operator")
        await service.operator_send(state, operator, c, client_id=new_cid(), text="answer")
        await service.operator_send(state, operator, c, client_id=new_cid(), text="NOTE", note=True)
        lead_ids.append((await leads.make_lead(state, operator, c)).id)
        conversation_ids.append(c)
    return secret, lead_ids, conversation_ids


async def test_async_client_lists_and_reads_leads_and_conversations(
    app: Starlette, state: Runtime
) -> None:
    secret, lead_ids, conversation_ids = await make_leads(state, 2)
    transport = httpx.ASGITransport(app=app)
    async with vitrine_sdk.AsyncClient(
        secret, base_url="http://testserver", transport=transport
    ) as client:
        listed = await client.leads.list()
        assert [lead.id for lead in listed] == list(reversed(lead_ids))
        assert [lead.id for lead in await client.leads.list(limit=1)] == [lead_ids[-1]]
        lead = await client.leads.get(lead_ids[0])
        conversation = await client.conversations.get(conversation_ids[0])
        with pytest.raises(vitrine_sdk.NotFoundError):
            await client.leads.get(lead_ids[-1] + 100)
    assert lead.contact == vitrine_sdk.Contact(name="Ann", email="ann@example.com", phone="")
    assert lead.manager is not None and lead.manager.name == "Oscar Operator"
    assert [(m.from_, m.text) for m in lead.transcript] == [
        ("visitor", "question 0"),
        ("operator", "answer"),
    ]
    assert lead.transcript[1].author == "Oscar Operator"
    assert conversation.status == "open"
    assert conversation.assignee is not None and conversation.assignee.name == "Oscar Operator"
    assert conversation.visitor.name == "Ann" and conversation.visitor.verified is False
    assert [m.text for m in conversation.messages] == ["question 0", "answer"]
    assert conversation.visit is None


def test_sync_client_reads_leads_from_a_live_server(live_server: LiveServer) -> None:
    secret, lead_ids, conversation_ids = seed(live_server, lambda state: make_leads(state, 1))
    with vitrine_sdk.Client(secret, base_url=live_server.url) as client:
        (lead,) = client.leads.list()
        assert lead.id == lead_ids[0]
        assert client.leads.get(lead.id).conversation_id == conversation_ids[0]
        conversation = client.conversations.get(conversation_ids[0])
        assert "NOTE" not in [m.text for m in conversation.messages]
        with pytest.raises(TypeError):
            client.conversations.get("1/../2")  # type: ignore[arg-type]
