"""Outbox rules: queue mail and webhook events inside the caller's transaction, deliver them in
the background with leases, retries and backoff, and manage a site's webhook endpoints.

A message is written in the same transaction as the state change it announces, so it exists if
and only if that change committed. ``delivery.deliver_due`` (a periodic job in every process)
leases due rows, so two processes never send one row at once, and records every attempt.
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from widget_server.accounts import service as accounts
from widget_server.accounts.models import Access
from widget_server.api.auth import ApiCaller
from widget_server.db.metadata import utcnow
from widget_server.errors import Conflict, Forbidden, NotFound
from widget_server.i18n import _
from widget_server.outbox import mail, store, webhooks
from widget_server.outbox.store import Attempt, Message, WebhookEndpoint

log = logging.getLogger(__name__)


KINDS = ("mail", "webhook")
STATES = ("pending", "sent", "failed")

# Who may manage a site's outbox: its owner or an admin in the console, or its API key.
Actor = Access | ApiCaller


def _site_id(actor: Actor) -> int:
    if isinstance(actor, Access) and not actor.is_admin:
        raise Forbidden(_("Only the site's owner or an admin can do this."))
    return actor.site.id


# --- queueing (inside the caller's transaction) ----------------------------------------------


async def send_mail(
    conn: AsyncConnection,
    *,
    site_id: int | None,
    to: str,
    template: str,
    context: dict[str, Any],
    language: str = "en",
) -> int:
    """Queue one e-mail rendered from ``outbox/templates/mail/<template>.*``; returns its id."""
    payload: dict[str, Any] = mail.compose(template, context, language)
    payload.update(template=template, language=language, message_key=uuid.uuid4().hex)
    now = utcnow()
    return await store.insert_message(
        conn,
        site_id=site_id,
        kind="mail",
        topic=template,
        target=to,
        endpoint_id=None,
        payload=payload,
        max_attempts=len(mail.BACKOFF) + 1,
        next_attempt_at=now,
        created_at=now,
    )


async def emit_event(
    conn: AsyncConnection, *, site_id: int, event_type: str, data: dict[str, Any]
) -> list[int]:
    """Queue the event for every active endpoint of the site that subscribes to its type."""
    endpoints = [
        found
        for found in await store.endpoints_of_site(conn, site_id)
        if found.is_active and (not found.event_types or event_type in found.event_types)
    ]
    return await _queue_event(conn, site_id, endpoints, event_type, data)


async def _queue_event(
    conn: AsyncConnection,
    site_id: int,
    endpoints: list[WebhookEndpoint],
    event_type: str,
    data: dict[str, Any],
) -> list[int]:
    if event_type not in webhooks.EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}: add it to EVENT_TYPES")
    if not endpoints:
        return []
    now = utcnow()
    event = {
        "id": "evt_" + secrets.token_hex(12),
        "type": event_type,
        "created": int(now.timestamp()),
        "site": await accounts.site_key_on(conn, site_id),
        "data": data,
    }
    # The exact text signed and sent, fixed now: every endpoint and every retry get these bytes.
    body = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    return [
        await store.insert_message(
            conn,
            site_id=site_id,
            kind="webhook",
            topic=event_type,
            target=endpoint.url,
            endpoint_id=endpoint.id,
            payload={"event_id": event["id"], "body": body},
            max_attempts=len(webhooks.BACKOFF) + 1,
            next_attempt_at=now,
            created_at=now,
        )
        for endpoint in endpoints
    ]


async def send_test_mail(access: Access, engine: AsyncEngine, *, console_url: str) -> int:
    """A "your mail settings work" message to the user who asks for it."""
    site_id = _site_id(access)
    context = {
        "user_name": access.user.name,
        "site_name": access.site.name,
        "console_url": console_url,
    }
    async with engine.begin() as conn:
        return await send_mail(
            conn,
            site_id=site_id,
            to=access.user.email,
            template="test",
            context=context,
            language=access.user.language or access.site.default_language,
        )


async def send_test_event(actor: Actor, engine: AsyncEngine, endpoint_id: int) -> int:
    """A ``ping`` event to this one endpoint, whatever types it subscribes to."""
    site_id = _site_id(actor)
    async with engine.begin() as conn:
        found = await _endpoint_or_404(conn, site_id, endpoint_id)
        if not found.is_active:
            raise Conflict(_("The endpoint is disabled; enable it first."))
        data = {"message": "A test event sent from the Vitrine console.", "endpoint": found.id}
        (message_id,) = await _queue_event(conn, site_id, [found], "ping", data)
    return message_id


async def retry_now(access: Access, engine: AsyncEngine, outbox_id: int) -> None:
    """Make a failed or pending message due now: one more attempt at the job's next run."""
    site_id = _site_id(access)
    async with engine.begin() as conn:
        if await store.retry(conn, site_id, outbox_id, utcnow()):
            return
        if await store.message(conn, site_id, outbox_id) is None:
            raise NotFound(_("No such message in this site's outbox."))
    raise Conflict(_("This message has already been delivered."))


