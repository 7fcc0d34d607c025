"""The ``vitrine`` command: ``serve``, ``migrate``, ``create-user``, ``create-site`` and ``demo``.

Whatever goes wrong in a way the user can fix ends the command with one line on stderr,
``vitrine: <what is wrong>``, and no traceback: exit status 2 for a bad setting or a database
that cannot be opened, 1 for a refused request (an e-mail already taken, a bad time zone…).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from widget_server.errors import VitrineError
from widget_server.settings import LANGUAGES, Settings, SettingsError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine
    from starlette.applications import Starlette

T = TypeVar("T")
NOT_MIGRATED = "the database schema is not up to date: run `vitrine migrate`"
# Fields of the services' validation errors, as the options that carry them.
_OPTIONS = {
    "email": "--email",
    "name": "--name",
    "password": "--password",
    "allowed_origins": "--origin",
    "time_zone": "--time-zone",
    "default_language": "--language",
}


class CommandError(Exception):
    """Stops the command with ``vitrine: <message>`` and the exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# --- settings and the database ---------------------------------------------------------------


def load_settings(**overrides: int | None) -> Settings:
    """Settings from the environment; ``--host``/``--port`` count as their variables would."""
    environ = dict(os.environ)
    for name, value in overrides.items():
        if value is not None:
            environ[f"VITRINE_{name.upper()}"] = str(value)
    try:
        return Settings.from_env(environ)
    except OSError as exc:  # the data directory cannot hold the generated secret key
        raise CommandError(
            f"VITRINE_DATA_DIR: cannot keep the generated secret key there: {exc}", 2
        ) from None


