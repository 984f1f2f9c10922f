"""Claim-race benchmark: N volunteers claim one pooled order at the same instant, over real HTTP.

What it measures (the claim-race goals in docs/operations.md, on this machine):

* correctness under contention: per round exactly one ``200``, the rest ``409 already_claimed``,
  no other 4xx, no 5xx (on SQLite: no "database is locked"), no transport errors;
* throughput of the contended write: claims/s = requests of a round ÷ wall time from the barrier
  release to the last answer, and the p50/p99 latency of one claim request;
* a same-run baseline: the same number of ``GET /healthz`` requests at the same concurrency, over
  the same warm keep-alive connections and the same server, and the ratio
  ``claims/s ÷ healthz req/s``. Absolute figures move with the machine; the ratio is the figure
  to compare between runs (how much the claim costs above the bare framework path).

Everything happens in this process and on 127.0.0.1: a fresh database (a SQLite file in a temp
dir, or a new database beside the given PostgreSQL URL, dropped at the end), ``alembic upgrade
head``, the WeChat simulator, and the app under Werkzeug's threaded server (one thread per
connection). Client threads share the GIL and the CPU with the server, so treat the figures as
same-box numbers.

Usage: ``.venv/bin/python bench/claim_race.py [--database-url URL] [--claimers 50] [--rounds 5]``.
Exit status 1 if any round had a number of winners other than one, any 5xx or any request that
got no answer; 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from bench_common import bench_settings, fresh_database
from werkzeug.serving import make_server

from app.areas.catalogue import create_category
from app.areas.models import AreaKind
from app.areas.tree import create_area
from app.core.migrate import upgrade
from app.identity.grants import assign_role
from app.identity.roles import Role
from app.runtime import Runtime, build_runtime
from miniprogram_api import create_app
from wechat_sim import SimulatorServer

REQUEST_TIMEOUT_SECONDS = 60
BARRIER_TIMEOUT_SECONDS = 60
MAX_CLAIMERS = 1000
MAX_ROUNDS = 100
COMMUNITY = "BENCH-SQ"
HTTP_OK = 200
HTTP_CONFLICT = 409
HTTP_CLIENT_ERROR = 400
HTTP_SERVER_ERROR = 500
#: Status recorded for a request that got no HTTP answer (timeout, reset connection).
NO_ANSWER = -1


@dataclass(frozen=True)
class Answer:
    status: int
    code: str
    latency: float
    body: dict[str, Any]


@dataclass
class Burst:
    """The answers of one barrier-released burst and its wall time (release → last answer)."""

    answers: list[Answer]
    wall: float

    @property
    def rate(self) -> float:
        return len(self.answers) / self.wall if self.wall > 0 else 0.0


@dataclass
class Tally:
    ok: int = 0
    already_claimed: int = 0
    other_4xx: int = 0
    server_errors: int = 0
    no_answer: int = 0
    requests: int = 0
    wall: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def add(self, burst: Burst) -> None:
        for answer in burst.answers:
            self.requests += 1
            self.latencies.append(answer.latency)
            if answer.status == HTTP_OK:
                self.ok += 1
            elif answer.status == HTTP_CONFLICT and answer.code == "already_claimed":
                self.already_claimed += 1
            elif answer.status >= HTTP_SERVER_ERROR:
                self.server_errors += 1
            elif answer.status == NO_ANSWER:
                self.no_answer += 1
            elif answer.status >= HTTP_CLIENT_ERROR:
                self.other_4xx += 1
        self.wall += burst.wall

    @property
    def rate(self) -> float:
        return self.requests / self.wall if self.wall > 0 else 0.0


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def latency_text(latencies: list[float]) -> str:
    return f"p50={percentile(latencies, 0.50) * 1000:.1f}ms p99={percentile(latencies, 0.99) * 1000:.1f}ms"


# -- set-up -----------------------------------------------------------------------------------------


@contextmanager
def serving(rt: Runtime) -> Iterator[str]:
    """The app under Werkzeug's threaded server on a free loopback port."""
    server = make_server("127.0.0.1", 0, create_app(runtime=rt), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def seed(rt: Runtime, claimers: int) -> list[str]:
    """One community with a grid and a category, a secretary and ``claimers`` volunteers."""
    openids = [f"vol{i}" for i in range(claimers)]
    with rt.db.write() as session:
        create_area(session, AreaKind.STREET, "BENCH-JD", "压测街道")
        create_area(session, AreaKind.COMMUNITY, COMMUNITY, "压测社区", "BENCH-JD")
        create_area(session, AreaKind.GRID, "BENCH-G1", "压测网格", COMMUNITY)
        create_category(session, COMMUNITY, "grocery", "买菜代购", points=5, sla_hours=24)
        assign_role(session, "bench-secretary", Role.SECRETARY, COMMUNITY)
        for openid in openids:
            assign_role(session, openid, Role.VOLUNTEER, COMMUNITY)
    return openids


def expect(response: requests.Response, *statuses: int) -> dict[str, Any]:
    if response.status_code not in statuses:
        raise SystemExit(
            f"set-up request {response.request.method} {response.url} -> {response.status_code}: {response.text[:300]}"
        )
    body: dict[str, Any] = response.json()
    return body


def login(base: str, openid: str) -> requests.Session:
    """A session (its own keep-alive connection) logged in as ``openid`` through the API."""
    session = requests.Session()
    code = f"sim:{openid}#{uuid.uuid4().hex[:8]}"
    body = expect(session.post(f"{base}/api/v1/auth/login", json={"code": code}, timeout=REQUEST_TIMEOUT_SECONDS), 200)
    session.headers["Authorization"] = f"Bearer {body['token']}"
    return session


def pooled_order(base: str, resident: requests.Session, secretary: requests.Session) -> int:
    body = {"community": COMMUNITY, "category": "grocery", "title": "帮忙买菜", "description": "压测工单"}
    created = expect(resident.post(f"{base}/api/v1/orders", json=body, timeout=REQUEST_TIMEOUT_SECONDS), 200, 201)
    order_id: int = created["order"]["id"]
    url = f"{base}/api/v1/orders/{order_id}/dispatch"
    expect(secretary.post(url, json={"pool": True}, timeout=REQUEST_TIMEOUT_SECONDS), 200)
    return order_id


# -- the race ---------------------------------------------------------------------------------------


def sender(
    method: str, url: str, body: dict[str, Any] | None = None
) -> Callable[[requests.Session], requests.Response]:
    """One request of a burst: ``method url`` with an optional JSON body, on the given session."""

    def send(session: requests.Session) -> requests.Response:
        return session.request(method, url, json=body, timeout=REQUEST_TIMEOUT_SECONDS)

    return send


def burst(sessions: list[requests.Session], send: Callable[[requests.Session], requests.Response]) -> Burst:
    """Release one request per session at the same instant; bounded by the timeouts above."""
    started: list[float] = []
    barrier = threading.Barrier(len(sessions), action=lambda: started.append(time.perf_counter()))
    answers: list[Answer | None] = [None] * len(sessions)
    finished: list[float] = [0.0] * len(sessions)

    def one(index: int) -> None:
        barrier.wait(timeout=BARRIER_TIMEOUT_SECONDS)
        begin = time.perf_counter()
        try:
            response = send(sessions[index])
        except requests.RequestException as exc:
            finished[index] = time.perf_counter()
            answers[index] = Answer(NO_ANSWER, type(exc).__name__, finished[index] - begin, {})
            return
        finished[index] = time.perf_counter()
        try:
            body = response.json()
        except ValueError:
            body = {}
        error = body.get("error") if isinstance(body, dict) else None
        code = str(error.get("code", "")) if isinstance(error, dict) else ""
        answers[index] = Answer(response.status_code, code, finished[index] - begin, body)

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(sessions))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + BARRIER_TIMEOUT_SECONDS + REQUEST_TIMEOUT_SECONDS + 10
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in threads) or not started:
        raise SystemExit("a burst did not finish in time")
    got = [answer for answer in answers if answer is not None]
    return Burst(got, max(finished) - started[0])


