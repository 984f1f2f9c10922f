"""What one request costs the API process: CPU milliseconds, wall milliseconds and SQL statements.

``bench/api.py`` measures throughput under load, which on a shared 2-core machine moves by a factor
of two or three between runs with whatever else runs there. This script measures the other side,
the work each request makes the API process do, which moves far less: it calls the WSGI app
in-process (Flask's test client, one thread, no gunicorn, no sockets) against an already seeded
database, ``--requests`` times per endpoint after a warm-up, and prints per request

* ``cpu ms``: CPU time of this process (``time.process_time``), Linli's Python work plus the
  driver's, not the database server's;
* ``wall ms``: elapsed time, which adds the database server's work and the round trips;
* ``stmts``: SQL statements sent (counted on the engine);
* ``÷healthz``: cpu ms divided by that of ``GET /healthz`` in the same run (the bare Flask path),
  the figure to compare between runs and machines.

Three runs, medians. The same people and endpoints as ``bench/api.py`` (detail, mine, community,
pool, candidates), and the volunteer picker ``volunteers``; ``--create`` adds ``POST /api/v1/orders``,
which writes an order per request.
Tokens are issued directly with the configured signer; the WeChat simulator (content security
of ``create``) runs as a process of its own, so its CPU is not counted.
``--profile ENDPOINT`` prints the functions where that endpoint's time goes (cProfile; `--clock cpu`, the
default, counts this process's CPU time only, `--clock wall` elapsed time).

Usage::

    .venv/bin/python bench/request_cost.py --database-url URL --community CODE \\
        --secretary OPENID --volunteer OPENID --resident OPENID [--requests 300] [--runs 3] \\
        [--create] [--profile detail]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import pstats
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

Call = Callable[[FlaskClient], Any]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _simulator() -> Iterator[str]:
    """The WeChat simulator in a process of its own, so that its CPU is not counted as ours."""
    port = _free_port()
    linli = Path(sys.executable).parent / "linli"
    proc = subprocess.Popen(  # noqa: S603 - our own linli command, no shell
        [str(linli), "wechat-sim", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            time.sleep(0.1)
        else:
            sys.exit("the WeChat simulator did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _build(database_url: str, wechat_base: str) -> Any:
    os.environ["LINLI_DATABASE__URL"] = database_url
    os.environ["LINLI_WECHAT__API_BASE"] = wechat_base
    os.environ["LINLI_WECHAT__WECOM_API_BASE"] = wechat_base
    os.environ.setdefault("LINLI_APP__LOG_LEVEL", "WARNING")
    os.environ["LINLI_LIMITS__ENABLED"] = "false"  # the cost of the endpoint, not of its limits
    from app.core.config import load_settings
    from miniprogram_api.app import create_app

    return create_app(load_settings())


def _token(rt: Any, openid: str) -> dict[str, str]:
    from app.identity.models import User

    with rt.db.read() as session:
        row = session.execute(sa.select(User.id, User.token_generation).where(User.openid == openid)).first()
    if row is None:
        sys.exit(f"no user {openid!r} in this database (seed it with bench/seed.py)")
    return {"Authorization": f"Bearer {rt.tokens.issue(row.id, row.token_generation)}"}


def _first_id(client: FlaskClient, url: str, headers: dict[str, str]) -> int:
    response = client.get(url, headers=headers)
    items = response.get_json().get("items") or []
    if response.status_code != 200 or not items:  # noqa: PLR2004
        sys.exit(f"{url}: {response.status_code}, no order to measure")
    return int(items[0]["id"])


def _endpoints(app: Any, args: argparse.Namespace) -> dict[str, Call]:
    rt = app.extensions["linli"]
    client = app.test_client()
    sec, vol, res = (_token(rt, who) for who in (args.secretary, args.volunteer, args.resident))
    detail_id = _first_id(client, "/api/v1/orders?scope=community&limit=1", sec)
    submitted = _first_id(client, "/api/v1/orders?scope=community&status=submitted&limit=1", sec)
    category = client.get(f"/api/v1/categories?community={args.community}", headers=res).get_json()["items"][0]

    def get(url: str, headers: dict[str, str] | None = None) -> Call:
        return lambda c: c.get(url, headers=headers or {})

    calls: dict[str, Call] = {
        "healthz": get("/healthz"),
        "detail": get(f"/api/v1/orders/{detail_id}", sec),
        "mine": get("/api/v1/orders?scope=mine&limit=20", res),
        "community": get("/api/v1/orders?scope=community&limit=20", sec),
        "pool": get("/api/v1/tasks/pool?limit=20", vol),
        "candidates": get(f"/api/v1/orders/{submitted}/candidates", sec),
        "volunteers": get(f"/api/v1/volunteers?community={args.community}&limit=20", sec),
    }
    if args.create:
        body = {"community": args.community, "category": category["code"], "kind": "service", "title": "代买药品"}
        calls["create"] = lambda c: c.post(
            "/api/v1/orders", json=body, headers={**res, "Idempotency-Key": uuid.uuid4().hex}
        )
    return calls


def _measure(app: Any, call: Call, requests: int) -> tuple[float, float, float]:
    client = app.test_client()
    statements = 0

    def count(*_args: Any) -> None:
        nonlocal statements
        statements += 1

    engine = app.extensions["linli"].db.engine
    for _ in range(max(requests // 10, 5)):  # warm-up: pools, caches, compiled statements
        call(client)
    sa.event.listen(engine, "before_cursor_execute", count)
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        for _ in range(requests):
            response = call(client)
            if response.status_code >= 300:  # noqa: PLR2004
                sys.exit(f"answer {response.status_code}: {response.get_data(as_text=True)[:300]}")
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu * 1000 / requests, wall * 1000 / requests, statements / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--community", required=True)
    parser.add_argument("--secretary", required=True)
    parser.add_argument("--volunteer", required=True)
    parser.add_argument("--resident", required=True)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--create", action="store_true", help="also POST /api/v1/orders (writes orders)")
    parser.add_argument("--only", default="", help="comma-separated endpoints (healthz is always measured)")
    parser.add_argument("--profile", metavar="ENDPOINT", help="print where ENDPOINT's time goes, then stop")
    parser.add_argument("--sort", default="cumulative", help="cProfile order with --profile (e.g. tottime)")
    parser.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="what --profile counts: this process's CPU time (waits on the database left out) or elapsed time",
    )
    args = parser.parse_args()

    with _simulator() as wechat_base:
        _run(args, _build(args.database_url, wechat_base))


def _run(args: argparse.Namespace, app: Any) -> None:
    calls = _endpoints(app, args)
    if args.only:
        wanted = {"healthz", *args.only.split(",")}
        calls = {name: call for name, call in calls.items() if name in wanted}
    if args.profile:
        client = app.test_client()
        for _ in range(20):
            calls[args.profile](client)
        profile = cProfile.Profile(time.process_time if args.clock == "cpu" else time.perf_counter)
        profile.enable()
        for _ in range(args.requests):
            calls[args.profile](client)
        profile.disable()
        pstats.Stats(profile).sort_stats(args.sort).print_stats(40)
        return

    figures: dict[str, list[tuple[float, float, float]]] = {name: [] for name in calls}
    for run in range(1, args.runs + 1):
        for name, call in calls.items():
            cpu, wall, stmts = _measure(app, call, args.requests)
            figures[name].append((cpu, wall, stmts))
            print(f"run {run} {name:<11} cpu {cpu:7.2f} ms  wall {wall:7.2f} ms  {stmts:5.1f} statements", flush=True)

    print(f"\nmedians of {args.runs} run(s), {args.requests} requests each, one thread, in-process:")
    print(f"{'endpoint':<11} {'cpu ms':>8} {'wall ms':>8} {'stmts':>6} {'÷healthz':>9}")
    base = statistics.median(cpu for cpu, _, _ in figures["healthz"])
    for name, runs in figures.items():
        cpu = statistics.median(r[0] for r in runs)
        wall = statistics.median(r[1] for r in runs)
        stmts = statistics.median(r[2] for r in runs)
        print(f"{name:<11} {cpu:8.2f} {wall:8.2f} {stmts:6.1f} {cpu / base:9.1f}")


if __name__ == "__main__":
    main()
