"""E-mailing a conversation's transcript to its visitor (visitor-visible messages only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from widget_server.accounts import service as accounts
from widget_server.accounts.validation import clean_email
from widget_server.chat import leads, service, store
from widget_server.chat.models import ChatVisitor
from widget_server.errors import TooManyRequests, invalid
from widget_server.i18n import _
from widget_server.outbox import service as outbox

if TYPE_CHECKING:
    from widget_server.runtime import Runtime

TEMPLATE = "chat_transcript"
# The visitor names any address: a bound on how much mail one conversation can send.
MAX_PER_CONVERSATION = 3


async def send_transcript(
    state: Runtime, visitor: ChatVisitor, conversation_id: object, email: object
) -> int:
    """Queue the mail (at most ``MAX_PER_CONVERSATION`` per conversation: 429 after that);
    returns its outbox id."""
    conversation = await service.visitor_conversation(state, visitor, conversation_id)
    if not isinstance(email, str):
        raise invalid("email", _("Enter a valid e-mail address."))
    address = clean_email(email)
    messages = await leads.transcript(state, conversation.id)
    async with state.engine.begin() as conn:
        site_key = await accounts.site_key_on(conn, visitor.site_id)
    site = await accounts.site_by_key(state.engine, site_key) if site_key else None
    context = {
        "site_name": site.name if site else "",
        "visitor_name": visitor.name,
        "messages": messages,
        "started_at": conversation.created_at.strftime("%Y-%m-%d %H:%M UTC"),
    }
    async with state.engine.begin() as conn:
        if not await store.count_transcript(conn, conversation.id, MAX_PER_CONVERSATION):
            message = _("The transcript of this conversation has already been sent.")
            raise TooManyRequests(message, retry_after=24 * 3600)
        return await outbox.send_mail(
            conn,
            site_id=visitor.site_id,
            to=address,
            template=TEMPLATE,
            context=context,
            language=conversation.language or visitor.language,
        )