def round_line(label: str, tally: Tally) -> str:
    return (
        f"{label}: 200={tally.ok} 409_already_claimed={tally.already_claimed} other_4xx={tally.other_4xx} "
        f"5xx={tally.server_errors} no_answer={tally.no_answer} | {tally.requests} req in {tally.wall:.3f}s "
        f"= {tally.rate:.0f} claims/s, {latency_text(tally.latencies)}"
    )


def run(args: argparse.Namespace, tmp_dir: Path) -> int:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access line per request
    simulator = SimulatorServer(host="127.0.0.1", port=0)
    api_base = simulator.start()
    try:
        with fresh_database(args.database_url, tmp_dir, "bench") as url:
            settings = bench_settings(url, api_base, tmp_dir / "var", timeout_seconds=5)
            upgrade(settings)
            rt = build_runtime(settings)
            try:
                return race(rt, args.claimers, args.rounds)
            finally:
                rt.db.dispose()
    finally:
        simulator.stop()


def race(rt: Runtime, claimers: int, rounds: int) -> int:
    openids = seed(rt, claimers)
    print(f"database: {rt.db.engine.dialect.name}, claimers: {claimers}, rounds: {rounds}")
    sessions: list[requests.Session] = []
    failed = False
    claims_total, health_total = Tally(), Tally()
    with serving(rt) as base:
        try:
            resident = login(base, "bench-resident")
            sessions.append(resident)
            household = {"community": COMMUNITY, "grid": "BENCH-G1", "building": "1", "unit": "1", "room": "101"}
            expect(resident.put(f"{base}/api/v1/me/household", json=household, timeout=REQUEST_TIMEOUT_SECONDS), 200)
            secretary = login(base, "bench-secretary")
            sessions.append(secretary)
            volunteers = [login(base, openid) for openid in openids]
            sessions.extend(volunteers)
            # Also opens every volunteer's keep-alive connection before the first burst.
            ids = [expect(s.get(f"{base}/api/v1/me", timeout=REQUEST_TIMEOUT_SECONDS), 200)["id"] for s in volunteers]

            for number in range(1, rounds + 1):
                order_id = pooled_order(base, resident, secretary)
                claims = burst(volunteers, sender("POST", f"{base}/api/v1/orders/{order_id}/claim", {}))
                health = burst(volunteers, sender("GET", f"{base}/healthz"))
                tally, health_tally = Tally(), Tally()
                tally.add(claims)
                health_tally.add(health)
                claims_total.add(claims)
                health_total.add(health)
                winners = [i for i, answer in enumerate(claims.answers) if answer.status == HTTP_OK]
                note = ""
                if len(winners) == 1:
                    assignee = claims.answers[winners[0]].body["order"]["assignee"]["id"]
                    if assignee != ids[winners[0]]:
                        note = f"  WRONG ASSIGNEE {assignee} != {ids[winners[0]]}"
                        failed = True
                else:
                    note = f"  {len(winners)} WINNERS"
                    failed = True
                if tally.server_errors or tally.no_answer:
                    failed = True
                print(round_line(f"round {number} (order {order_id})", tally) + note)
                print(
                    f"  healthz baseline: {health_tally.requests} req in {health_tally.wall:.3f}s "
                    f"= {health_tally.rate:.0f} req/s, {latency_text(health_tally.latencies)}, "
                    f"non-200={health_tally.requests - health_tally.ok}"
                )
        finally:
            for session in sessions:
                session.close()

    print(round_line("total", claims_total))
    print(
        f"healthz total: {health_total.requests} req in {health_total.wall:.3f}s = {health_total.rate:.0f} req/s, "
        f"{latency_text(health_total.latencies)}"
    )
    ratio = claims_total.rate / health_total.rate if health_total.rate else 0.0
    print(f"ratio claims/s ÷ healthz req/s (same run, same concurrency {claimers}): {ratio:.3f}")
    print("RESULT: " + ("FAIL" if failed else "ok (one winner per round, no 5xx, every request answered)"))
    return 1 if failed else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--database-url",
        default="",
        help="PostgreSQL URL: a fresh database is created beside it and dropped afterwards. "
        "Default: a SQLite file in a temporary directory.",
    )
    parser.add_argument("--claimers", type=int, default=50, help="simultaneous claimers per round (default 50)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, one new pooled order each (default 5)")
    args = parser.parse_args(argv)
    if not 1 <= args.claimers <= MAX_CLAIMERS:
        parser.error(f"--claimers must be between 1 and {MAX_CLAIMERS}")
    if not 1 <= args.rounds <= MAX_ROUNDS:
        parser.error(f"--rounds must be between 1 and {MAX_ROUNDS}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="linli-bench-") as tmp:
        return run(args, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
