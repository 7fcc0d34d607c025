"""What other features do when an order is paid or refunded, held per app on its ``Runtime``.

A feature registers its hooks when the app is built (``access.service.install``); the payments
state machine runs them inside the transaction that changed the order, so whatever they write
(a grant, its webhook, an e-mail) is committed with the payment, once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncConnection

from widget_server.payments.models import Order

if TYPE_CHECKING:
    from widget_server.runtime import Runtime

Hook = Callable[["Runtime", AsyncConnection, Order], Awaitable[None]]


@dataclass(frozen=True)
class BuyerNote:
    """What a feature tells the buyer on the order's page, under the payment's result: what
    happens next (an e-mail on its way, access given by hand), with an optional link."""

    text: str
    link: str | None = None
    link_text: str | None = None


NoteHook = Callable[["Runtime", Order], Awaitable[BuyerNote | None]]


@dataclass
class PaymentHooks:
    paid: dict[str, Hook] = field(default_factory=dict)
    refunded: dict[str, Hook] = field(default_factory=dict)
    notes: dict[str, NoteHook] = field(default_factory=dict)

    def register(
        self,
        kind: str,
        *,
        paid: Hook | None = None,
        refunded: Hook | None = None,
        note: NoteHook | None = None,
    ) -> None:
        """``paid(state, conn, order)`` runs once when an order becomes paid; ``refunded`` each
        time its refunded total grows; ``note(state, order)`` is read each time the buyer opens
        the order's page. A second registration of ``kind`` replaces the first."""
        if paid is not None:
            self.paid[kind] = paid
        if refunded is not None:
            self.refunded[kind] = refunded
        if note is not None:
            self.notes[kind] = note

    async def notes_for(self, state: Runtime, order: Order) -> list[BuyerNote]:
        found = [await note(state, order) for note in list(self.notes.values())]
        return [note for note in found if note is not None]
