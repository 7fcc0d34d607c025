"""Settings, read once from the environment (``VITRINE_*``).

Every value is checked here; a bad one raises :class:`SettingsError` whose message is one line
naming the variable and what is wrong, so ``vitrine serve`` can print it and stop.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger(__name__)

LANGUAGES = ("en", "fr", "ru")
_SITE_KEY = re.compile(r"^[a-z0-9]{6,64}$")


class SettingsError(ValueError):
    """A setting has a value the service cannot run with."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool  # implicit TLS (smtps://)
    start_tls: bool


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    env: str = "development"
    redis_url: str | None = None
    smtp: SmtpSettings | None = None
    mail_from: str = "Vitrine <no-reply@localhost>"
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None  # another host for Stripe's API (a test double)
    auto_migrate: bool = True
    run_jobs: bool = True
    max_body_bytes: int = 10 * 1024 * 1024
    data_dir: Path = field(default_factory=lambda: Path("var"))
    landing_dir: Path | None = None
    landing_site: str | None = None  # the site whose snippet the landing pages carry

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        mode = get("VITRINE_ENV") or "development"
        if mode not in ("development", "production"):
            raise SettingsError(f"VITRINE_ENV must be 'development' or 'production', not {mode!r}")
        data_dir = Path(get("VITRINE_DATA_DIR") or "var")
        database_url = _database_url(get("VITRINE_DATABASE_URL"), data_dir)
        port = _integer(get("VITRINE_PORT"), "VITRINE_PORT", 8000, low=1, high=65535)
        host = get("VITRINE_HOST") or "127.0.0.1"
        base_url = _http_url(get("VITRINE_BASE_URL") or f"http://{host}:{port}", "VITRINE_BASE_URL")
        redis_url = get("VITRINE_REDIS_URL")
        if redis_url and urlsplit(redis_url).scheme not in ("redis", "rediss", "unix"):
            raise SettingsError(
                f"VITRINE_REDIS_URL must start with redis://, rediss:// or unix://, "
                f"not {redis_url!r}"
            )
        landing = get("VITRINE_LANDING_DIR")
        landing_dir = Path(landing) if landing else None
        if landing_dir is not None and not landing_dir.is_dir():
            raise SettingsError(f"VITRINE_LANDING_DIR is not a directory: {landing!r}")
        landing_site = get("VITRINE_LANDING_SITE")
        if landing_site is not None and not _SITE_KEY.match(landing_site):
            raise SettingsError(
                "VITRINE_LANDING_SITE must be a site key such as k3x9mz2qpw7a, "
                f"not {landing_site!r}"
            )
        smtp = parse_smtp_url(get("VITRINE_SMTP_URL"))
        auto_migrate = _flag(get("VITRINE_AUTO_MIGRATE"), "VITRINE_AUTO_MIGRATE", True)
        run_jobs = _flag(get("VITRINE_RUN_JOBS"), "VITRINE_RUN_JOBS", True)
        max_body_bytes = _integer(
            get("VITRINE_MAX_BODY_BYTES"),
            "VITRINE_MAX_BODY_BYTES",
            10 * 1024 * 1024,
            low=1024,
            high=1024**3,
        )
        # Last, so a bad value elsewhere stops start-up before a key file is written.
        secret_key = _secret_key(get("VITRINE_SECRET_KEY"), mode, data_dir)
        return cls(
            database_url=database_url,
            secret_key=secret_key,
            base_url=base_url,
            host=host,
            port=port,
            env=mode,
            redis_url=redis_url,
            smtp=smtp,
            mail_from=get("VITRINE_MAIL_FROM") or "Vitrine <no-reply@localhost>",
            stripe_secret_key=get("STRIPE_SECRET_KEY"),
            stripe_webhook_secret=get("STRIPE_WEBHOOK_SECRET"),
            stripe_api_base=_http_url(get("STRIPE_API_BASE"), "STRIPE_API_BASE") or None,
            auto_migrate=auto_migrate,
            run_jobs=run_jobs,
            max_body_bytes=max_body_bytes,
            data_dir=data_dir,
            landing_dir=landing_dir,
            landing_site=landing_site,
        )


def _integer(raw: str | None, name: str, default: int, *, low: int, high: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _http_url(raw: str | None, name: str) -> str:
    """An absolute http(s) URL without its trailing slash; "" when unset."""
    if not raw:
        return ""
    url = raw.rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(
            f"{name} must be an absolute http(s) URL such as https://chat.example.com, not {url!r}"
        )
    return url


def _flag(raw: str | None, name: str, default: bool) -> bool:
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be 1 or 0, not {raw!r}")


def _database_url(raw: str | None, data_dir: Path) -> str:
    if raw is None:
        return f"sqlite+aiosqlite:///{data_dir / 'vitrine.db'}"
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    aliases = {
        "sqlite": "sqlite+aiosqlite",
        "postgres": "postgresql+asyncpg",
        "postgresql": "postgresql+asyncpg",
    }
    if scheme in aliases:
        return aliases[scheme] + raw[len(scheme) :]
    if scheme in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        return raw
    raise SettingsError(
        "VITRINE_DATABASE_URL must be a sqlite:///path or postgresql://user@host/db URL, "
        f"not {raw!r}"
    )


def _secret_key(raw: str | None, mode: str, data_dir: Path) -> str:
    if raw is not None:
        if len(raw) < 32:
            raise SettingsError("VITRINE_SECRET_KEY must be at least 32 characters long")
        return raw
    if mode == "production":
        raise SettingsError(
            "VITRINE_SECRET_KEY must be set when VITRINE_ENV=production "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key + "\n")
    path.chmod(0o600)
    log.warning("VITRINE_SECRET_KEY is not set: generated one into %s", path)
    return key


def parse_smtp_url(raw: str | None) -> SmtpSettings | None:
    """``smtp://user:pass@host:587?starttls=1`` or ``smtps://host:465``."""
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise SettingsError(
            f"VITRINE_SMTP_URL must look like smtp://user:pass@host:587?starttls=1, not {raw!r}"
        )
    try:
        port = parts.port
    except ValueError:
        raise SettingsError(f"VITRINE_SMTP_URL has a bad port: {raw!r}") from None
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    start_tls = _flag(query.get("starttls"), "VITRINE_SMTP_URL starttls", False)
    use_tls = parts.scheme == "smtps"
    if use_tls and start_tls:
        raise SettingsError("VITRINE_SMTP_URL cannot use both smtps:// and starttls=1")
    return SmtpSettings(
        host=parts.hostname,
        port=port or (465 if use_tls else 587 if start_tls else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=use_tls,
        start_tls=start_tls,
    )