# --- the outbox as admins see it -------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    messages: list[Message]
    number: int
    has_next: bool


async def list_messages(
    access: Access,
    engine: AsyncEngine,
    *,
    kind: str | None,
    state: str | None,
    page: int,
    per_page: int = 50,
) -> Page:
    """Newest first; an unknown kind or state filter means "any"."""
    site_id = _site_id(access)
    page = max(page, 1)
    async with engine.connect() as conn:
        found = await store.messages_of_site(
            conn,
            site_id,
            kind=kind if kind in KINDS else None,
            state=state if state in STATES else None,
            limit=per_page + 1,
            offset=(page - 1) * per_page,
        )
    return Page(messages=found[:per_page], number=page, has_next=len(found) > per_page)


async def message_detail(
    access: Access, engine: AsyncEngine, outbox_id: int
) -> tuple[Message, list[Attempt]]:
    site_id = _site_id(access)
    async with engine.connect() as conn:
        found = await store.message(conn, site_id, outbox_id)
        if found is None:
            raise NotFound(_("No such message in this site's outbox."))
        return found, await store.attempts_of(conn, outbox_id)


async def pending_mail_count(access: Access, engine: AsyncEngine) -> int:
    site_id = _site_id(access)
    async with engine.connect() as conn:
        return await store.count_pending(conn, site_id, "mail")


# --- webhook endpoints -----------------------------------------------------------------------


async def create_endpoint(
    actor: Actor,
    engine: AsyncEngine,
    *,
    url: object,
    event_types: object = None,
    description: object = "",
) -> WebhookEndpoint:
    """A new active endpoint with a fresh signing secret (``.secret``; show it once)."""
    site_id = _site_id(actor)
    types = [] if event_types is None else event_types
    clean_url, clean_types, text = webhooks.clean_endpoint(url, types, description)
    async with engine.begin() as conn:
        return await store.insert_endpoint(
            conn,
            site_id=site_id,
            url=clean_url,
            secret=webhooks.new_secret(),
            event_types=clean_types,
            description=text,
            now=utcnow(),
        )


async def list_endpoints(actor: Actor, engine: AsyncEngine) -> list[WebhookEndpoint]:
    site_id = _site_id(actor)
    async with engine.connect() as conn:
        return await store.endpoints_of_site(conn, site_id)


async def get_endpoint(actor: Actor, engine: AsyncEngine, endpoint_id: int) -> WebhookEndpoint:
    site_id = _site_id(actor)
    async with engine.connect() as conn:
        return await _endpoint_or_404(conn, site_id, endpoint_id)


async def set_endpoint_active(
    actor: Actor, engine: AsyncEngine, endpoint_id: int, active: bool
) -> None:
    """A disabled endpoint gets no new events; deliveries already queued for it fail."""
    site_id = _site_id(actor)
    async with engine.begin() as conn:
        if not await store.set_endpoint_active(conn, site_id, endpoint_id, active):
            raise NotFound(_("No such webhook endpoint."))


async def delete_endpoint(actor: Actor, engine: AsyncEngine, endpoint_id: int) -> None:
    """Its queued deliveries fail; the delivery log stays."""
    site_id = _site_id(actor)
    async with engine.begin() as conn:
        if not await store.delete_endpoint(conn, site_id, endpoint_id):
            raise NotFound(_("No such webhook endpoint."))


async def _endpoint_or_404(
    conn: AsyncConnection, site_id: int, endpoint_id: int
) -> WebhookEndpoint:
    found = await store.endpoint(conn, site_id, endpoint_id)
    if found is None:
        raise NotFound(_("No such webhook endpoint."))
    return found
