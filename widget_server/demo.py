"""``vitrine demo``: the "Demo shop" site with an owner, an admin and an operator, the three
offers behind the landing page's buy buttons, and ``examples/landing/`` served at ``/`` with the
site's counter code in it.

Seeding is idempotent: a second run finds the same site and people, adds the origins of the
current port and resets the three passwords to the ones printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from widget_server.accounts import operators
from widget_server.accounts import service as accounts
from widget_server.accounts.models import Access, Role, Site
from widget_server.errors import Conflict
from widget_server.payments import offers
from widget_server.settings import Settings
from widget_server.widgets import service as widgets

EXAMPLE_LANDING = Path(__file__).resolve().parent.parent / "examples" / "landing"
DEMO_SITE = "Demo shop"


@dataclass(frozen=True)
class DemoLogin:
    role: Role
    email: str
    name: str
    password: str


LOGINS = (
    DemoLogin("owner", "owner@demo.vitrine.test", "Margot Lefebvre", "demo-owner-pass"),
    DemoLogin("admin", "admin@demo.vitrine.test", "Samuel Okafor", "demo-admin-pass"),
    DemoLogin("operator", "operator@demo.vitrine.test", "Lina Petrova", "demo-operator-pass"),
)

__all__ = ["DEMO_SITE", "EXAMPLE_LANDING", "LOGINS", "Site", "banner", "seed"]


def demo_origins(settings: Settings) -> list[str]:
    """Where the demo's pages come from: the base URL and both loopback names on its port."""
    base = urlsplit(settings.base_url)
    origins = [f"{base.scheme}://{base.netloc}".lower()]
    for host in ("127.0.0.1", "localhost"):
        origin = f"http://{host}:{settings.port}"
        if origin not in origins:
            origins.append(origin)
    return origins


async def seed(engine: AsyncEngine, settings: Settings) -> Site:
    """The demo site and its three people, created on the first run and reused after."""
    owner_login = LOGINS[0]
    owner = await accounts.user_by_email(engine, owner_login.email)
    if owner is None:
        owner = await accounts.create_user(
            engine, email=owner_login.email, name=owner_login.name, password=owner_login.password
        )
    else:
        await accounts.set_password(engine, owner.id, owner_login.password)
    origins = demo_origins(settings)
    owned = [s for s, role in await accounts.sites_for(engine, owner) if role == "owner"]
    site = next((s for s in owned if s.name == DEMO_SITE), None)
    if site is None:
        site = await accounts.create_site(
            engine, name=DEMO_SITE, owner=owner, allowed_origins=origins, time_zone="Europe/Paris"
        )
    access = Access(user=owner, site=site, role="owner")
    if not set(origins) <= set(site.allowed_origins):
        site = await accounts.update_site(
            access,
            engine,
            name=site.name,
            allowed_origins=[*site.allowed_origins, *origins],
            time_zone=site.time_zone,
            default_language=site.default_language,
        )
        access = Access(user=owner, site=site, role="owner")
    for login in LOGINS[1:]:
        await _ensure_member(access, engine, login)
    await _ensure_chat(access, engine)
    await _ensure_offers(engine, site.id)
    return site


# Reply templates an operator of the demo shop finds with "/" in the chat composer.
DEMO_TEMPLATES = (
    ("Delivery times", "We ship within 2 working days; delivery takes 2 to 4 days in France."),
    ("Grind advice", "For a filter machine choose the medium grind; for espresso, the fine one."),
    ("Délais de livraison", "Nous expédions sous 2 jours ouvrés ; comptez 2 à 4 jours en France."),
)


async def _ensure_chat(access: Access, engine: AsyncEngine) -> None:
    """The chat on (at any hour, so the demo answers whenever it runs) and a few templates."""
    settings = await widgets.widget_settings(engine, access.site.id)
    if not settings.chat_enabled:
        await widgets.enable_chat(access, engine)
        await widgets.update_widget(access, engine, always_open=True)
    names = {template.name for template in await widgets.reply_templates(access, engine)}
    for name, text in DEMO_TEMPLATES:
        if name not in names:
            await widgets.create_template(access, engine, name=name, text=text)


# The landing page's three plans ([data-vitrine-buy] slugs), paid by card: the sandbox payment
# page, as long as no Stripe key is set. Guests may pay (the offers' default); each grants a page
# the buyer finds in /account through the e-mailed link.
DEMO_OFFERS = (
    ("taster", "Taster bag", 1400, "Brewing card: 15 g for 250 ml, water at 94 °C, 4 minutes."),
    ("regular", "Regular plan", 2600, "Tasting notes of this month's two origins."),
    ("office", "Office plan", 9800, "Grinder on loan: setting 6 for the office machine."),
)


async def _ensure_offers(engine: AsyncEngine, site_id: int) -> None:
    """The demo offers that are missing (one the owner changed is left as it is)."""
    slugs = {offer.slug for offer in await offers.list_offers(engine, site_id)}
    for slug, name, amount, page in DEMO_OFFERS:
        if slug not in slugs:
            body = {"slug": slug, "name": name, "amount": amount, "currency": "eur"}
            grants = {"kind": "page", "value": page}
            await offers.create_site_offer(engine, site_id, {**body, "grants": grants})


async def _ensure_member(access: Access, engine: AsyncEngine, login: DemoLogin) -> None:
    try:
        _, created = await operators.add_operator(
            access,
            engine,
            email=login.email,
            name=login.name,
            password=login.password,
            role=login.role,
            avatar=None,
        )
    except Conflict:  # already works on the site
        created = False
    if created:
        return
    everyone = await operators.members(access, engine)
    member = next(m for m in everyone if m.user.email.lower() == login.email)
    if member.role != login.role:
        await operators.edit_operator(
            access,
            engine,
            member.user.id,
            name=member.user.name,
            role=login.role,
            avatar=None,
            password=None,
        )
    if not member.is_active:
        await operators.set_operator_active(access, engine, member.user.id, True)
    await accounts.set_password(engine, member.user.id, login.password)


def banner(settings: Settings, site: Site) -> str:
    base = settings.base_url
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    people = "\n".join(
        f"    {login.role:<9} {login.email:<28} {login.password}" for login in LOGINS
    )
    return f"""
Vitrine demo: the site "{site.name}" (site key {site.key})

  Landing page  {base}/          (example page with the site's counter code)
  Console       {base}/console
  Health        {base}/healthz

  Console logins (e-mail, password):
{people}

  Database      {database}
  Stop with Ctrl+C; run it again to reuse the same site (the passwords are reset).
"""
