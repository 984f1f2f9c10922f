"""Outbox fan-out benchmark: queue N subscribe messages, deliver them to the WeChat simulator, and
compare the real delivery path with a naive one-at-a-time sender in the same run.

What it measures (the fan-out goal in docs/operations.md, on this machine):

* enqueue rate: ``app.notify.outbox.notify_user`` for N messages (inbox row, grant taken, outbox
  row, each behind its dedupe key), in write transactions of ``--chunk`` messages each;
* real delivery: ``app.notify.delivery.deliver_due`` called in a loop until nothing is due (one
  worker: claim a batch of ``notify.batch_size``, send it over ``notify.send_threads`` threads, record the
  outcomes in one transaction). With ``--workers K`` (K > 1), K threads each call ``deliver_batch``
  until they claim nothing, standing in for K job processes sharing the outbox; with
  ``--processes P``, P real processes (spawned, each with its own runtime, started before the
  clock) each call ``deliver_due`` until a run claims nothing: what P ``linli jobs`` do, with a
  GIL each (their CPU is added to the figure);
* naive baseline: N fresh messages (new dedupe keys), sent one at a time: read one pending row,
  send it with the same gateway (``rt.wechat.send_subscribe_message``), mark it sent in its own
  transaction. With ``--latency-ms`` > 0 the naive phase is capped by ``--naive-messages`` (by
  default to what fits in about a minute), since it is strictly sequential;
* the ratio real msg/s ÷ naive msg/s, and the messages lost: queued messages whose outbox row is
  not ``sent`` or that the simulator never received, each counted once (every message carries its
  own id in ``thing2``, so the simulator's record is compared message by message and recipient by
  recipient). Duplicates and misrouted messages are counted too.

Everything runs in this process and on 127.0.0.1: a fresh database (a SQLite file in a temporary
directory, or a uniquely named PostgreSQL database beside ``--database-url``, dropped afterwards),
``alembic upgrade head``, and WeChat's stand-in on a free port. ``--latency-ms`` makes it wait that
long in every subscribe-message request. Two stand-ins:

* the WeChat simulator (default). In a thread of this process it shares the GIL with the sender;
  ``--simulator-process`` runs it in a child process. It is a Flask app on Werkzeug's threaded
  server and spends about 1.7 ms of CPU per message itself (printed as "WeChat side"), so on a
  2-core box it, not the sender, caps the rate near 550 msg/s;
* ``--wechat sink`` (bench/wechat_sink.py): an asyncio server in a child process that answers the
  same endpoints for about 0.2 ms of CPU per message and records the same fields, standing in for
  a WeChat that is not on this box. Use it to measure the sender.

Either way the figures are same-box numbers; the ratio to the naive sender of the same run and the
CPU per message are the figures to compare between runs.

Where the time goes (profiled on this 2-core box, bench/README.md): per message about 0.4-0.5 ms of
CPU to claim (one statement for the batch's due rows, the people's channels, the grants spent,
one executemany), 0.6 ms to send (wechatpy over app/wechat/transport.py's urllib3 path), 0.1 ms to
record. With latency, one worker is capped at ``send_threads / latency`` (50 / 50 ms = 1,000
msg/s), because a batch waits for its slowest send. Messages to one person go one per batch
(per-recipient order), so the bench spreads its messages over ``--recipients`` people.

Usage: ``.venv/bin/python bench/outbox_fanout.py [--messages 20000] [--database-url URL]
[--latency-ms 0] [--workers 1 | --processes 1] [--wechat sink | --simulator-process] [--profile]``.
Exit status 1 if any message was lost, duplicated or misrouted; 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import math
import multiprocessing
import os
import pstats
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from bench_common import WeChatChild, bench_settings, fresh_database
from wechat_sink import SinkProcess

from app.core.clock import now_utc
from app.core.config import Settings
from app.core.migrate import upgrade
from app.identity.models import User
from app.notify.chains import Addressee
from app.notify.delivery import DeliveryReport, deliver_batch, deliver_due
from app.notify.models import DeliveryStatus, OutboxMessage, SubscriptionGrant
from app.notify.outbox import notify_user
from app.orders.texts import OrderFacts, render
from app.runtime import Runtime, build_runtime
from app.wechat.errors import WeChatError
from wechat_sim import SimulatorServer

SUBSCRIBE_PATH = "/cgi-bin/message/subscribe/send"
TEMPLATE_KEY = "reminder"
MAX_MESSAGES = 200_000
MAX_WORKERS = 32
MAX_PROCESSES = 16
MAX_LATENCY_MS = 2_000
DEFAULT_RECIPIENTS = 1000
#: Seconds the naive phase may take by default when the simulator adds latency.
NAIVE_BUDGET_SECONDS = 60
#: The per-message overhead assumed when sizing the naive phase (send + two transactions).
NAIVE_OVERHEAD_SECONDS = 0.004


@dataclass
class Phase:
    """One batch of messages: what was queued, and how long queueing and delivering took."""

    name: str
    count: int
    #: message id ("real-17") → recipient openid
    expected: dict[str, str]
    enqueue_seconds: float = 0.0
    deliver_seconds: float = 0.0
    #: CPU time of this process (all its threads) while delivering: with --simulator-process, the
    #: sender's alone; otherwise the simulator's too.
    deliver_cpu_seconds: float = 0.0
    delivered: int = 0
    not_sent: int = 0
    missing: int = 0
    duplicates: int = 0
    misrouted: int = 0

    @property
    def rate(self) -> float:
        return self.delivered / self.deliver_seconds if self.deliver_seconds > 0 else 0.0

    @property
    def cpu_ms_per_message(self) -> float:
        return 1000 * self.deliver_cpu_seconds / self.delivered if self.delivered else 0.0

    @property
    def enqueue_rate(self) -> float:
        return self.count / self.enqueue_seconds if self.enqueue_seconds > 0 else 0.0

    #: CPU time of the WeChat side (simulator or sink) while delivering, when it has a process of its own
    wechat_cpu_seconds: float | None = None

    @property
    def wechat_cpu_ms_per_message(self) -> float | None:
        if self.wechat_cpu_seconds is None or not self.delivered:
            return None
        return 1000 * self.wechat_cpu_seconds / self.delivered

    #: messages not delivered: outbox row not ``sent`` or never seen by the simulator (each counted once)
    lost: int = 0


# -- the simulator, in this process or in its own ---------------------------------------------------


class Simulator(Protocol):
    base_url: str

    def inject_fault(self, path: str, *, delay_seconds: float, count: int) -> None: ...

    def messages(self) -> list[dict[str, Any]]: ...

    def cpu_seconds(self) -> float | None:
        """CPU time of the WeChat side so far, when it runs in a process of its own."""
        ...

    def stop(self) -> None: ...


class InProcessSimulator:
    """SimulatorServer in a thread of this process (shares the GIL with the sender)."""

    def __init__(self, *, keep_alive: bool) -> None:
        self.server = SimulatorServer(host="127.0.0.1", port=0, keep_alive=keep_alive)
        self.base_url = self.server.start()

    def inject_fault(self, path: str, *, delay_seconds: float, count: int) -> None:
        self.server.state.inject_fault(path, delay_seconds=delay_seconds, count=count)

    def messages(self) -> list[dict[str, Any]]:
        return self.server.state.messages()

    def cpu_seconds(self) -> float | None:
        return None  # it is this process's own CPU, counted with the sender's

    def stop(self) -> None:
        self.server.stop()


def _serve_in_child(conn: Connection, keep_alive: bool) -> None:
    """Child process: run the simulator on a free loopback port and answer commands on ``conn``."""
    server = SimulatorServer(host="127.0.0.1", port=0, keep_alive=keep_alive)
    conn.send(server.start())
    try:
        while True:
            command, kwargs = conn.recv()
            if command == "fault":
                server.state.inject_fault(**kwargs)
                conn.send(None)
            elif command == "messages":
                conn.send(server.state.messages())
            elif command == "cpu":
                conn.send(time.process_time())
            else:
                return
    finally:
        server.stop()


class ChildProcessSimulator(WeChatChild):
    """SimulatorServer in a child process: the sender keeps this process's GIL to itself."""

    def __init__(self, *, keep_alive: bool) -> None:
        super().__init__(_serve_in_child, keep_alive)


