"""Reuse the payments fixtures: both databases, an API key and a webhook endpoint (so events are
queued)."""

from tests.payments.conftest import database_url, hooked, secret

__all__ = ["database_url", "hooked", "secret"]
