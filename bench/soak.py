"""Soak: the whole order loop for a bounded time against real processes, with faults injected,
then a check that nothing acknowledged was lost and everything left is consistent.

What runs (all on 127.0.0.1, in a temporary directory removed at the end):

* a fresh database: a SQLite file (default), or with ``--database-url`` a new PostgreSQL database
  beside the given one, dropped afterwards; migrated and seeded through the services (one
  community, a grid, three categories, residents, secretaries and volunteers);
* ``linli wechat-sim`` (the simulator, its own process), ``linli serve`` (gunicorn, ``--workers``
  workers, exactly as production runs it) and ``--job-processes`` × ``linli jobs``;
* client threads over HTTP, logged in with simulator codes ``sim:<openid>#<nonce>``: residents
  post orders (with an ``Idempotency-Key``, retried with the same key when no answer came), urge,
  rate, dispute and cancel; secretaries dispatch to volunteers or the pool, reject and reassign;
  volunteers claim from the pool (all of them go for the same order on purpose), accept, decline,
  start, complete and release;
* a fault thread, one fault every ``--fault-every`` seconds on average, picked at random:
  simulator errors and latency (``POST /_sim/faults`` on the subscribe-message, template-message
  and content-security paths), SIGKILL of a job process (restarted a moment later), SIGKILL of one
  gunicorn worker (the master forks a new one), and on PostgreSQL ``pg_terminate_backend`` of
  every connection to the soak's database (the server side of every pool; the PostgreSQL service
  itself is shared and never restarted).

Then the load stops, every job process is brought back, and the outbox is drained (bounded by
``--drain-seconds``). The checks, read straight from the database:

* **lost**: a write the client got a 2xx for and the database does not have: an order it saw
  created, an action it saw accepted (its event on the order's trail), a rating it saw accepted;
* **inconsistent**: an order whose status is not a status, whose columns disagree with its status
  (e.g. no assignee while accepted), or whose event trail is not a path through the workflow's
  transition table ending in its status; two orders for one idempotency key; a rating on an order
  not closed; a notification still pending or in flight after the drain, or dead without a
  reason; fewer messages at the simulator than rows marked sent; a closed rated order whose
  volunteer did not earn (or have held) exactly what ``app.timebank.rules`` says for its trail,
  an order's settlement earned, decided or reversed twice, a reopened settlement whose points
  were not all taken back, or points for an order with no rating;
* **5xx and unanswered requests**, split into those during an injected API-worker kill (or a
  PostgreSQL connection kill) and the others.

Usage: ``.venv/bin/python bench/soak.py [--seconds 600] [--database-url postgresql+psycopg://…]
[--residents 3] [--secretaries 2] [--volunteers 4] [--workers 2] [--job-processes 2]
[--fault-every 8] [--drain-seconds 120] [--seed N]``.
Exit status 1 if anything was lost or inconsistent, or a 5xx or unanswered request came outside
an injected kill; 2 on bad arguments or a failed start.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa
from bench_common import bench_settings, fresh_database

from app.areas.catalogue import create_category
from app.areas.models import AreaKind, ServiceCategory
from app.areas.tree import create_area
from app.core.config import TimebankSection
from app.core.errors import InvalidTransitionError
from app.core.migrate import upgrade
from app.identity.grants import assign_role
from app.identity.roles import Role
from app.notify.models import DeliveryStatus, OutboxMessage
from app.orders.earnings import RESTARTS as _RESTARTS
from app.orders.models import Order, OrderEvent, Rating
from app.orders.workflow import HELD, Action, OrderStatus, transition_for
from app.runtime import Runtime, build_runtime
from app.timebank.ledger import ONCE_PER_SETTLEMENT, PointsEntry, PointsKind
from app.timebank.rules import Earning, earning, rule_for

COMMUNITY = "SOAK-SQ"
GRID = "SOAK-G1"
#: code → (name, points); one category earns nothing, so "no points" is exercised too.
CATEGORIES = {"grocery": ("买菜代购", 5), "repair": ("维修", 3), "chat": ("陪聊", 0)}
SUBSCRIBE_PATH = "/cgi-bin/message/subscribe/send"
TEMPLATE_PATH = "/cgi-bin/message/template/send"
SEC_CHECK_PATH = "/wxa/msg_sec_check"
RESIDENT_TEMPLATES = ["order_claimed", "order_started", "order_completed", "reminder"]
VOLUNTEER_TEMPLATES = ["order_dispatched", "reminder"]
#: A little above gunicorn's 30 s worker timeout: a request slower than that is the server's fault.
REQUEST_TIMEOUT_SECONDS = 35
READY_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 15
#: How long after a killed API worker is replaced its clients may still hit a dead connection.
KILL_GRACE_SECONDS = 3
#: Most open orders a resident keeps; beyond it they rate, cancel and urge instead of posting.
MAX_OPEN_PER_RESIDENT = 6
NO_ANSWER = -1
POST_TRIES = 3
# How the players choose (shares of their turns); picked so that most orders reach a rating.
RATING_COMMENT_SHARE = 0.3
SECRETARY_QUEUE_SHARE = 0.8
SECRETARY_QUEUE_ACTIONS: dict[str, float] = {"volunteer": 45, "pool": 48, "reject": 7}
VOLUNTEER_POOL_SHARE = 0.45
VOLUNTEER_RENEW_SHARE = 0.2
HTTP_SERVER_ERROR = 500
HTTP_OK_MIN, HTTP_OK_MAX = 200, 299

log = logging.getLogger("soak")


class StartError(Exception):
    """A process did not come up: the soak cannot start (exit 2)."""


# -- what the clients saw --------------------------------------------------------------------------


@dataclass
class Failure:
    """A 5xx or a request with no answer, and when it was under way (monotonic seconds)."""

    kind: str
    status: int
    started: float
    ended: float


@dataclass
class Record:
    """Everything the clients and the fault thread saw; shared by the threads, behind one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    actions: Counter[tuple[str, int]] = field(default_factory=Counter)
    #: order id → (resident user id, idempotency key, title) for every 2xx the residents got on a post
    created: dict[int, tuple[int, str, str]] = field(default_factory=dict)
    #: (order id, the event the action writes) → how many times a client got a 2xx for it
    acked: Counter[tuple[int, str]] = field(default_factory=Counter)
    #: order id → score of a 2xx rating
    ratings: dict[int, int] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    #: (kind, start, end) of API-side kills; requests failing inside are excused
    windows: list[tuple[str, float, float]] = field(default_factory=list)

    def excuse(self, failure: Failure) -> str | None:
        """The kind of injected kill the failure overlapped, or None."""
        for kind, start, end in self.windows:
            if failure.started <= end and failure.ended >= start:
                return kind
        return None