# -- set-up -----------------------------------------------------------------------------------------


def seed_users(rt: Runtime, recipients: int, grants_each: int) -> list[tuple[int, str]]:
    """``recipients`` users, each with ``grants_each`` one-time grants for the reminder template."""
    with rt.db.write() as session:
        users = [User(openid=f"bench-{i:05d}", nickname=f"压测{i}") for i in range(recipients)]
        session.add_all(users)
        session.flush()
        session.add_all(
            SubscriptionGrant(user_id=user.id, template_key=TEMPLATE_KEY, remaining=grants_each) for user in users
        )
        return [(user.id, user.openid or "") for user in users]


def enqueue(rt: Runtime, phase: Phase, users: list[tuple[int, str]], chunk: int) -> None:
    """Queue ``phase.count`` messages with notify_user, ``chunk`` per write transaction."""
    cfg = rt.settings.notify
    started = time.perf_counter()
    for first in range(0, phase.count, chunk):
        with rt.db.write() as session:
            now = now_utc()
            by_id = {user.id: user for user in session.scalars(sa.select(User))}
            for index in range(first, min(first + chunk, phase.count)):
                user_id, openid = users[index % len(users)]
                message_id = f"{phase.name}-{index}"
                facts = OrderFacts(
                    order_id=index + 1,
                    number=f"B{index:07d}",
                    title=message_id,  # thing2: lets the simulator's record be checked message by message
                    category="压测",
                    community="压测社区",
                    at=now,
                    text="压测消息",
                )
                notify_user(
                    session,
                    cfg,
                    user=by_id[user_id],
                    template_key=TEMPLATE_KEY,
                    rendered=render(TEMPLATE_KEY, facts),
                    dedupe_key=f"bench:{message_id}",
                    addressee=Addressee.MEMBER,
                    now=now,
                )
                phase.expected[message_id] = openid
    phase.enqueue_seconds = time.perf_counter() - started
    queued = pending_count(rt, phase)
    if queued != phase.count:
        raise SystemExit(f"{phase.name}: {queued} outbox rows pending after queueing {phase.count}; not a fair run")


