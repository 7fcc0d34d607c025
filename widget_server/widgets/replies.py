"""Reply templates: canned answers an operator inserts in a chat. Admins manage them; every
member of the site searches them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from widget_server.accounts import service as accounts
from widget_server.accounts.models import Access
from widget_server.db.metadata import utcnow
from widget_server.errors import InvalidRequest, NotFound, field_error
from widget_server.i18n import _
from widget_server.widgets import store
from widget_server.widgets.store import ReplyTemplate

__all__ = [
    "ReplyTemplate",
    "create_template",
    "delete_template",
    "get_template",
    "reply_templates",
    "search_templates",
    "update_template",
]

MAX_NAME = 120
MAX_TEXT = 4000
MAX_TEMPLATES = 500
MAX_RESULTS = 50


def _clean(name: str, text: str) -> tuple[str, str]:
    name = " ".join(name.split())
    text = text.strip().replace("\r\n", "\n")
    details = []
    if not name:
        details.append(field_error("name", _("Enter a name."), "required"))
    elif len(name) > MAX_NAME:
        message = _("The name must be at most {count} characters.").format(count=MAX_NAME)
        details.append(field_error("name", message, "length"))
    if not text:
        details.append(field_error("text", _("Enter the text of the reply."), "required"))
    elif len(text) > MAX_TEXT:
        message = _("The text must be at most {count} characters.").format(count=MAX_TEXT)
        details.append(field_error("text", message, "length"))
    if details:
        raise InvalidRequest(_("The template is not valid."), details=details)
    return name, text


async def reply_templates(access: Access, engine: AsyncEngine) -> list[ReplyTemplate]:
    """Every template of the site, by name in any case (any member; sorted here, the same on
    every backend whatever its collation)."""
    async with engine.connect() as conn:
        found = await store.templates_of(conn, access.site.id)
    return sorted(found, key=lambda t: (t.name.casefold(), t.id))


async def get_template(access: Access, engine: AsyncEngine, template_id: int) -> ReplyTemplate:
    async with engine.connect() as conn:
        found = await store.template_by_id(conn, access.site.id, template_id)
    if found is None:
        raise NotFound(_("No such reply template."))
    return found


def matches(template: ReplyTemplate, words: list[str]) -> bool:
    haystack = f"{template.name}\n{template.text}".casefold()
    return all(word in haystack for word in words)


async def search_templates(access: Access, engine: AsyncEngine, query: str) -> list[ReplyTemplate]:
    """Templates whose name or text contain every word of ``query``, in any case.

    Filtered here rather than in SQL: SQLite's ``lower()`` folds only ASCII (so Cyrillic would
    not match), and a site has few templates.
    """
    words = query.casefold().split()
    found = [t for t in await reply_templates(access, engine) if matches(t, words)]
    return found[:MAX_RESULTS]


async def create_template(
    access: Access, engine: AsyncEngine, *, name: str, text: str
) -> ReplyTemplate:
    accounts.require_admin(access)
    name, text = _clean(name, text)
    async with engine.begin() as conn:
        if len(await store.templates_of(conn, access.site.id)) >= MAX_TEMPLATES:
            message = _("A site can have at most {count} reply templates.")
            raise InvalidRequest(message.format(count=MAX_TEMPLATES))
        template_id = await store.insert_template(conn, access.site.id, name, text, utcnow())
        found = await store.template_by_id(conn, access.site.id, template_id)
    assert found is not None
    return found


async def update_template(
    access: Access, engine: AsyncEngine, template_id: int, *, name: str, text: str
) -> ReplyTemplate:
    accounts.require_admin(access)
    name, text = _clean(name, text)
    async with engine.begin() as conn:
        if not await store.update_template(conn, access.site.id, template_id, name, text, utcnow()):
            raise NotFound(_("No such reply template."))
        found = await store.template_by_id(conn, access.site.id, template_id)
    assert found is not None
    return found


async def delete_template(access: Access, engine: AsyncEngine, template_id: int) -> None:
    accounts.require_admin(access)
    async with engine.begin() as conn:
        if not await store.delete_template(conn, access.site.id, template_id):
            raise NotFound(_("No such reply template."))