def database_label(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


def with_database(settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run ``work`` on an engine of its own; a database that cannot be opened is one line."""
    from sqlalchemy.exc import DBAPIError

    from widget_server.db.engine import create_engine

    async def go() -> T:
        engine = create_engine(settings.database_url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(go())
    except (OSError, DBAPIError) as exc:
        reason = getattr(exc, "orig", None) or exc
        first_line = (str(reason).strip().splitlines() or [type(reason).__name__])[0]
        raise CommandError(
            f"cannot open the database {database_label(settings)} "
            f"(VITRINE_DATABASE_URL): {first_line}",
            2,
        ) from None


async def ensure_schema(engine: AsyncEngine, settings: Settings) -> None:
    """Bring the schema up to date as the server's start-up would, or refuse when automatic
    migration is off (``serve`` does this before uvicorn, which would print a traceback)."""
    from widget_server.db import migrate

    if await migrate.pending(engine):
        if not settings.auto_migrate:
            raise CommandError(NOT_MIGRATED, 1)
        await migrate.upgrade(engine)


# Chat sockets carry small JSON frames: per-message compression would save a few bytes each at
# the cost of a zlib stream per socket (about 40 KiB of memory each, measured by bench/chat.py).
WEBSOCKET_OPTIONS: dict[str, Any] = {"ws_per_message_deflate": False}


def freeze_startup_objects() -> None:
    """Put the objects made so far (modules, the app, SQLAlchemy's tables) out of the cyclic
    garbage collector's reach. A full collection walks every object it tracks, with the event
    loop stopped: 115,000 of them after start-up, 60 to 150 ms on a small machine, which every
    chat socket then waits for (bench/chat.py's worst latencies). Frozen objects are never
    walked again; they live as long as the process anyway."""
    gc.collect()
    gc.freeze()


def run_server(app: Starlette, settings: Settings) -> int:
    """Serve until SIGINT or SIGTERM, then shut down gracefully and exit 0."""
    import uvicorn

    freeze_startup_objects()
    # uvicorn handles both signals, shuts down, then raises the signal again once it has put the
    # previous handlers back: these make that last step a no-op, so the exit is a clean 0.
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            proxy_headers=True,
            timeout_graceful_shutdown=10,
            log_level="info",
            **WEBSOCKET_OPTIONS,
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


# --- commands --------------------------------------------------------------------------------


def serve(args: argparse.Namespace) -> int:
    from widget_server.app import create_app

    settings = load_settings(host=args.host, port=args.port)
    with_database(settings, lambda engine: ensure_schema(engine, settings))
    return run_server(create_app(settings), settings)


def migrate(args: argparse.Namespace) -> int:
    from widget_server.db import migrate as migrations

    settings = load_settings()

    async def work(engine: AsyncEngine) -> bool:
        was_pending = await migrations.pending(engine)
        if was_pending:
            await migrations.upgrade(engine)
        return was_pending

    applied = with_database(settings, work)
    state = "migrated to the newest schema" if applied else "already up to date"
    print(f"Database {database_label(settings)}: {state}.")
    return 0


def ask_password(given: str | None) -> str:
    if given is not None:
        return given
    if not sys.stdin.isatty():
        raise CommandError("give --password (there is no terminal to ask for one)", 2)
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password (again): ") != first:
        raise CommandError("the two passwords are not the same")
    return first


def create_user(args: argparse.Namespace) -> int:
    from widget_server.accounts import service as accounts
    from widget_server.accounts.models import User

    settings = load_settings()
    password = ask_password(args.password)

    async def work(engine: AsyncEngine) -> User:
        await ensure_schema(engine, settings)
        return await accounts.create_user(
            engine, email=args.email, name=args.name, password=password, is_staff=args.staff
        )

    user = with_database(settings, work)
    staff = " (instance staff)" if user.is_staff else ""
    print(f"Created user {user.email}{staff}.")
    return 0


def create_site(args: argparse.Namespace) -> int:
    from widget_server.accounts import service as accounts
    from widget_server.accounts.models import Site
    from widget_server.widgets.snippet import snippet

    settings = load_settings()

    async def work(engine: AsyncEngine) -> Site:
        await ensure_schema(engine, settings)
        owner = await accounts.user_by_email(engine, args.owner_email)
        if owner is None:
            raise CommandError(
                f"no user has the e-mail {args.owner_email}: create one with `vitrine create-user`"
            )
        return await accounts.create_site(
            engine,
            name=args.name,
            owner=owner,
            allowed_origins=args.origin,
            time_zone=args.time_zone,
            default_language=args.language,
        )

    site = with_database(settings, work)
    print(f"Created site {site.name!r} owned by {args.owner_email}.")
    print(f"Site key: {site.key}")
    print("Paste this counter code into every page of the site, inside <head>:")
    print()
    print(snippet(settings.base_url, site.key))
    return 0


def demo(args: argparse.Namespace) -> int:
    from widget_server import demo as demo_site
    from widget_server.app import create_app
    from widget_server.db import migrate as migrations

    settings = load_settings(port=args.port)
    landing_dir = settings.landing_dir or demo_site.EXAMPLE_LANDING
    if not landing_dir.is_dir():
        raise CommandError(f"the demo pages are missing: {landing_dir} is not a directory", 2)

    async def work(engine: AsyncEngine) -> demo_site.Site:
        await migrations.upgrade(engine)
        return await demo_site.seed(engine, settings)

    site = with_database(settings, work)
    settings = replace(settings, landing_dir=landing_dir, landing_site=site.key)
    print(demo_site.banner(settings, site), flush=True)
    return run_server(create_app(settings), settings)


# --- arguments -------------------------------------------------------------------------------


def port_number(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is between 1 and 65535, not {port}")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vitrine",
        description="Vitrine: a self-hosted counter + multiwidget service. "
        "Settings come from VITRINE_* environment variables (see README.md).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("serve", help="run the web service")
    run.add_argument("--host", help="address to listen on (default: VITRINE_HOST or 127.0.0.1)")
    run.add_argument("--port", type=port_number, help="port (default: VITRINE_PORT or 8000)")
    run.set_defaults(handler=serve)

    commands.add_parser("migrate", help="bring the database schema up to date").set_defaults(
        handler=migrate
    )

    user = commands.add_parser("create-user", help="create a user who can log in to the console")
    user.add_argument("--email", required=True)
    user.add_argument("--name", required=True)
    user.add_argument("--password", help="asked twice on the terminal when left out")
    user.add_argument("--staff", action="store_true", help="instance staff: sees every site")
    user.set_defaults(handler=create_user)

    site = commands.add_parser("create-site", help="create a site and print its counter code")
    site.add_argument("--name", required=True)
    site.add_argument("--owner-email", required=True, help="an existing user's e-mail")
    site.add_argument(
        "--origin",
        action="append",
        default=[],
        metavar="URL",
        help="an origin the site's pages are served from, like https://shop.example.com "
        "(repeat for several)",
    )
    site.add_argument("--time-zone", default="UTC", help="like Europe/Paris (default: UTC)")
    site.add_argument("--language", choices=LANGUAGES, default="en", help="default: en")
    site.set_defaults(handler=create_site)

    show = commands.add_parser(
        "demo", help="migrate, seed a demo site and serve it with the example landing page"
    )
    show.add_argument("--port", type=port_number, help="port (default: VITRINE_PORT or 8000)")
    show.set_defaults(handler=demo)
    return parser


def describe(error: VitrineError) -> str:
    """A service error as one line, naming the option at fault when there is exactly one."""
    fields = [d.get("field") for d in error.details]
    if len(fields) == 1 and fields[0] in _OPTIONS:
        return f"{_OPTIONS[fields[0]]}: {error.message}"
    return str(error.message)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)-8s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except SettingsError as exc:
        return fail(str(exc), 2)
    except CommandError as exc:
        return fail(exc.message, exc.status)
    except VitrineError as exc:
        return fail(describe(exc), 1)
    except KeyboardInterrupt:
        return 130


def fail(message: str, status: int) -> int:
    print(f"vitrine: {message}", file=sys.stderr)
    return status