def _phase_rows(phase: Phase) -> sa.ColumnElement[bool]:
    return OutboxMessage.dedupe_key.like(f"bench:{phase.name}-%")


def pending_count(rt: Runtime, phase: Phase) -> int:
    with rt.db.read() as session:
        return int(
            session.scalar(
                sa.select(sa.func.count())
                .select_from(OutboxMessage)
                .where(_phase_rows(phase), OutboxMessage.status == DeliveryStatus.PENDING)
            )
            or 0
        )


# -- the two senders --------------------------------------------------------------------------------


def deliver_real(rt: Runtime, workers: int) -> DeliveryReport:
    """The product's path until nothing is due: deliver_due in a loop (one worker), or ``workers``
    threads each calling deliver_batch until it claims nothing (several workers sharing the outbox)."""
    total = DeliveryReport()
    if workers == 1:
        while True:
            report = deliver_due(rt)
            total.add(report)
            if report.claimed == 0:
                return total
    # The K workers share this process's gateway and its connection pool (10 per host), so with
    # K x send_threads > the pool some connections are re-opened; urllib3 warns about each one.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    lock = threading.Lock()
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            while True:
                report = deliver_batch(rt)
                with lock:
                    total.add(report)
                if report.claimed == 0:
                    return
        except BaseException as exc:  # surfaced below: a dead worker must not pass for a fast one
            failures.append(exc)

    threads = [threading.Thread(target=worker, name=f"deliver-{i}") for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return total


def _deliver_in_child(settings: Settings, ready: Any, go: Any, results: Any) -> None:
    """One stand-in job process: its own runtime (engine, gateway, pools), ready before the clock
    starts, then deliver_due until a run claims nothing. Sends back (report, CPU seconds)."""
    logging.basicConfig(level=logging.WARNING)
    rt = build_runtime(settings)
    try:
        ready.wait()
        go.wait()
        cpu = time.process_time()
        total = DeliveryReport()
        while True:
            report = deliver_due(rt)
            total.add(report)
            if report.claimed == 0:
                break
        results.put((total, time.process_time() - cpu))
    except BaseException as exc:  # surfaced by the parent: a dead process must not pass for a fast one
        results.put((exc, 0.0))
    finally:
        rt.db.dispose()


class JobProcesses:
    """``count`` processes like ``linli jobs``, each with its own runtime, started and waiting:
    ``run()`` releases them together and returns their summed report and CPU seconds once every
    one claimed nothing (one that finds only rows queued behind another's in-flight message
    leaves; the last one drains what is left)."""

    def __init__(self, settings: Settings, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.ready = context.Barrier(count + 1)
        self.go = context.Event()
        self.results = context.Queue()
        self.processes = [
            context.Process(
                target=_deliver_in_child, args=(settings, self.ready, self.go, self.results), name=f"jobs-{i}"
            )
            for i in range(count)
        ]
        for process in self.processes:
            process.start()
        self.ready.wait(timeout=120)

    def run(self) -> tuple[DeliveryReport, float]:
        self.go.set()
        total, cpu = DeliveryReport(), 0.0
        for _ in self.processes:
            report, seconds = self.results.get(timeout=3600)
            if isinstance(report, BaseException):
                raise report
            total.add(report)
            cpu += seconds
        for process in self.processes:
            process.join(timeout=30)
        return total, cpu


def deliver_naive(rt: Runtime, phase: Phase) -> int:
    """One at a time: read one pending row, send it, mark it in its own transaction. Sent count.

    The next row is found by primary key (``id > last``, within the phase's id range), so that
    finding it stays one index lookup. A plain ``WHERE status = 'pending' ORDER BY id LIMIT 1`` lets
    SQLite take the status index and sort every pending row for each message: quadratic, measured
    at 60-90 msg/s over 20,000 instead of ~170 over 2,000, which would flatter the ratio."""
    with rt.db.read() as session:
        first, last_id = session.execute(
            sa.select(sa.func.min(OutboxMessage.id), sa.func.max(OutboxMessage.id)).where(_phase_rows(phase))
        ).one()
    sent = 0
    last = int(first or 0) - 1
    template_id = rt.settings.notify.subscribe_templates[TEMPLATE_KEY]
    while True:
        with rt.db.read() as session:
            # The naive sender knows its one channel: the recipient's mini-program openid.
            row = session.execute(
                sa.select(OutboxMessage.id, User.openid, OutboxMessage.payload, OutboxMessage.status)
                .join(User, User.id == OutboxMessage.recipient_user_id)
                .where(OutboxMessage.id > last, OutboxMessage.id <= (last_id or 0))
                .order_by(OutboxMessage.id)
                .limit(1)
            ).first()
        if row is None:
            return sent
        message_id, recipient, payload, current = row
        last = message_id
        if current is not DeliveryStatus.PENDING:
            continue  # not ours to send (counted as not sent by the accounting)
        status = DeliveryStatus.SENT
        error = ""
        try:
            rt.wechat.send_subscribe_message(recipient or "", template_id, payload["data"], page=payload.get("page"))
        except WeChatError as exc:
            status, error = DeliveryStatus.DEAD, str(exc)[:500]
        with rt.db.write() as session:
            session.execute(
                sa.update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(
                    status=status,
                    attempts=OutboxMessage.attempts + 1,
                    sent_at=now_utc(),
                    last_error=error,
                )
            )
        sent += status is DeliveryStatus.SENT


def timed(phase: Phase, deliver: Callable[[], int], profile: bool, wechat: Simulator) -> None:
    profiler = cProfile.Profile() if profile else None
    wechat_cpu = wechat.cpu_seconds()
    started, cpu = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    try:
        phase.delivered = deliver()
    finally:
        if profiler is not None:
            profiler.disable()
    phase.deliver_seconds = time.perf_counter() - started
    phase.deliver_cpu_seconds = time.process_time() - cpu
    wechat_after = wechat.cpu_seconds()
    if wechat_cpu is not None and wechat_after is not None:
        phase.wechat_cpu_seconds = wechat_after - wechat_cpu
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(os.environ.get("FANOUT_PROFILE_SORT", "tottime")).print_stats(25)
        print(f"--- profile of the {phase.name} delivery (main thread, by own time) ---")
        print("\n".join(out.getvalue().splitlines()[:40]))


# -- accounting -------------------------------------------------------------------------------------


def account(rt: Runtime, received: list[dict[str, Any]], phases: list[Phase]) -> None:
    """Fill in not_sent / missing / duplicates / misrouted of every phase."""
    seen: Counter[str] = Counter()
    routed: dict[str, set[str]] = {}
    for message in received:
        data = message.get("data") or {}
        message_id = str((data.get("thing2") or {}).get("value", ""))
        seen[message_id] += 1
        routed.setdefault(message_id, set()).add(str(message.get("touser")))
    with rt.db.read() as session:
        for phase in phases:
            unsent = {
                key.split(":")[1]
                for key in session.scalars(
                    sa.select(OutboxMessage.dedupe_key).where(
                        _phase_rows(phase), OutboxMessage.status != DeliveryStatus.SENT
                    )
                )
            }
            queued = {
                key.split(":")[1]
                for key in session.scalars(sa.select(OutboxMessage.dedupe_key).where(_phase_rows(phase)))
            }
            phase.not_sent = len(unsent) + len(set(phase.expected) - queued)
            phase.lost = sum(
                1
                for message_id in phase.expected
                if message_id in unsent or message_id not in queued or seen[message_id] == 0
            )
            phase.missing = sum(1 for message_id in phase.expected if seen[message_id] == 0)
            phase.duplicates = sum(max(0, seen[message_id] - 1) for message_id in phase.expected)
            phase.misrouted = sum(
                1
                for message_id, openid in phase.expected.items()
                if seen[message_id] and routed.get(message_id) != {openid}
            )


def per_recipient_check(received: list[dict[str, Any]], phases: list[Phase]) -> int:
    """Messages per recipient at the simulator minus those queued for them (absolute differences)."""
    queued: Counter[str] = Counter(openid for phase in phases for openid in phase.expected.values())
    got: Counter[str] = Counter(str(message.get("touser")) for message in received)
    return sum(abs(got[openid] - queued[openid]) for openid in set(queued) | set(got))


# -- main -------------------------------------------------------------------------------------------


def naive_size(args: argparse.Namespace) -> int:
    if args.naive_messages:
        return int(min(args.naive_messages, args.messages))
    if args.latency_ms <= 0:
        return int(args.messages)
    per_message = args.latency_ms / 1000 + NAIVE_OVERHEAD_SECONDS
    return int(min(args.messages, max(100, math.floor(NAIVE_BUDGET_SECONDS / per_message))))


def _wechat_cpu(phase: Phase) -> str:
    figure = phase.wechat_cpu_ms_per_message
    return "" if figure is None else f" (WeChat side: {figure:.2f} ms/msg)"


def bench(rt: Runtime, simulator: Simulator, args: argparse.Namespace) -> int:
    real = Phase("real", args.messages, {})
    naive = Phase("naive", naive_size(args), {})
    grants_each = math.ceil((real.count + naive.count) / args.recipients)
    users = seed_users(rt, args.recipients, grants_each)
    if args.latency_ms > 0:
        # Every subscribe-message request of both phases sleeps this long in the simulator.
        simulator.inject_fault(
            SUBSCRIBE_PATH, delay_seconds=args.latency_ms / 1000, count=10 * (real.count + naive.count)
        )
    how = "deliver_due loop, 1 worker" if args.workers == 1 else f"{args.workers} threads x deliver_batch"
    if args.processes > 1:
        how = f"{args.processes} job processes x deliver_due loop"
    print(
        f"database: {rt.db.engine.dialect.name}, messages: {real.count} real / {naive.count} naive, "
        f"recipients: {args.recipients}, simulator latency: {args.latency_ms:g} ms "
        f"({_wechat_kind(args)}), "
        f"real path: {how} (batch {rt.settings.notify.batch_size}, "
        f"{rt.settings.notify.send_threads} send threads per batch)"
    )

    enqueue(rt, real, users, args.chunk)
    print(f"enqueue real:  {real.count} in {real.enqueue_seconds:.2f}s = {real.enqueue_rate:.0f} msg/s")

    # Started (imports, runtime, connections) before the clock, as running job processes are.
    processes = JobProcesses(rt.settings, args.processes) if args.processes > 1 else None
    children_cpu = 0.0

    def send_real() -> int:
        nonlocal children_cpu
        if processes is not None:
            report, children_cpu = processes.run()
        else:
            report = deliver_real(rt, args.workers)
        if report.errors or report.dead or report.retried:
            print(f"  real path: retried={report.retried} dead={report.dead} errors={report.errors[:3]}")
        return report.sent

    timed(real, send_real, args.profile, simulator)
    real.deliver_cpu_seconds += children_cpu
    print(
        f"deliver real:  {real.delivered} in {real.deliver_seconds:.2f}s = {real.rate:.0f} msg/s, "
        f"CPU {real.cpu_ms_per_message:.2f} ms/msg{_wechat_cpu(real)}"
    )

    enqueue(rt, naive, users, args.chunk)
    print(f"enqueue naive: {naive.count} in {naive.enqueue_seconds:.2f}s = {naive.enqueue_rate:.0f} msg/s")
    timed(naive, lambda: deliver_naive(rt, naive), False, simulator)
    print(
        f"deliver naive: {naive.delivered} in {naive.deliver_seconds:.2f}s = {naive.rate:.0f} msg/s, "
        f"CPU {naive.cpu_ms_per_message:.2f} ms/msg{_wechat_cpu(naive)}"
    )

    received = simulator.messages()
    account(rt, received, [real, naive])
    mismatch = per_recipient_check(received, [real, naive])
    ratio = real.rate / naive.rate if naive.rate else 0.0
    print(f"ratio real/naive: {ratio:.2f}x")
    failed = False
    for phase in (real, naive):
        print(
            f"{phase.name}: lost={phase.lost} (outbox not sent={phase.not_sent}, missing at simulator="
            f"{phase.missing}), duplicates={phase.duplicates}, misrouted={phase.misrouted}"
        )
        failed = failed or bool(phase.lost or phase.duplicates or phase.misrouted)
    print(f"per-recipient count mismatch at the simulator: {mismatch}")
    failed = failed or bool(mismatch)
    lost = real.lost + naive.lost
    print(f"RESULT: {'FAIL' if failed else 'ok'} (lost={lost})")
    return 1 if failed else 0


def _wechat_kind(args: argparse.Namespace) -> str:
    if args.wechat == "sink":
        return "the sink, own process"
    return "simulator, " + ("own process" if args.simulator_process else "in this process")


def _start_wechat(args: argparse.Namespace) -> Simulator:
    if args.wechat == "sink":
        return SinkProcess()
    if args.simulator_process:
        return ChildProcessSimulator(keep_alive=args.keep_alive)
    return InProcessSimulator(keep_alive=args.keep_alive)


def run(args: argparse.Namespace, tmp_dir: Path) -> int:
    logging.basicConfig(level=logging.WARNING)
    simulator = _start_wechat(args)
    try:
        with fresh_database(args.database_url, tmp_dir, "fanout") as url:
            notify = {
                key: value
                for key, value in (("send_threads", args.send_threads), ("batch_size", args.batch_size))
                if value
            }
            settings = bench_settings(url, simulator.base_url, tmp_dir / "var", timeout_seconds=10, notify=notify)
            upgrade(settings)
            rt = build_runtime(settings)
            try:
                return bench(rt, simulator, args)
            finally:
                rt.db.dispose()
    finally:
        simulator.stop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=20_000, help="messages per phase (default 20000)")
    parser.add_argument(
        "--database-url",
        default="",
        help="PostgreSQL URL: a fresh database is created beside it and dropped afterwards. "
        "Default: a SQLite file in a temporary directory.",
    )
    parser.add_argument("--latency-ms", type=float, default=0, help="simulator delay per send (default 0)")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="delivery workers (threads) for the real path, sharing this process's send threads "
        "(--processes stands in for job processes)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="job processes for the real path, each with its own runtime (instead of --workers threads)",
    )
    parser.add_argument(
        "--recipients", type=int, default=0, help="distinct recipients (default 1000, at most --messages)"
    )
    parser.add_argument("--send-threads", type=int, default=0, help="notify.send_threads (default: config.toml's)")
    parser.add_argument("--batch-size", type=int, default=0, help="notify.batch_size (default: config.toml's)")
    parser.add_argument("--chunk", type=int, default=2000, help="messages per enqueue transaction (default 2000)")
    parser.add_argument(
        "--naive-messages",
        type=int,
        default=0,
        help=f"messages of the naive phase (default: --messages, or ~{NAIVE_BUDGET_SECONDS}s worth with latency)",
    )
    parser.add_argument(
        "--simulator-process",
        action="store_true",
        help="run the simulator in a child process instead of a thread of this one (no shared GIL)",
    )
    parser.add_argument(
        "--keep-alive",
        action="store_true",
        help="the simulator keeps connections open (HTTP/1.1), as WeChat does; default: one per request",
    )
    parser.add_argument(
        "--wechat",
        choices=("simulator", "sink"),
        default="simulator",
        help="what answers the sends: the WeChat simulator (default), or bench/wechat_sink.py, an asyncio "
        "stand-in in its own process that costs far less CPU per message (to measure the sender itself)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the real delivery (main thread)")
    args = parser.parse_args(argv)
    if not 1 <= args.messages <= MAX_MESSAGES:
        parser.error(f"--messages must be between 1 and {MAX_MESSAGES}")
    if not 1 <= args.workers <= MAX_WORKERS:
        parser.error(f"--workers must be between 1 and {MAX_WORKERS}")
    if not 1 <= args.processes <= MAX_PROCESSES:
        parser.error(f"--processes must be between 1 and {MAX_PROCESSES}")
    if args.processes > 1 and args.workers > 1:
        parser.error("--processes and --workers: one or the other")
    if not 0 <= args.latency_ms <= MAX_LATENCY_MS:
        parser.error(f"--latency-ms must be between 0 and {MAX_LATENCY_MS}")
    args.recipients = args.recipients or min(DEFAULT_RECIPIENTS, args.messages)
    if not 1 <= args.recipients <= args.messages:
        parser.error("--recipients must be between 1 and --messages")
    if not 1 <= args.chunk <= MAX_MESSAGES:
        parser.error(f"--chunk must be between 1 and {MAX_MESSAGES}")
    if args.naive_messages < 0:
        parser.error("--naive-messages must not be negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="linli-fanout-") as tmp:
        return run(args, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
