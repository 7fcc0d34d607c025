"""The app factory: ``create_app(settings)`` assembles every feature's routes into one app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route

from widget_server import errorpages, errors, jobs
from widget_server.access import api as access_api
from widget_server.access import console as access_console
from widget_server.access import routes as access_routes
from widget_server.access import service as access
from widget_server.accounts import service as accounts
from widget_server.api import idempotency
from widget_server.api import routes as api_routes
from widget_server.bus import create_bus
from widget_server.chat import console_page as chat_console_page
from widget_server.chat import routes as chat_routes
from widget_server.console import routes as console_routes
from widget_server.counter import report_routes
from widget_server.counter import routes as counter_routes
from widget_server.counter import service as counter
from widget_server.counter.ingest import HitEndpoint
from widget_server.db import migrate
from widget_server.db.engine import checkpoint, create_engine, ping
from widget_server.files import routes as files_routes
from widget_server.landing import LandingPage
from widget_server.middleware import (
    BodyLimitMiddleware,
    ContentSecurityPolicyMiddleware,
    LanguageMiddleware,
    RequestContextMiddleware,
)
from widget_server.outbox import delivery
from widget_server.outbox import routes as outbox_routes
from widget_server.payments import buy as buy_buttons
from widget_server.payments import console as payment_console
from widget_server.payments import pages as payment_pages
from widget_server.payments import routes as payment_routes
from widget_server.runtime import Runtime, runtime
from widget_server.settings import Settings
from widget_server.statics import CachedStaticFiles
from widget_server.widgets import routes as widget_routes

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"
SESSION_COOKIE = "vitrine_session"


class MigrationsPending(RuntimeError):
    """The schema is older than the code and automatic migration is off."""


async def healthz(request: Request) -> JSONResponse:
    try:
        await ping(runtime(request).engine)
    except Exception as exc:  # any failure to answer means "not healthy"
        log.warning("health check: database did not answer: %s", exc)
        return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
    return JSONResponse({"status": "ok"})


async def _checkpoint(state: Runtime) -> None:
    await checkpoint(state.engine)


def build_tasks(state: Runtime) -> list[jobs.PeriodicTask]:
    return [
        jobs.PeriodicTask("outbox", 2.0, lambda: delivery.deliver_due(state)),
        jobs.PeriodicTask(
            "login-failures", 600.0, lambda: accounts.purge_old_login_failures(state.engine)
        ),
        jobs.PeriodicTask(
            "idempotency-keys", 3600.0, lambda: idempotency.purge_expired(state.engine)
        ),
        jobs.PeriodicTask("sqlite-checkpoint", 1.0, lambda: _checkpoint(state)),
    ]


def create_app(settings: Settings) -> Starlette:
    engine = create_engine(settings.database_url)
    state = Runtime(settings=settings, engine=engine, bus=create_bus(settings.redis_url))
    runner = jobs.JobRunner(build_tasks(state))
    access.install(state)  # the access hooks of paid and refunded offer orders

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            if settings.auto_migrate:
                await migrate.upgrade(engine)
            elif await migrate.pending(engine):
                raise MigrationsPending(
                    "the database schema is not up to date: run `vitrine migrate` "
                    "(VITRINE_AUTO_MIGRATE=0 is set)"
                )
            if settings.run_jobs:
                runner.start()
                state.counter.buffer.start(engine)
            await state.chat.start(state.bus)
            yield
        finally:
            await state.chat.stop()
            await runner.stop()
            await state.counter.buffer.stop()
            await counter.flush(state)  # the hits still in memory, before the engine goes
            await state.bus.close()
            await engine.dispose()

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Mount("/static", app=CachedStaticFiles(directory=STATIC_DIR), name="static"),
        *files_routes.routes,
        *console_routes.routes,
        *outbox_routes.routes,
        *counter_routes.routes,
        *report_routes.routes,
        *chat_routes.routes,
        *chat_console_page.routes,
        *widget_routes.routes,
        *payment_routes.routes,
        *access_routes.routes,
        *payment_pages.routes,
        *buy_buttons.routes,
        *payment_console.routes,
        *access_console.routes,
        *api_routes.routes,
        *outbox_routes.api_routes,
        *counter_routes.api_routes,
        *report_routes.api_routes,
        *chat_routes.api_routes,
        *widget_routes.api_routes,
        *payment_routes.api_routes,
        *access_api.api_routes,
        *api_routes.fallback,
    ]
    if settings.landing_dir is not None:
        routes.append(Mount("/", app=LandingPage(settings.landing_dir)))

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(HitEndpoint),  # POST /t/{site_key}: hits skip the layers pages need
            Middleware(RequestContextMiddleware),
            Middleware(ContentSecurityPolicyMiddleware, base_url=settings.base_url),
            Middleware(BodyLimitMiddleware, limit=settings.max_body_bytes),
            Middleware(
                SessionMiddleware,
                secret_key=settings.secret_key,
                session_cookie=SESSION_COOKIE,
                max_age=14 * 24 * 3600,
                same_site="lax",
                https_only=settings.secure_cookies,
            ),
            Middleware(LanguageMiddleware),
        ],
        exception_handlers={
            errors.VitrineError: errorpages.handle_vitrine_error,
            HTTPException: errorpages.handle_http_exception,
            ClientDisconnect: errorpages.handle_client_disconnect,
            Exception: errorpages.handle_unexpected,
        },
        lifespan=lifespan,
    )
    app.state.runtime = state
    app.state.jobs = runner
    return app
