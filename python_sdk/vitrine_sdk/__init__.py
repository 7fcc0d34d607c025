"""Python SDK for the Vitrine REST API: ``Client``, ``AsyncClient`` and ``webhooks.verify``."""

from . import webhooks
from ._access import Grant
from ._client import AsyncClient, Client
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
    VitrineError,
    WebhookVerificationError,
)
from ._models import (
    ChatMessage,
    CheckoutLink,
    Contact,
    Conversation,
    ConversationVisitor,
    Lead,
    Offer,
    Operator,
    Order,
    PaymentLink,
    Site,
    SourcesReport,
    SourcesRow,
    SourcesTotals,
    WebhookEndpoint,
)
from ._version import __version__

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "ChatMessage",
    "CheckoutLink",
    "Client",
    "ConflictError",
    "Contact",
    "Conversation",
    "ConversationVisitor",
    "Grant",
    "InternalServerError",
    "Lead",
    "NotFoundError",
    "Offer",
    "Operator",
    "Order",
    "PayloadTooLargeError",
    "PaymentLink",
    "PermissionDeniedError",
    "RateLimitError",
    "Site",
    "SourcesReport",
    "SourcesRow",
    "SourcesTotals",
    "UnprocessableEntityError",
    "VitrineError",
    "WebhookEndpoint",
    "WebhookVerificationError",
    "__version__",
    "webhooks",
]

# Report public names as living here, not in the private modules they are defined in.
for _name in __all__:
    _member = globals()[_name]
    if isinstance(_member, type):
        _member.__module__ = __name__
del _name, _member
