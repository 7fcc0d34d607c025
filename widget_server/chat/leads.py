"""Leads: a conversation an operator marks as a sales lead, with the contact, the manager (the
chat's assignee, else whoever made the lead), the transcript without notes, the visit's source
and the custom params. Made once per conversation; the signed ``lead.created`` webhook is queued
in the same transaction as the lead, so it exists exactly when the lead does."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from widget_server.accounts.models import Access, User
from widget_server.chat import frames, lead_store, service, store
from widget_server.chat.events import user
from widget_server.chat.models import Lead
from widget_server.counter import service as counter
from widget_server.db.metadata import utcnow
from widget_server.errors import NotFound
from widget_server.i18n import _
from widget_server.outbox import service as outbox

if TYPE_CHECKING:
    from widget_server.runtime import Runtime

MAX_LIST = 100


def source_json(found: counter.VisitSource | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {
        "number": found.number,
        "started_at": frames.iso(found.started_at),
        "channel": found.channel,
        "source": found.source,
        "medium": found.medium,
        "campaign": found.campaign,
        "landing_page": found.landing_page,
        "referrer": found.referrer,
        "device": found.device,
    }


async def lead_json(state: Runtime, lead: Lead) -> dict[str, Any]:
    return lead_data(lead, await user(state, lead.manager_id))


def lead_data(lead: Lead, manager: User | None) -> dict[str, Any]:
    """A lead as the API, the console and the ``lead.created`` webhook show it."""
    return {
        "id": lead.id,
        "conversation_id": lead.conversation_id,
        "contact": lead.contact,
        "manager": {"id": manager.id, "name": manager.name, "email": manager.email}
        if manager
        else None,
        "transcript": lead.transcript,
        "source": lead.source,
        "params": lead.params,
        "created_at": frames.iso(lead.created_at),
    }


async def transcript(state: Runtime, conversation_id: int) -> list[dict[str, Any]]:
    """The visitor-visible messages (never notes), oldest first."""
    async with state.engine.connect() as conn:
        messages = await store.messages_after(conn, conversation_id, 0, notes=False, limit=5000)
    names: dict[int, str] = {}
    result = []
    for message in messages:
        if message.author_id is not None and message.author_id not in names:
            author = await user(state, message.author_id)
            names[message.author_id] = author.name if author else ""
        result.append(
            {
                "seq": message.seq,
                "from": message.kind,
                "author": names.get(message.author_id, "") if message.author_id else "",
                "text": message.text,
                "file": message.file.name if message.file else None,
                "at": frames.iso(message.created_at),
            }
        )
    return result


async def make_lead(state: Runtime, access: Access, conversation_id: object) -> Lead:
    """The conversation's lead, made now (with its webhook) or found (made before)."""
    conversation = await service.visible_conversation(state, access, conversation_id)
    async with state.engine.connect() as conn:
        existing = await lead_store.lead_of_conversation(conn, conversation.id)
        visitor = await store.visitor_by_id(conn, conversation.visitor_id)
    if existing is not None:
        return existing
    assert visitor is not None
    source = None
    if conversation.visit_number is not None:
        source = source_json(
            await counter.visit_source(state.engine, access.site.id, conversation.visit_number)
        )
    values: dict[str, Any] = {
        "site_id": access.site.id,
        "conversation_id": conversation.id,
        "contact": {"name": visitor.name, "email": visitor.email, "phone": visitor.phone},
        "manager_id": conversation.assignee_id or access.user.id,
        "transcript": await transcript(state, conversation.id),
        "source": source,
        "params": conversation.params,
        "created_at": utcnow(),
    }
    manager = await user(state, values["manager_id"])  # read before the write transaction
    try:
        async with state.engine.begin() as conn:
            lead_id = await lead_store.insert_lead(conn, **values)
            made = Lead(id=lead_id, **values)
            data = lead_data(made, manager)
            await outbox.emit_event(
                conn, site_id=access.site.id, event_type="lead.created", data=data
            )
    except IntegrityError:  # made at the same moment by another operator
        async with state.engine.connect() as conn:
            found = await lead_store.lead_of_conversation(conn, conversation.id)
        if found is None:
            raise
        return found
    return made


async def list_leads(state: Runtime, site_id: int, limit: int = MAX_LIST) -> list[Lead]:
    async with state.engine.connect() as conn:
        return await lead_store.leads_of_site(conn, site_id, limit=max(1, min(limit, MAX_LIST)))


async def get_lead(state: Runtime, site_id: int, lead_id: int) -> Lead:
    async with state.engine.connect() as conn:
        found = await lead_store.lead(conn, site_id, lead_id)
    if found is None:
        raise NotFound(_("No such lead."))
    return found


async def leads_of_conversations(
    state: Runtime, site_id: int, conversation_ids: list[int]
) -> list[Lead]:
    async with state.engine.connect() as conn:
        return await lead_store.leads_of_site(
            conn, site_id, limit=MAX_LIST, conversation_ids=conversation_ids
        )
