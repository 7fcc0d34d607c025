"""The REST API base: bearer-key authentication, idempotent POSTs, the /api/v2 mount."""