class Client:
    """One person over HTTP: a session of its own (keep-alive), logged in with a simulator code."""

    def __init__(self, base: str, openid: str, record: Record) -> None:
        self.base, self.openid, self.record = base, openid, record
        self.http = requests.Session()
        self.user_id = 0

    def login(self) -> None:
        status, body = self.call("login", "POST", "/auth/login", {"code": f"sim:{self.openid}#{uuid.uuid4().hex}"})
        if status != HTTP_OK_MIN:
            raise StartError(f"login of {self.openid}: {status} {body}")
        self.http.headers["Authorization"] = f"Bearer {body['token']}"
        status, me = self.call("me", "GET", "/me")
        if status != HTTP_OK_MIN:
            raise StartError(f"GET /me of {self.openid}: {status} {me}")
        self.user_id = int(me["id"])

    def call(
        self,
        kind: str,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
        event: tuple[int, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """One request; the status (NO_ANSWER when none came) and the JSON body. A 2xx of an action
        is remembered as ``event`` (order id, action written on its trail) for the lost-write check."""
        started = time.monotonic()
        try:
            response = self.http.request(
                method, f"{self.base}/api/v1{path}", json=body, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS
            )
        except requests.RequestException:
            self._note(kind, NO_ANSWER, started)
            return NO_ANSWER, {}
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        status = response.status_code
        self._note(kind, status, started)
        if event is not None and HTTP_OK_MIN <= status <= HTTP_OK_MAX:
            with self.record.lock:
                self.record.acked[event] += 1
        return status, payload if isinstance(payload, dict) else {}

    def _note(self, kind: str, status: int, started: float) -> None:
        with self.record.lock:
            self.record.actions[(kind, status)] += 1
            if status == NO_ANSWER or status >= HTTP_SERVER_ERROR:
                self.record.failures.append(Failure(kind, status, started, time.monotonic()))

    def items(self, path: str) -> list[dict[str, Any]]:
        status, body = self.call("list", "GET", path)
        return list(body.get("items", [])) if status == HTTP_OK_MIN else []

    def act(self, order_id: int, action: str, body: dict[str, Any], event: str | None = None) -> int:
        status, _ = self.call(action, "POST", f"/orders/{order_id}/{action}", body, event=(order_id, event or action))
        return status


# -- the people ------------------------------------------------------------------------------------


@dataclass
class Cast:
    residents: list[Client]
    secretaries: list[Client]
    volunteers: list[Client]


def resident_turn(me: Client, rng: random.Random) -> None:
    mine = me.items("/orders?scope=mine&limit=50")
    by_status: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for order in mine:
        by_status[order["status"]].append(order)
    open_count = sum(len(by_status[s]) for s in ("submitted", "assigned", "pooled", "accepted", "in_service"))
    choices: list[tuple[float, Callable[[], object]]] = []
    if by_status["completed"]:
        done = rng.choice(by_status["completed"])
        choices.append((4, lambda: rate(me, done["id"], rng)))
        choices.append((0.5, lambda: me.act(done["id"], "dispute", {"reason": "还没修好"})))
    if by_status["closed"]:
        # Within the dispute window: reopens the order and reverses its points.
        closed = rng.choice(by_status["closed"])
        choices.append((0.2, lambda: me.act(closed["id"], "dispute", {"reason": "第二天又坏了"})))
    cancellable = by_status["submitted"] + by_status["assigned"] + by_status["pooled"]
    if cancellable:
        victim = rng.choice(cancellable)
        choices.append((0.25, lambda: me.act(victim["id"], "cancel", {"reason": "不需要了"})))
    opened = cancellable + by_status["accepted"] + by_status["in_service"]
    if opened:
        urged = rng.choice(opened)
        choices.append((1, lambda: me.act(urged["id"], "urge", {})))
    if open_count < MAX_OPEN_PER_RESIDENT:
        choices.append((3, lambda: post(me, rng)))
    if choices:
        pick(choices, rng)()


def rate(me: Client, order_id: int, rng: random.Random) -> None:
    score = rng.randint(1, 5)
    body: dict[str, Any] = {"score": score}
    if chance(rng, RATING_COMMENT_SHARE):
        body["comment"] = "谢谢志愿者"
    if me.act(order_id, "rate", body) in range(HTTP_OK_MIN, HTTP_OK_MAX + 1):
        with me.record.lock:
            me.record.ratings[order_id] = score


def post(me: Client, rng: random.Random) -> None:
    """Post an order as the mini-program does: grants first, one Idempotency-Key per tap, the same
    key again when the answer did not come (a timeout, a killed worker, a 5xx)."""
    me.call("subscribe", "POST", "/subscriptions", {"accepted": RESIDENT_TEMPLATES})
    key = uuid.uuid4().hex
    title = f"soak {key[:10]}"
    category = rng.choice(list(CATEGORIES))
    body = {"community": COMMUNITY, "category": category, "title": title, "description": "压测工单"}
    for _ in range(POST_TRIES):
        status, answer = me.call("post", "POST", "/orders", body, headers={"Idempotency-Key": key})
        if HTTP_OK_MIN <= status <= HTTP_OK_MAX:
            with me.record.lock:
                me.record.created[int(answer["order"]["id"])] = (me.user_id, key, title)
            return
        if status != NO_ANSWER and status < HTTP_SERVER_ERROR:
            return
        time.sleep(0.5)


def chance(rng: random.Random, share: float) -> bool:
    return rng.random() < share


def one_of(rng: random.Random, weighted: dict[str, float]) -> str:
    return rng.choices(list(weighted), weights=list(weighted.values()))[0]


def secretary_turn(me: Client, rng: random.Random, volunteer_ids: list[int]) -> None:
    if chance(rng, SECRETARY_QUEUE_SHARE):
        queue = me.items("/orders?scope=community&status=submitted&limit=50")
        if not queue:
            return
        order_id = rng.choice(queue)["id"]
        what = one_of(rng, SECRETARY_QUEUE_ACTIONS)
        if what == "volunteer":
            me.act(order_id, "dispatch", {"volunteer_id": rng.choice(volunteer_ids)})
        elif what == "pool":
            me.act(order_id, "dispatch", {"pool": True}, event=Action.PUBLISH.value)
        else:
            me.act(order_id, "reject", {"reason": "不在服务范围"})
        return
    held = me.items(f"/orders?scope=community&status={rng.choice(['assigned', 'accepted', 'in_service'])}&limit=50")
    if not held:
        return
    order = rng.choice(held)
    holder = (order.get("assignee") or {}).get("id")
    others = [v for v in volunteer_ids if v != holder]
    target: dict[str, Any] = rng.choice([{"volunteer_id": rng.choice(others)}, {"pool": True}, {"queue": True}])
    me.act(order["id"], "reassign", {"reason": "转给更合适的人", **target})


#: What a volunteer does to an order they hold, by its status; each action's body.
VOLUNTEER_MOVES: dict[str, dict[str, float]] = {
    "assigned": {"accept": 85, "decline": 15},
    "accepted": {"start": 55, "complete": 37, "release": 8},
    "in_service": {"complete": 92, "release": 8},
}
VOLUNTEER_BODIES: dict[str, dict[str, Any]] = {
    "accept": {},
    "decline": {"reason": "今天没空"},
    "start": {},
    "complete": {"note": "已完成"},
    "release": {"reason": "临时有事"},
}


def volunteer_turn(me: Client, rng: random.Random) -> None:
    if chance(rng, VOLUNTEER_POOL_SHARE):
        pool = me.items("/tasks/pool?limit=5")
        if pool:
            # Everyone goes for the first one: the claim race, on purpose.
            me.act(pool[0]["id"], "claim", {})
        if chance(rng, VOLUNTEER_RENEW_SHARE):  # grants are used up by the messages; renew them now and then
            me.call("subscribe", "POST", "/subscriptions", {"accepted": VOLUNTEER_TEMPLATES})
        return
    mine = [o for o in me.items("/orders?scope=assigned&limit=50") if o["status"] in VOLUNTEER_MOVES]
    if mine:
        order = rng.choice(mine)
        action = one_of(rng, VOLUNTEER_MOVES[order["status"]])
        me.act(order["id"], action, VOLUNTEER_BODIES[action])


def pick(choices: list[tuple[float, Callable[[], object]]], rng: random.Random) -> Callable[[], object]:
    return rng.choices([c for _, c in choices], weights=[w for w, _ in choices])[0]


def play(turn: Callable[[random.Random], None], stop: threading.Event, seed: int, errors: list[BaseException]) -> None:
    rng = random.Random(seed)  # noqa: S311 - choices of a load, not secrets
    try:
        while not stop.is_set():
            turn(rng)
            stop.wait(rng.uniform(0.05, 0.3))  # think time, so that 2 cores are not only clients
    except BaseException as exc:  # surfaced by the main thread: a dead client must not pass for a quiet one
        errors.append(exc)


# -- processes -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def children_of(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (gunicorn's workers), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def child_environment(database_url: str, wechat_base: str, tmp: Path) -> dict[str, str]:
    """The caller's environment without its LINLI_* settings, plus the soak's own."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LINLI_")}
    env.update(
        {
            "LINLI_DATABASE__URL": database_url,
            "LINLI_WECHAT__API_BASE": wechat_base,
            "LINLI_WECHAT__WECOM_API_BASE": wechat_base,
            "LINLI_WECHAT__TIMEOUT_SECONDS": "5",
            "LINLI_AUTH__SECRET_KEY": secrets.token_urlsafe(32),
            "LINLI_APP__VAR_DIR": str(tmp / "var"),
            "LINLI_APP__LOG_LEVEL": "WARNING",
            # A few clients do what thousands would: the limits would answer most of it 429.
            "LINLI_LIMITS__ENABLED": "false",
            # Retries within seconds, not minutes, and a killed job process's leases free after
            # 5 s: the drain after the load must end within a bounded wait.
            "LINLI_NOTIFY__BACKOFF_BASE_SECONDS": "1",
            "LINLI_NOTIFY__BACKOFF_MAX_SECONDS": "5",
            "LINLI_NOTIFY__LEASE_SECONDS": "5",
            # An urge every few seconds succeeds (4 h in production would make nearly all 429).
            "LINLI_ORDERS__URGE_INTERVAL_HOURS": "0.002",
            # gunicorn puts its control socket here (else in ~/.gunicorn, shared with any other).
            "XDG_RUNTIME_DIR": str(tmp),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


class Processes:
    """The simulator, the API and the job processes, each in its own session and log file."""

    def __init__(
        self, tmp: Path, env: dict[str, str], *, sim_port: int, api_port: int, workers: int, jobs: int
    ) -> None:
        self.tmp, self.env, self.workers = tmp, env, workers
        self.linli = str(Path(sys.executable).parent / "linli")
        if not Path(self.linli).exists():
            raise StartError(f"{self.linli} not found: run `python3 dev.py setup` and use .venv/bin/python")
        self.sim_port, self.api_port = sim_port, api_port
        self.sim: subprocess.Popen[bytes] | None = None
        self.api: subprocess.Popen[bytes] | None = None
        self.jobs: list[subprocess.Popen[bytes] | None] = [None] * jobs
        self.lock = threading.Lock()

    def _spawn(self, args: list[str], log_name: str) -> subprocess.Popen[bytes]:
        with (self.tmp / log_name).open("ab") as out:
            return subprocess.Popen(  # noqa: S603 - our own linli command, no shell
                [self.linli, *args],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,  # Ctrl+C reaches only us; we stop them
            )

    def start_simulator(self) -> str:
        self.sim = self._spawn(["wechat-sim", "--host", "127.0.0.1", "--port", str(self.sim_port)], "sim.log")
        base = f"http://127.0.0.1:{self.sim_port}"
        self._wait(lambda: _get_ok(f"{base}/_sim/health"), self.sim, "sim.log")
        return base

    def start_api(self) -> str:
        args = ["serve", "--host", "127.0.0.1", "--port", str(self.api_port), "--workers", str(self.workers)]
        self.api = self._spawn(args, "api.log")
        base = f"http://127.0.0.1:{self.api_port}"
        api = self.api
        self._wait(lambda: _get_ok(f"{base}/readyz") and len(children_of(api.pid)) >= self.workers, api, "api.log")
        return base

    def start_job(self, index: int) -> None:
        with self.lock:
            self.jobs[index] = self._spawn(["jobs"], f"jobs-{index}.log")

    def _wait(self, ready: Callable[[], bool], proc: subprocess.Popen[bytes], log_name: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise StartError(f"{proc.args!r} exited with {proc.returncode}:\n{self.tail(log_name)}")
            if ready():
                return
            time.sleep(0.2)
        raise StartError(f"{proc.args!r} not ready after {READY_TIMEOUT_SECONDS} s:\n{self.tail(log_name)}")

    def tail(self, log_name: str, lines: int = 30) -> str:
        path = self.tmp / log_name
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def api_workers(self) -> list[int]:
        return children_of(self.api.pid) if self.api is not None else []

    def stop_all(self) -> None:
        for proc in [*self.jobs, self.api, self.sim]:
            if proc is not None:
                stop(proc)


def _get_ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == HTTP_OK_MIN
    except requests.RequestException:
        return False


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (graceful), then SIGKILL to the process group it leads (gunicorn's workers too)."""
    try:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        pass
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# -- faults ----------------------------------------------------------------------------------------


class Faults:
    """Injects one random fault at a time until stopped; every kind it can do, counted."""

    def __init__(
        self, procs: Processes, sim_base: str, record: Record, *, database_url: str, every: float, seed: int
    ) -> None:
        self.procs, self.sim_base, self.record, self.every = procs, sim_base, record, every
        self.rng = random.Random(seed)  # noqa: S311 - choices of a load, not secrets
        self.postgres = database_url.startswith("postgresql")
        self.database_url = database_url
        self.kinds = ["sim_error", "sim_latency", "kill_job", "kill_api_worker"] + (
            ["pg_terminate"] if self.postgres else []
        )
        self.errors: list[BaseException] = []

    def run(self, stop_event: threading.Event) -> None:
        try:
            while not stop_event.wait(self.rng.uniform(0.5, 1.5) * self.every):
                kind = self.rng.choice(self.kinds)
                getattr(self, kind)()
                with self.record.lock:
                    self.record.faults[kind] += 1
        except BaseException as exc:  # surfaced by the main thread
            self.errors.append(exc)

    def _sim_fault(self, body: dict[str, Any]) -> None:
        response = requests.post(f"{self.sim_base}/_sim/faults", json=body, timeout=5)
        response.raise_for_status()

    def sim_error(self) -> None:
        path = self.rng.choice([SUBSCRIBE_PATH, SUBSCRIBE_PATH, TEMPLATE_PATH, SEC_CHECK_PATH])
        error: dict[str, Any] = self.rng.choice([{"errcode": -1}, {"http_status": 500}, {"http_status": 503}])
        self._sim_fault({"path": path, "count": self.rng.randint(3, 15), **error})

    def sim_latency(self) -> None:
        path = self.rng.choice([SUBSCRIBE_PATH, SEC_CHECK_PATH])
        self._sim_fault({"path": path, "count": self.rng.randint(3, 10), "delay_seconds": self.rng.uniform(0.2, 1.5)})

    def kill_job(self) -> None:
        index = self.rng.randrange(len(self.procs.jobs))
        proc = self.procs.jobs[index]
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        time.sleep(self.rng.uniform(0.5, 3))  # a while with one job process fewer
        self.procs.start_job(index)

    def kill_api_worker(self) -> None:
        workers = self.procs.api_workers()
        if not workers:
            return
        start = time.monotonic() - 0.1
        with self.record.lock:
            # Open-ended until the master has its workers again: a failure meanwhile is excused.
            self.record.windows.append(("kill_api_worker", start, float("inf")))
            at = len(self.record.windows) - 1
        with suppress(ProcessLookupError):
            os.kill(self.rng.choice(workers), signal.SIGKILL)
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while len(self.procs.api_workers()) < self.procs.workers and time.monotonic() < deadline:
            time.sleep(0.1)
        with self.record.lock:
            self.record.windows[at] = ("kill_api_worker", start, time.monotonic() + KILL_GRACE_SECONDS)

    def pg_terminate(self) -> None:
        start = time.monotonic() - 0.1
        engine = sa.create_engine(self.database_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
        finally:
            engine.dispose()
        with self.record.lock:
            self.record.windows.append(("pg_terminate", start, time.monotonic() + KILL_GRACE_SECONDS))


# -- the checks ------------------------------------------------------------------------------------


@dataclass
class Findings:
    orders: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    outbox: Counter[str] = field(default_factory=Counter)
    simulator_received: int = 0
    lost: list[str] = field(default_factory=list)
    inconsistent: list[str] = field(default_factory=list)
    points_total: int = 0


def _column_problems(order: Order, events: list[OrderEvent], rated: bool) -> list[str]:
    """What the order's columns say that its status does not allow."""
    s, problems = order.status, []
    holders = [order.assignee_id, order.team_id, order.property_company_id]
    resolved = any(e.action is Action.RESOLVE for e in events)
    unheld = {OrderStatus.SUBMITTED, OrderStatus.POOLED, OrderStatus.CANCELLED, OrderStatus.REJECTED}
    if s in unheld and (any(h is not None for h in holders) or order.accepted_at is not None):
        problems.append(f"{s.value} but still assigned")
    if s is OrderStatus.POOLED and order.dispatched_at is None:
        problems.append("pooled without dispatched_at")
    if s is OrderStatus.ASSIGNED and (sum(h is not None for h in holders) != 1 or order.dispatched_at is None):
        problems.append("assigned without exactly one holder and dispatched_at")
    needs_assignee = s in HELD or (s in {OrderStatus.COMPLETED, OrderStatus.CLOSED} and not resolved)
    if needs_assignee and order.assignee_id is None:
        problems.append(f"{s.value} without an assignee")
    if s in HELD and (order.accepted_at is None or order.due_at is None):
        problems.append(f"{s.value} without accepted_at/due_at")
    if s is OrderStatus.COMPLETED and order.completed_at is None:
        problems.append("completed without completed_at")
    if s is OrderStatus.CLOSED and order.closed_at is None:
        problems.append("closed without closed_at")
    if rated and s is not OrderStatus.CLOSED and not _reopenings(events):
        # Rated and open again is a dispute after closing; the rating stays until the next one.
        problems.append(f"rated but {s.value}")
    return problems


def _trail_problems(order: Order, events: list[OrderEvent]) -> list[str]:
    """Whether the trail is a path through the transition table from submit to the order's status."""
    if not events or events[0].action is not Action.SUBMIT or events[0].to_status is not OrderStatus.SUBMITTED:
        return ["trail does not start with submit"]
    current = OrderStatus.SUBMITTED
    for event in events[1:]:
        if event.from_status is not current:
            return [f"event {event.id} {event.action.value} from {event.from_status} but the order was {current.value}"]
        try:
            transition = transition_for(current, event.action)
        except InvalidTransitionError:
            return [f"event {event.id}: {event.action.value} is not allowed from {current.value}"]
        allowed = {transition.target or current, *transition.alternatives}
        if event.to_status not in allowed:
            return [
                f"event {event.id}: {event.action.value} from {current.value} cannot lead to {event.to_status.value}"
            ]
        current = event.to_status
    if current is not order.status:
        return [f"trail ends in {current.value}, the order is {order.status.value}"]
    return []


@dataclass
class Stored:
    """What the database holds after the run, read once in one transaction."""

    orders: dict[int, Order]
    trails: dict[int, list[OrderEvent]]
    ratings: dict[int, Rating]
    #: category id → (code, points per hour)
    categories: dict[int, tuple[str, int]]
    timebank: TimebankSection
    entries: list[PointsEntry]
    outbox: list[tuple[int, DeliveryStatus, str]]
    raw_statuses: set[str]


def read_stored(rt: Runtime) -> Stored:
    with rt.db.read() as session:
        trails: dict[int, list[OrderEvent]] = defaultdict(list)
        for event in session.scalars(sa.select(OrderEvent).order_by(OrderEvent.id)):
            trails[event.order_id].append(event)
        stored = Stored(
            orders={o.id: o for o in session.scalars(sa.select(Order))},
            trails=trails,
            ratings={r.order_id: r for r in session.scalars(sa.select(Rating))},
            categories={
                category_id: (code, points)
                for category_id, code, points in session.execute(
                    sa.select(ServiceCategory.id, ServiceCategory.code, ServiceCategory.points)
                )
            },
            timebank=rt.settings.timebank,
            entries=list(session.scalars(sa.select(PointsEntry))),
            outbox=[
                (i, status, error)
                for i, status, error in session.execute(
                    sa.select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.last_error)
                )
            ],
            # A status outside the enum would not even load as an Order: read the column raw too.
            raw_statuses=set(session.scalars(sa.text("SELECT DISTINCT status FROM orders"))),
        )
        session.expunge_all()  # checked below without the session: no lazy loads, no refresh
    return stored


def _reopenings(events: list[OrderEvent]) -> int:
    """How often a dispute reopened the closed order: its settlement is one more."""
    return sum(e.action is Action.DISPUTE and e.from_status is OrderStatus.CLOSED for e in events)


def check_orders(db: Stored, found: Findings) -> None:
    legal = {s.value for s in OrderStatus}
    found.inconsistent += [f"a status that is not one: {s!r}" for s in db.raw_statuses if s not in legal]
    for order in db.orders.values():
        found.by_status[order.status.value] += 1
        events = db.trails.get(order.id, [])
        rated = order.id in db.ratings
        for problem in _column_problems(order, events, rated) + _trail_problems(order, events):
            found.inconsistent.append(f"order {order.id}: {problem}")
        # One rating row, the latest: rated again only after a dispute reopened the closed order.
        rates = sum(e.action is Action.RATE for e in events)
        if bool(rates) != rated or rates > _reopenings(events) + 1:
            found.inconsistent.append(f"order {order.id}: {rates} rate events, {int(rated)} ratings")
        kept = db.ratings[order.id].score if rated else None
        if order.rating_score != kept:
            found.inconsistent.append(f"order {order.id}: rating_score {order.rating_score}, its rating {kept}")
    # Residents' titles carry their idempotency key: two orders with one title are one tap twice.
    for (resident_id, title), n in Counter((o.resident_id, o.title) for o in db.orders.values()).items():
        if n > 1:
            found.inconsistent.append(f"{n} orders for one idempotency key ({title}) of user {resident_id}")


def check_acknowledged(db: Stored, record: Record, found: Findings) -> None:
    for order_id, (resident_id, _key, title) in record.created.items():
        created = db.orders.get(order_id)
        if created is None or created.resident_id != resident_id or created.title != title:
            found.lost.append(f"order {order_id} acknowledged as created")
    for (order_id, action), n in record.acked.items():
        written = sum(e.action.value == action for e in db.trails.get(order_id, []))
        if written < n:
            found.lost.append(f"order {order_id}: {n} × {action} acknowledged, {written} on the trail")
    for order_id, score in record.ratings.items():
        rating = db.ratings.get(order_id)
        if rating is None or rating.score != score:
            found.lost.append(f"rating of order {order_id} acknowledged ({score})")


def _expected_earning(db: Stored, order: Order, rating: Rating) -> Earning:
    """What the order's last rating should have earned, recomputed from its trail (the rule of
    ``app.timebank.rules``, the start as ``app.orders.earnings`` takes it)."""
    code, per_hour = db.categories[order.category_id]
    restarts = [e for e in db.trails.get(order.id, []) if e.action in _RESTARTS]
    started_at = restarts[-1].created_at if restarts and restarts[-1].action is Action.START else None
    return earning(
        rule_for(db.timebank, code),
        points_per_hour=per_hour,
        score=rating.score,
        started_at=started_at,
        completed_at=order.completed_at,
    )


def _settlement_problems(
    order_id: int, settlement: int | None, kinds: list[str | None], net: int, *, reopened: bool
) -> list[str]:
    """Once-only groups at most once; a settlement the order was reopened after keeps no points."""
    problems = []
    for group in ONCE_PER_SETTLEMENT.values():
        if sum(kind in {k.value for k in group} for kind in kinds) > 1:
            problems.append(f"order {order_id}, settlement {settlement}: {kinds}")
    if reopened and net != 0:
        problems.append(f"order {order_id}, settlement {settlement} was reopened, yet {net} points remain")
    return problems


def check_ledger(db: Stored, found: Findings) -> None:
    """Each closed rated order's last settlement against the earning rule; every settlement's
    entries against the once-only groups; no points for an order that was never rated."""
    by_settlement: dict[tuple[int, int, int | None], list[PointsEntry]] = defaultdict(list)
    for entry in db.entries:
        found.points_total += entry.delta
        if entry.order_id is None:
            continue
        if entry.order_id not in db.ratings:
            found.inconsistent.append(f"points for order {entry.order_id}, which has no rating")
        by_settlement[(entry.order_id, entry.user_id, entry.settlement)].append(entry)
    for (order_id, _user_id, settlement), entries in by_settlement.items():
        current = _reopenings(db.trails.get(order_id, [])) + 1
        found.inconsistent += _settlement_problems(
            order_id,
            settlement,
            [e.kind for e in entries],
            sum(e.delta for e in entries),
            reopened=settlement != current,
        )
    for order_id, rating in db.ratings.items():
        order = db.orders[order_id]
        if order.status is not OrderStatus.CLOSED:
            continue  # reopened by a dispute: it may change hands before it is rated again
        if rating.assignee_id != order.assignee_id:
            found.inconsistent.append(
                f"order {order_id}: rating's assignee {rating.assignee_id} != {order.assignee_id}"
            )
        if order.assignee_id is None:
            continue
        earned = [
            e
            for e in by_settlement.get((order_id, order.assignee_id, _reopenings(db.trails.get(order_id, [])) + 1), [])
            if e.kind in {PointsKind.EARNED.value, PointsKind.HELD.value}
        ]
        want = _expected_earning(db, order, rating)
        got = Earning(
            paid=sum(e.delta for e in earned),
            held=sum(e.held_points or 0 for e in earned),
            minutes=sum(e.minutes or 0 for e in earned),
        )
        # A category of no points writes no entry at all; any other writes exactly the rule's one.
        if len(earned) != int(bool(want.paid or want.held)) or (earned and got != want):
            found.inconsistent.append(f"order {order_id}: earned {got}, the rule says {want}")


def check_outbox(db: Stored, found: Findings) -> None:
    for message_id, status, last_error in db.outbox:
        found.outbox[status.value] += 1
        if status in {DeliveryStatus.PENDING, DeliveryStatus.SENDING}:
            found.inconsistent.append(f"outbox {message_id} still {status.value} after the drain")
        elif status is DeliveryStatus.DEAD and not last_error:
            found.inconsistent.append(f"outbox {message_id} dead without a reason")
    # A row is marked sent only after the simulator answered ok, which it records first; a resend
    # after a lost answer can only add to the simulator's count.
    if found.simulator_received < found.outbox["sent"]:
        found.inconsistent.append(
            f"{found.outbox['sent']} messages marked sent, {found.simulator_received} at the simulator"
        )


def check(rt: Runtime, record: Record, simulator_received: int) -> Findings:
    db = read_stored(rt)
    found = Findings(orders=len(db.orders), simulator_received=simulator_received)
    check_orders(db, found)
    check_acknowledged(db, record, found)
    check_ledger(db, found)
    check_outbox(db, found)
    return found


# -- the run ---------------------------------------------------------------------------------------


def seed(rt: Runtime, args: argparse.Namespace) -> tuple[list[str], list[str], list[str]]:
    residents = [f"soak-r{i}" for i in range(args.residents)]
    secretaries = [f"soak-s{i}" for i in range(args.secretaries)]
    volunteers = [f"soak-v{i}" for i in range(args.volunteers)]
    with rt.db.write() as session:
        create_area(session, AreaKind.STREET, "SOAK-JD", "压测街道")
        create_area(session, AreaKind.COMMUNITY, COMMUNITY, "压测社区", "SOAK-JD")
        create_area(session, AreaKind.GRID, GRID, "压测网格", COMMUNITY)
        for code, (name, pts) in CATEGORIES.items():
            create_category(session, COMMUNITY, code, name, points=pts, sla_hours=24)
        for openids, role in ((residents, Role.RESIDENT), (secretaries, Role.SECRETARY), (volunteers, Role.VOLUNTEER)):
            for openid in openids:
                assign_role(session, openid, role, COMMUNITY)
    return residents, secretaries, volunteers


def wait_drained(rt: Runtime, procs: Processes, seconds: float) -> float:
    """Until no outbox row is pending or in flight, or ``seconds`` passed; the time it took."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        for index, proc in enumerate(procs.jobs):
            if proc is None or proc.poll() is not None:
                procs.start_job(index)  # one may have died by itself: that would show in the log
        with rt.db.read() as session:
            left = session.scalar(
                sa.select(sa.func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]))
            )
        if not left:
            break
        time.sleep(1)
    return time.monotonic() - started


def log_findings(tmp: Path) -> dict[str, int]:
    """Tracebacks and ERROR lines in each process's log, leaving out gunicorn's line about a worker
    this soak killed on purpose. Printed for whoever reads the report, not part of the verdict: a
    message given up as dead, for one, is logged as an error and is an allowed outcome."""
    counts: dict[str, int] = {}
    for path in sorted(tmp.glob("*.log")):
        lines = path.read_text(errors="replace").splitlines()
        errors = [line for line in lines if "ERROR" in line and "was sent SIGKILL" not in line]
        counts[path.stem] = len(errors) + sum(line.startswith("Traceback") for line in lines)
    return counts


def report(
    args: argparse.Namespace, record: Record, found: Findings, *, drained: float, dialect: str, logs: dict[str, int]
) -> int:
    excused: Counter[str] = Counter()
    unexcused: list[Failure] = []
    for failure in record.failures:
        why = record.excuse(failure)
        what = "no answer" if failure.status == NO_ANSWER else "5xx"
        if why is None:
            unexcused.append(failure)
        else:
            excused[f"{what} during {why}"] += 1
    print(
        f"soak: {args.seconds} s on {dialect}, {args.residents} residents, {args.secretaries} secretaries, "
        f"{args.volunteers} volunteers, {args.workers} API workers, {args.job_processes} job processes"
    )
    print(f"orders: {found.orders} ({', '.join(f'{s} {n}' for s, n in sorted(found.by_status.items()))})")
    by_kind: dict[str, Counter[int]] = defaultdict(Counter)
    for (kind, status), n in record.actions.items():
        by_kind[kind][status] += n
    print("actions by kind and status:")
    for kind in sorted(by_kind):
        statuses = " ".join(f"{'no-answer' if s == NO_ANSWER else s}={n}" for s, n in sorted(by_kind[kind].items()))
        print(f"  {kind:<10} {sum(by_kind[kind].values()):>6}  {statuses}")
    print(
        f"requests: {sum(record.actions.values())}, acknowledged orders {len(record.created)}, "
        f"acknowledged ratings {len(record.ratings)}, points credited {found.points_total}"
    )
    print(
        f"notifications: {', '.join(f'{s} {n}' for s, n in sorted(found.outbox.items())) or 'none'}; "
        f"simulator received {found.simulator_received}; drained in {drained:.1f} s"
    )
    print(f"faults injected: {', '.join(f'{k} {n}' for k, n in sorted(record.faults.items())) or 'none'}")
    print(f"errors and tracebacks in the logs: {', '.join(f'{k} {n}' for k, n in logs.items())}")
    print(
        f"5xx / no answer during injected kills: {', '.join(f'{k} {n}' for k, n in sorted(excused.items())) or 'none'}"
    )
    print(f"5xx / no answer outside injected kills: {len(unexcused)}")
    for failure in unexcused[:10]:
        print(f"  {failure.kind} -> {'no answer' if failure.status == NO_ANSWER else failure.status}")
    print(f"lost: {len(found.lost)}")
    for line in found.lost[:20]:
        print(f"  {line}")
    print(f"inconsistent: {len(found.inconsistent)}")
    for line in found.inconsistent[:20]:
        print(f"  {line}")
    failed = bool(found.lost or found.inconsistent or unexcused)
    print("RESULT: " + ("FAIL" if failed else "ok (nothing lost, everything consistent, no unexplained 5xx)"))
    return 1 if failed else 0


def soak(args: argparse.Namespace, tmp: Path) -> int:
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    record = Record()
    with fresh_database(args.database_url, tmp, "soak") as url, ExitStack() as stack:
        sim_port, api_port = free_port(), free_port()
        sim_base = f"http://127.0.0.1:{sim_port}"
        settings = bench_settings(url, sim_base, tmp / "var", timeout_seconds=5)
        upgrade(settings)
        rt = build_runtime(settings)
        stack.callback(rt.db.dispose)
        residents, secretaries, volunteers = seed(rt, args)
        env = child_environment(url, sim_base, tmp)
        procs = Processes(tmp, env, sim_port=sim_port, api_port=api_port, workers=args.workers, jobs=args.job_processes)
        stack.callback(procs.stop_all)
        procs.start_simulator()
        base = procs.start_api()
        for index in range(args.job_processes):
            procs.start_job(index)

        cast = Cast(*([Client(base, o, record) for o in group] for group in (residents, secretaries, volunteers)))
        everyone = cast.residents + cast.secretaries + cast.volunteers
        for client in everyone:
            client.login()
        household = {"community": COMMUNITY, "grid": GRID, "building": "1", "unit": "1", "room": "101"}
        for client in cast.residents:
            client.call("household", "PUT", "/me/household", household)
        volunteer_ids = [v.user_id for v in cast.volunteers]

        stop_event = threading.Event()
        errors: list[BaseException] = []
        turns: list[Callable[[random.Random], None]] = [
            *(lambda rng, c=c: resident_turn(c, rng) for c in cast.residents),
            *(lambda rng, c=c: secretary_turn(c, rng, volunteer_ids) for c in cast.secretaries),
            *(lambda rng, c=c: volunteer_turn(c, rng) for c in cast.volunteers),
        ]
        threads = [
            threading.Thread(target=play, args=(turn, stop_event, args.seed * 1000 + i, errors), daemon=True)
            for i, turn in enumerate(turns)
        ]
        faults = Faults(procs, sim_base, record, database_url=url, every=args.fault_every, seed=args.seed)
        fault_thread = threading.Thread(target=faults.run, args=(stop_event,), daemon=True)
        print(f"soak running for {args.seconds} s: API {base}, simulator {sim_base}, logs in {tmp}", flush=True)
        for thread in [*threads, fault_thread]:
            thread.start()
        stop_event.wait(args.seconds)
        stop_event.set()
        for thread in [fault_thread, *threads]:
            thread.join(timeout=REQUEST_TIMEOUT_SECONDS + READY_TIMEOUT_SECONDS)
        if errors or faults.errors:
            raise (errors + faults.errors)[0]
        for client in everyone:
            # Idle keep-alive connections would hold gunicorn's graceful stop for its full 10 s.
            client.http.close()

        drained = wait_drained(rt, procs, args.drain_seconds)
        received = len(requests.get(f"{sim_base}/_sim/messages", timeout=30).json()["items"])
        procs.stop_all()
        found = check(rt, record, received)
        return report(args, record, found, drained=drained, dialect=rt.db.engine.dialect.name, logs=log_findings(tmp))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=600, help="how long the load runs (default 600)")
    parser.add_argument(
        "--database-url",
        default="",
        help="PostgreSQL URL: a fresh database is created beside it and dropped afterwards. "
        "Default: a SQLite file in a temporary directory.",
    )
    parser.add_argument("--residents", type=int, default=3)
    parser.add_argument("--secretaries", type=int, default=2)
    parser.add_argument("--volunteers", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of linli serve (default 2)")
    parser.add_argument("--job-processes", type=int, default=2, help="linli jobs processes (default 2)")
    parser.add_argument("--fault-every", type=float, default=8, help="mean seconds between faults (default 8)")
    parser.add_argument("--drain-seconds", type=float, default=120, help="longest wait for the outbox (default 120)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the clients' and faults' choices")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.fault_every <= 0 or args.drain_seconds <= 0:
        parser.error("--seconds, --fault-every and --drain-seconds must be positive")
    for name in ("residents", "secretaries", "volunteers", "workers", "job_processes"):
        if not 1 <= getattr(args, name) <= 50:  # noqa: PLR2004 - a soak on one box, not a load test
            parser.error(f"--{name.replace('_', '-')} must be between 1 and 50")
    if args.volunteers < 2:  # noqa: PLR2004 - reassign needs someone else to give the order to
        parser.error("--volunteers must be at least 2")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="linli-soak-") as tmp:
        try:
            return soak(args, Path(tmp))
        except StartError as exc:
            print(f"soak: could not start: {exc}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
