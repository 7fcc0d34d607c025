"""The storage suite runs on SQLite and, when configured, on PostgreSQL."""

import pytest


@pytest.fixture
def database_url(any_database_url: str) -> str:
    return any_database_url
