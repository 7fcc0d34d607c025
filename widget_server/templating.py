"""One Jinja2 environment for pages and mail: shared templates plus each feature's own folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, select_autoescape
from starlette.templating import Jinja2Templates

from widget_server import i18n

HERE = Path(__file__).parent
# Feature packages whose templates/ folder is reachable as "<feature>/<name>".
FEATURES = ("console", "outbox", "counter", "chat", "widgets", "payments", "access")


def build_environment() -> Environment:
    loader = ChoiceLoader(
        [
            FileSystemLoader(HERE / "templates"),
            PrefixLoader({name: FileSystemLoader(HERE / name / "templates") for name in FEATURES}),
        ]
    )
    env = Environment(
        loader=loader,
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    env.globals["current_language"] = i18n.current_language.get
    env.globals["LANGUAGE_NAMES"] = i18n.LANGUAGE_NAMES
    return env


_environment = build_environment()
templates = Jinja2Templates(env=_environment)


def render_text(name: str, **context: Any) -> str:
    """Render a template to a string (mail bodies)."""
    return _environment.get_template(name).render(**context)
