"""Delivery of queued mail and webhooks: the periodic job every server process runs.

``deliver_due`` leases due rows (so two processes never send one row at once), sends them
concurrently, records every attempt, and reschedules failures with backoff until they succeed or
run out of attempts.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import timedelta

import httpx

from widget_server.db.metadata import utcnow
from widget_server.outbox import mail, store, webhooks
from widget_server.outbox.service import KINDS
from widget_server.outbox.store import Attempt, AttemptResult, Claimed, Message
from widget_server.runtime import Runtime

log = logging.getLogger(__name__)


LEASE = timedelta(seconds=120)  # well over the slowest attempt (SMTP: 30 s timeout)
CONCURRENCY = 10


async def deliver_due(state: Runtime, *, batch: int = 20) -> int:
    """Lease up to ``batch`` due messages and deliver them concurrently; returns how many."""
    now = utcnow()
    # Without SMTP, mail is not claimed: it waits, pending, until an admin configures it.
    kinds = KINDS if state.settings.smtp is not None else ("webhook",)
    async with state.engine.begin() as conn:
        claimed = await store.claim_due(
            conn,
            token=str(uuid.uuid4()),
            now=now,
            lease_until=now + LEASE,
            kinds=kinds,
            limit=batch,
        )
    if not claimed:
        return 0
    slots = asyncio.Semaphore(CONCURRENCY)
    async with webhooks.new_client() as client:

        async def deliver_one(item: Claimed) -> None:
            async with slots:
                await _deliver(state, client, item)

        results = await asyncio.gather(*map(deliver_one, claimed), return_exceptions=True)
    for item, result in zip(claimed, results, strict=True):
        if isinstance(result, BaseException):
            # Its lease runs out and the message is tried again: nothing is lost.
            log.error("outbox %s: delivery crashed", item.message.id, exc_info=result)
    return len(claimed)


async def _deliver(state: Runtime, client: httpx.AsyncClient, item: Claimed) -> None:
    message = item.message
    started_at = utcnow()
    clock = time.monotonic()
    if message.kind == "mail":
        result = await _send_mail(state, message)
    else:
        result = await _post_webhook(client, item)
    attempt = Attempt(
        number=message.attempts + 1,
        started_at=started_at,
        duration_ms=round((time.monotonic() - clock) * 1000),
        ok=result.ok,
        status_code=result.status_code,
        error=None if result.ok else result.error,
    )
    now = utcnow()
    next_attempt_at = None
    if result.ok:
        new_state = "sent"
    elif result.permanent or attempt.number >= message.max_attempts:
        new_state = "failed"
    else:
        new_state = "pending"
        delays = mail.BACKOFF if message.kind == "mail" else webhooks.BACKOFF
        next_attempt_at = now + delays[min(attempt.number, len(delays)) - 1]
    async with state.engine.begin() as conn:
        held = await store.finish_attempt(
            conn,
            message_id=message.id,
            token=item.lease_token,
            attempt=attempt,
            state=new_state,
            next_attempt_at=next_attempt_at,
            now=now,
        )
    if not held:
        log.warning("outbox %s: the lease ran out during delivery; not recorded", message.id)


async def _send_mail(state: Runtime, message: Message) -> AttemptResult:
    smtp = state.settings.smtp
    if smtp is None:  # not reached: mail is only claimed when SMTP is configured
        return AttemptResult(ok=False, error="SMTP is not configured (VITRINE_SMTP_URL).")
    built = mail.build_message(
        payload=message.payload,
        to=message.target,
        mail_from=state.settings.mail_from,
        message_key=str(message.payload.get("message_key") or message.id),
    )
    return await mail.send(smtp, built)


async def _post_webhook(client: httpx.AsyncClient, item: Claimed) -> AttemptResult:
    endpoint = item.endpoint
    if endpoint is None:
        return AttemptResult(ok=False, error="The endpoint was deleted.", permanent=True)
    if not endpoint.is_active:
        return AttemptResult(ok=False, error="The endpoint is disabled.", permanent=True)
    return await webhooks.post(
        client,
        url=item.message.target,
        body=str(item.message.payload["body"]),
        secret=endpoint.secret,
        event_type=item.message.topic,
        delivery_id=item.message.id,
    )
