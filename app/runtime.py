"""What a process needs at hand to run services: settings, the database, WeChat, token and
photo-link signing, and the rate limits."""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path

from app.core.config import Settings
from app.core.db import Database, make_engine
from app.core.ratelimit import RateLimits, build_storage
from app.core.tokens import PhotoLinkSigner, TokenSigner
from app.wechat.client import WeChatClientGateway
from app.wechat.gateway import WeChatGateway

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    """Shared, thread-safe parts; one per process (API, jobs, CLI)."""

    settings: Settings
    db: Database
    wechat: WeChatGateway
    tokens: TokenSigner
    photo_links: PhotoLinkSigner
    #: Counted in Redis or the database, so every process sees the same counts.
    rate_limits: RateLimits
    #: Set when the process is asked to stop (SIGTERM in `linli jobs`): long-running work finishes
    #: what it holds and gives the rest back (the outbox delivery does).
    stopping: threading.Event = field(default_factory=threading.Event)


def _signing_key(settings: Settings) -> str:
    if settings.auth.secret_key:
        return settings.auth.secret_key
    # Development only (production refuses to start without the key): keep one random key per
    # checkout so that tokens survive restarts without anyone writing a secret into a file by hand.
    path: Path = settings.var_path / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key, encoding="utf-8")
    path.chmod(0o600)
    log.warning("auth.secret_key is not set: generated a development key in %s", path)
    return key


def build_runtime(settings: Settings, *, wechat: WeChatGateway | None = None) -> Runtime:
    """Create the runtime for ``settings``; ``wechat`` replaces the HTTP gateway where needed."""
    engine = make_engine(
        settings.database_url,
        busy_timeout_seconds=settings.database.sqlite_busy_timeout_seconds,
        pool_size=settings.database.pool_size,
        pool_pre_ping=settings.database.pool_pre_ping,
        pool_recycle_seconds=settings.database.pool_recycle_seconds,
        echo=settings.database.echo,
    )
    key = _signing_key(settings)
    db = Database(engine)
    return Runtime(
        settings=settings,
        db=db,
        wechat=wechat or WeChatClientGateway(settings),
        tokens=TokenSigner(key, ttl_seconds=settings.auth.token_ttl_hours * 3600),
        # The same key under another salt (app/core/tokens.py): one secret to set and rotate.
        photo_links=PhotoLinkSigner(key, minutes=settings.uploads.link_minutes),
        rate_limits=RateLimits(settings, build_storage(settings, db)),
    )
