"""Placeholder: the CLI helper fills this in."""

from __future__ import annotations

from pathlib import Path

from starlette.staticfiles import StaticFiles


class LandingPage(StaticFiles):
    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, html=True)
