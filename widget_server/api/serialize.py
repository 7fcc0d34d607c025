"""JSON forms of records shared by several API endpoints."""

from __future__ import annotations

from typing import Any

from widget_server.accounts.models import Site


def site_json(site: Site) -> dict[str, Any]:
    return {
        "id": site.id,
        "key": site.key,
        "name": site.name,
        "allowed_origins": site.allowed_origins,
        "time_zone": site.time_zone,
        "default_language": site.default_language,
        "created_at": site.created_at.isoformat(),
    }
