"""What the console's chat page reads over HTTP: the lists of chats per tab and one chat's
detail (messages with notes, the visitor, the visit's source and pages, earlier chats, leads)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from widget_server.accounts.models import Access
from widget_server.chat import events, frames, leads, service, store
from widget_server.chat.models import STATUSES, Conversation
from widget_server.chat.sockets import backlog
from widget_server.counter import service as counter
from widget_server.errors import Forbidden, NotFound, invalid
from widget_server.i18n import _

if TYPE_CHECKING:
    from widget_server.runtime import Runtime

TABS = ("new", "mine", "all", "closed")
OPEN = tuple(s for s in STATUSES if s != "resolved")


async def _summaries(state: Runtime, conversations: list[Conversation]) -> list[dict[str, Any]]:
    return [(await events.summaries(state, c))[1] for c in conversations]


async def conversation_list(
    state: Runtime, access: Access, tab: str, limit: int = 100
) -> list[dict[str, Any]]:
    """Console summaries, newest first. ``new``: unassigned open chats; ``mine``: assigned to
    me and not resolved; ``all`` (admins): every chat not resolved; ``closed``: resolved ones
    (operators: those they handled)."""
    if tab not in TABS:
        raise invalid("tab", _("The tab is new, mine, all or closed."))
    site_id, me = access.site.id, access.user.id
    async with state.engine.connect() as conn:
        if tab == "new":
            found = await store.conversations_of_site(
                conn, site_id, statuses=OPEN, unassigned_or=-1, limit=limit
            )
        elif tab == "mine":
            found = await store.conversations_of_site(
                conn, site_id, statuses=OPEN, assignee=me, limit=limit
            )
        elif tab == "all":
            if not access.is_admin:
                raise Forbidden(_("Only the site's owner or an admin can see every chat."))
            found = await store.conversations_of_site(conn, site_id, statuses=OPEN, limit=limit)
        else:
            found = await store.conversations_of_site(
                conn,
                site_id,
                statuses=("resolved",),
                assignee=None if access.is_admin else me,
                limit=limit,
            )
    return await _summaries(state, found)


async def conversation_detail(
    state: Runtime, access: Access, conversation_id: int
) -> dict[str, Any]:
    conversation = await service.visible_conversation(state, access, conversation_id)
    async with state.engine.connect() as conn:
        visitor = await store.visitor_by_id(conn, conversation.visitor_id)
        earlier = await store.conversations_of_visitor(conn, conversation.visitor_id, limit=21)
    assert visitor is not None
    earlier = [c for c in earlier if c.id != conversation.id and service.can_see(access, c)]
    visit = pages = None
    if conversation.visit_number is not None:
        number = conversation.visit_number
        visit = leads.source_json(await counter.visit_source(state.engine, access.site.id, number))
        pages = await counter.visit_pages(state, access.site.id, number)
    found_leads = await leads.leads_of_conversations(
        state, access.site.id, [conversation.id, *(c.id for c in earlier)]
    )
    return {
        "conversation": (await events.summaries(state, conversation, visitor))[1],
        "messages": await backlog(state, [conversation], {conversation.id: 0}, console=True),
        "visitor": {
            "name": visitor.name,
            "email": visitor.email,
            "phone": visitor.phone,
            "verified": visitor.external_id is not None,
            "external_id": visitor.external_id,
        },
        "params": conversation.params,
        "visit": visit,
        "pages": [{"url": url, "at": frames.iso(at)} for url, at in pages or []],
        "earlier": await _summaries(state, earlier[:20]),
        "leads": [await leads.lead_json(state, lead) for lead in found_leads],
    }


async def conversation_for_api(
    state: Runtime, site_id: int, conversation_id: int
) -> dict[str, Any]:
    """A conversation for the site's backend: its messages without notes, the visitor and the
    visit's source."""
    async with state.engine.connect() as conn:
        conversation = await store.conversation(conn, conversation_id)
        visitor = await store.visitor_by_id(conn, conversation.visitor_id) if conversation else None
    if conversation is None or conversation.site_id != site_id or visitor is None:
        raise NotFound(_("No such conversation."))
    source = None
    if conversation.visit_number is not None:
        source = leads.source_json(
            await counter.visit_source(state.engine, site_id, conversation.visit_number)
        )
    summary = (await events.summaries(state, conversation, visitor))[1]
    return {
        **{k: summary[k] for k in ("id", "status", "last_seq", "assignee", "rating", "params")},
        "rating_comment": conversation.rating_comment,
        "page_url": conversation.page_url,
        "language": conversation.language,
        "created_at": frames.iso(conversation.created_at),
        "updated_at": frames.iso(conversation.updated_at),
        "visitor": {
            "name": visitor.name,
            "email": visitor.email,
            "phone": visitor.phone,
            "verified": visitor.external_id is not None,
            "external_id": visitor.external_id,
        },
        "visit": source,
        "messages": await leads.transcript(state, conversation.id),
    }
