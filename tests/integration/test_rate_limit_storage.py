"""Where rate limits count, and that the count holds across processes: the database storage's
atomic upsert (threads, two engines, two `linli serve` processes), its windows and pruning, Redis
(skipped when 127.0.0.1:6379 does not answer), and a Redis that is down (requests pass)."""

from __future__ import annotations

import logging
import os
import random
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import requests
import sqlalchemy as sa
import time_machine
from limits import parse
from limits.storage import MemoryStorage, RedisStorage

from app.core import ratelimit
from app.core.clock import now_utc
from app.core.config import PROJECT_ROOT, Settings
from app.core.db import Database, make_engine
from app.core.errors import RateLimitedError
from app.core.migrate import alembic_config
from app.core.ratelimit import DatabaseStorage, RateLimitCounter, RateLimits, build_storage
from app.runtime import Runtime
from tests.conftest import make_settings
from tests.dbutil import fresh_database_url
from wechat_sim import SimulatorServer

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_or_skip() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")


def _settings(rt: Runtime, tmp_path: Path, **limits: object) -> Settings:
    redis_url = limits.pop("redis_url", "")
    return make_settings(
        rt.settings.database_url,
        rt.settings.wechat.api_base,
        tmp_path,
        limits={"enabled": True, **limits},
        redis={"url": redis_url},
    )


@pytest.fixture
def second_db(rt: Runtime) -> Iterator[Database]:
    """Another engine on the test database: what a second process would have."""
    db = Database(make_engine(rt.settings.database_url))
    yield db
    db.dispose()


def test_the_database_counter_counts_every_hit_of_racing_threads_and_engines(rt: Runtime, second_db: Database) -> None:
    storages = [DatabaseStorage(rt.db), DatabaseStorage(second_db)]
    seen: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def hammer(index: int) -> None:
        storage = storages[index % 2]
        barrier.wait(timeout=30)
        for _ in range(25):
            hits = storage.incr("race", 60)
            with lock:
                seen.append(hits)

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Atomic: each hit saw its own count, none was lost or counted twice.
    assert sorted(seen) == list(range(1, 201))
    assert storages[1].get("race") == 200


def test_a_window_that_ended_starts_again_at_one(rt: Runtime) -> None:
    storage = DatabaseStorage(rt.db)
    assert [storage.incr("w", 60) for _ in range(3)] == [1, 2, 3]
    ends = storage.get_expiry("w")
    assert 59 <= ends - now_utc().timestamp() <= 60
    with time_machine.travel(now_utc() + timedelta(seconds=61)):
        assert storage.get("w") == 0  # the old window no longer counts
        assert storage.incr("w", 60) == 1
        assert storage.get_expiry("w") > ends
    storage.clear("w")
    assert storage.get("w") == 0
    assert storage.check()


def test_expired_windows_are_pruned_on_the_way(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "PRUNE_EVERY", 2)
    storage = DatabaseStorage(rt.db)
    storage.incr("old", 1)
    with time_machine.travel(now_utc() + timedelta(seconds=5)):
        storage.incr("new", 60)  # the second hit of this process prunes
    with rt.db.read() as session:
        assert session.scalars(sa.select(RateLimitCounter.bucket)).all() == ["new"]
    assert storage.reset() == 1


def test_the_storage_follows_the_settings(rt: Runtime, tmp_path: Path) -> None:
    assert isinstance(build_storage(_settings(rt, tmp_path), rt.db), DatabaseStorage)
    assert isinstance(build_storage(_settings(rt, tmp_path, storage="memory"), rt.db), MemoryStorage)
    assert isinstance(build_storage(_settings(rt, tmp_path, redis_url=REDIS_URL), rt.db), RedisStorage)
    forced = _settings(rt, tmp_path, redis_url=REDIS_URL, storage="database")
    assert isinstance(build_storage(forced, rt.db), DatabaseStorage)
    assert build_storage(_settings(rt, tmp_path, enabled=False), rt.db) is None


def _unique_limit(amount: int) -> str:
    """A window length no other run uses, so that Redis keys of other runs cannot interfere."""
    return f"{amount} per {random.randint(100_000, 999_999)} seconds"  # noqa: S311 - not a secret


