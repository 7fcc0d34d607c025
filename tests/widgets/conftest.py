"""The multiwidget suite: storage-touching tests run on SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

import pytest

ORIGIN = "https://shop.example.com"


@pytest.fixture
def database_url(any_database_url: str) -> str:
    return any_database_url
