"""Rate limits that hold across every API process: the `limits` library's fixed windows, counted
in Redis when ``redis.url`` is set and in the database otherwise.

`limits` ships Redis, Memcached, MongoDB and memory storages but none on SQL, and a memory
storage counts per process (two gunicorn workers would allow twice every limit), so
:class:`DatabaseStorage` keeps the counters in the ``rate_limit_counters`` table: one atomic
upsert per hit (``INSERT … ON CONFLICT DO UPDATE … RETURNING``, the same statement on SQLite ≥ 3.35
and PostgreSQL), so two processes hitting one counter at once both count.

The fixed window is the one strategy all three storages share; it lets a burst of up to twice a
limit straddle a window's edge, which is acceptable for limits meant to stop floods, not to meter.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import cast

import sqlalchemy as sa
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import now_utc
from app.core.config import RATE_LIMIT_KEYS, Settings
from app.core.db import Base, Database
from app.core.errors import RateLimitedError

log = logging.getLogger(__name__)

#: Seconds a Redis call may take before the limiter gives up on it (and lets the request through).
REDIS_TIMEOUT_SECONDS = 0.5
#: Every this many hits, a process deletes the expired counters on the way.
PRUNE_EVERY = 256


class RateLimitCounter(Base):
    """One fixed window of one limit for one caller (an address, a user, an openid)."""

    __tablename__ = "rate_limit_counters"

    #: The `limits` key: "LIMITER/linli/<limit name>/<caller>/<amount>/<multiples>/<granularity>".
    bucket: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    #: Hits counted in the window, refused ones included.
    hits: Mapped[int] = mapped_column(sa.Integer())
    #: When the window ends; a hit after it starts a new window in the same row.
    expires_at: Mapped[datetime] = mapped_column(index=True)


#: Core statements on the table: the upsert has no ORM form, and the counters are never loaded as objects.
_TABLE = cast(sa.Table, RateLimitCounter.__table__)


class DatabaseStorage(Storage):
    """A `limits` storage for fixed windows on Linli's own database (SQLite or PostgreSQL).

    Time is the project clock (``now_utc``), so tests move it with time-machine.
    """

    STORAGE_SCHEME = None  # built from a Database, never from a URI string

    def __init__(self, db: Database) -> None:
        super().__init__(wrap_exceptions=True)
        self._engine = db.engine
        # BEGIN IMMEDIATE on SQLite (app/core/db.py): the upsert needs the write lock anyway.
        self._writer = db.engine.execution_options(linli_write=True)
        self._insert = sqlite.insert if db.is_sqlite else postgresql.insert
        self._hits = itertools.count(1)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sa.exc.SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = now_utc()
        new = self._insert(_TABLE).values(bucket=key, hits=amount, expires_at=now + timedelta(seconds=expiry))
        # Evaluated against the row as it was: an ended window starts again at `amount`.
        ended = _TABLE.c.expires_at <= now
        upsert = new.on_conflict_do_update(
            index_elements=[_TABLE.c.bucket],
            set_={
                "hits": sa.case((ended, new.excluded.hits), else_=_TABLE.c.hits + new.excluded.hits),
                "expires_at": sa.case((ended, new.excluded.expires_at), else_=_TABLE.c.expires_at),
            },
        ).returning(_TABLE.c.hits)
        with self._writer.begin() as conn:
            hits = int(conn.execute(upsert).scalar_one())
            if next(self._hits) % PRUNE_EVERY == 0:
                conn.execute(sa.delete(_TABLE).where(_TABLE.c.expires_at <= now))
        return hits

    def _row(self, key: str) -> tuple[int, datetime] | None:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(_TABLE.c.hits, _TABLE.c.expires_at).where(_TABLE.c.bucket == key)).first()
        if row is None or row.expires_at <= now_utc():
            return None
        return int(row.hits), row.expires_at

    def get(self, key: str) -> int:
        row = self._row(key)
        return 0 if row is None else row[0]

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return (row[1] if row is not None else now_utc()).timestamp()

    def check(self) -> bool:
        try:
            with self._engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self._writer.begin() as conn:
            return int(conn.execute(sa.delete(_TABLE)).rowcount)

    def clear(self, key: str) -> None:
        with self._writer.begin() as conn:
            conn.execute(sa.delete(_TABLE).where(_TABLE.c.bucket == key))


def build_storage(settings: Settings, db: Database) -> Storage | None:
    """The storage ``[limits]`` asks for; None when limits are off."""
    choice = settings.limits.storage
    if not settings.limits.enabled:
        return None
    if choice == "memory":
        return MemoryStorage()
    if choice == "redis" or (choice == "auto" and settings.redis.url):
        return RedisStorage(
            settings.redis.url,
            key_prefix="linli:limits",
            wrap_exceptions=True,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
    return DatabaseStorage(db)


class RateLimits:
    """The limits of ``[limits]``, each by name (``login_per_ip`` …), over one storage.

    Thread-safe: one per process, in the Runtime.
    """

    def __init__(self, settings: Settings, storage: Storage | None, *, clock: Callable[[], datetime] = now_utc) -> None:
        self._storage = storage
        self._limiter = FixedWindowRateLimiter(storage) if storage is not None else None
        self._items: dict[str, list[RateLimitItem]] = {
            name: parse_many(settings.limits.limit(name)) for name in RATE_LIMIT_KEYS
        }
        self._clock = clock

    @property
    def enabled(self) -> bool:
        return self._limiter is not None

    @property
    def storage(self) -> Storage | None:
        return self._storage

    def hit(self, name: str, caller: str) -> None:
        """Count one request of ``caller`` against limit ``name``.

        Raises RateLimitedError with the seconds to wait when any window of the limit is full.
        A storage that cannot be reached lets the request through (logged): a Redis outage must
        not stop people logging in.
        """
        if self._limiter is None:
            return
        items = self._items[name]  # KeyError for a name that is not a key of [limits]: a bug
        try:
            for item in items:
                if not self._limiter.hit(item, "linli", name, caller):
                    reset = self._limiter.get_window_stats(item, "linli", name, caller).reset_time
                    wait = max(1, math.ceil(reset - self._clock().timestamp()))
                    raise RateLimitedError(retry_after=wait)
        except StorageError:
            log.warning("rate limit store unavailable; %s not counted", name, exc_info=True)