def test_redis_counts_refuse_past_the_limit(rt: Runtime, tmp_path: Path) -> None:
    _redis_or_skip()
    limits = RateLimits(_settings(rt, tmp_path, claim_per_user="2/second"), RedisStorage(REDIS_URL))
    caller, other = uuid.uuid4().hex, uuid.uuid4().hex
    limits.hit("claim_per_user", caller)
    limits.hit("claim_per_user", caller)
    with pytest.raises(RateLimitedError) as refused:
        limits.hit("claim_per_user", caller)
    assert refused.value.retry_after == 1
    assert refused.value.details == {"retry_after": 1}
    limits.hit("claim_per_user", other)
    time.sleep(1.1)
    limits.hit("claim_per_user", caller)


def test_a_redis_that_is_down_lets_requests_through(
    rt: Runtime, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = _settings(rt, tmp_path, redis_url=f"redis://127.0.0.1:{port}/0", claim_per_user="1/minute")
    limits = RateLimits(settings, build_storage(settings, rt.db))
    with caplog.at_level(logging.WARNING, logger="app.core.ratelimit"):
        for _ in range(3):
            limits.hit("claim_per_user", "someone")
    assert "rate limit store unavailable" in caplog.text


# -- two API processes ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "linli serve exited early"
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        # A read timeout too: the master accepts connections before its workers have imported
        # the app, which took 7 s on a loaded machine.
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)
    pytest.fail(f"{base} did not answer within 60 s")


@pytest.mark.parametrize("storage", ["database", "redis"])
def test_the_login_limit_holds_across_two_serve_processes(
    storage: str, tmp_path: Path, simulator: SimulatorServer
) -> None:
    """Two `linli serve` processes (one of them with two gunicorn workers) on one database: the
    ten logins from one address, spread over both, get exactly the limit's six through."""
    if storage == "redis":
        _redis_or_skip()
    from alembic import command

    url = fresh_database_url(tmp_path, "limits")
    command.upgrade(alembic_config(url), "head")
    limit = _unique_limit(6)
    env = {
        **os.environ,
        "LINLI_DATABASE__URL": url,
        "LINLI_APP__VAR_DIR": str(tmp_path),
        "LINLI_APP__LOG_LEVEL": "WARNING",
        "LINLI_AUTH__SECRET_KEY": "two-processes",
        "LINLI_WECHAT__API_BASE": simulator.base_url,
        "LINLI_WECHAT__WECOM_API_BASE": simulator.base_url,
        "LINLI_LIMITS__ENABLED": "true",
        "LINLI_LIMITS__STORAGE": storage,
        "LINLI_LIMITS__LOGIN_PER_IP": limit,
        "LINLI_REDIS__URL": REDIS_URL if storage == "redis" else "",
    }
    linli = Path(sys.executable).parent / "linli"
    ports = [_free_port(), _free_port()]
    processes = [
        subprocess.Popen(  # noqa: S603 - our own console script
            [str(linli), "serve", "--workers", str(workers), "--threads", "2"],
            cwd=PROJECT_ROOT,
            env={**env, "LINLI_SERVER__PORT": str(port)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port, workers in zip(ports, (2, 1), strict=True)
    ]
    try:
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for base, process in zip(bases, processes, strict=True):
            _wait_ready(base, process)
        answers: Counter[int] = Counter()
        for i in range(10):
            # A new connection each time, so that gunicorn's workers take turns as well.
            response = requests.post(
                f"{bases[i % 2]}/api/v1/auth/login",
                json={"code": f"sim:crowd-{i}#{uuid.uuid4().hex[:6]}"},
                headers={"Connection": "close"},
                timeout=30,
            )
            answers[response.status_code] += 1
            if response.status_code == 429:
                assert int(response.headers["Retry-After"]) >= 1
                assert response.json()["error"]["code"] == "rate_limited"
        assert answers == Counter({200: 6, 429: 4})
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=15)
        if storage == "redis":
            key = parse(limit).key_for("linli", "login_per_ip", "127.0.0.1")
            redis.Redis.from_url(REDIS_URL).delete(f"linli:limits:{key}")
