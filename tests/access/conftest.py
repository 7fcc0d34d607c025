"""Reuse the payments fixtures: both databases and a webhook endpoint (so events are queued)."""

from tests.payments.conftest import database_url, hooked

__all__ = ["database_url", "hooked"]
