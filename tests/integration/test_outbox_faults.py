"""The outbox under faults, with real processes and servers (goals G3, G4, G6 of docs/operations.md):
WeChat down for a while, a relay SIGKILLed mid-batch, and two `linli jobs` processes sharing one
PostgreSQL database. Everything talks to 127.0.0.1 only."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import pytest
import sqlalchemy as sa

from app.core.clock import now_utc
from app.core.config import PROJECT_ROOT
from app.core.job_runs import JobRun
from app.identity.models import User
from app.notify.chains import Addressee
from app.notify.consent import add_grants
from app.notify.delivery import deliver_due, outbox_counts
from app.notify.models import DeliveryStatus, OutboxMessage
from app.notify.outbox import notify_user
from app.orders.texts import OrderFacts, render
from app.runtime import Runtime, build_runtime
from tests.conftest import make_settings
from tests.dbutil import TEST_DATABASE_URL
from wechat_sim import SimulatorServer

SUBSCRIBE_PATH = "/cgi-bin/message/subscribe/send"


# -- helpers -------------------------------------------------------------------------------------


def _queue(rt: Runtime, count: int, prefix: str) -> list[str]:
    """``count`` users, each with one order_claimed grant and one queued subscribe message."""
    openids = [f"{prefix}-{i:04d}" for i in range(count)]
    at = now_utc()
    with rt.db.write() as session:
        users = [User(openid=openid, nickname=f"居民{i}") for i, openid in enumerate(openids)]
        session.add_all(users)
        session.flush()
        for i, user in enumerate(users):
            add_grants(session, user.id, ["order_claimed"])
            facts = OrderFacts(
                order_id=i + 1,
                number=f"SQ1-{i:06d}",
                title="帮忙买菜",
                category="买菜代购",
                community="和平社区",
                at=at,
            )
            queued = notify_user(
                session,
                rt.settings.notify,
                user=user,
                template_key="order_claimed",
                rendered=render("order_claimed", facts),
                dedupe_key=f"test:{prefix}:{i}",
                addressee=Addressee.MEMBER,
                now=at,
            )
            assert queued
    counts = outbox_counts(rt)
    assert counts["pending"] == count, counts
    return openids


def _rows(rt: Runtime) -> list[OutboxMessage]:
    with rt.db.read() as session:
        rows = list(session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))
        session.expunge_all()
        return rows


def _child_env(database_url: str, api_base: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a child process: ours without any LINLI_ setting, then the test's."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LINLI_")}
    env.update(
        {
            "LINLI_DATABASE__URL": database_url,
            "LINLI_WECHAT__API_BASE": api_base,
            "LINLI_WECHAT__WECOM_API_BASE": api_base,
            "LINLI_WECHAT__TIMEOUT_SECONDS": "5",
            "LINLI_WECHAT__MINIPROGRAM__SECRET": "test-mp-secret",
            "LINLI_WECHAT__OFFICIAL_ACCOUNT__SECRET": "test-oa-secret",
            "LINLI_WECHAT__OFFICIAL_ACCOUNT__TOKEN": "test-oa-token",
            "LINLI_APP__VAR_DIR": str(var_dir),
            "LINLI_AUTH__SECRET_KEY": "test-signing-key",
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
    )
    return env


def _stop(process: subprocess.Popen[Any], seconds: float = 15) -> int:
    """SIGTERM, then SIGKILL if it does not go; the exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=seconds)
    return int(process.returncode)


@pytest.fixture
def lone_simulator() -> Iterator[SimulatorServer]:
    """A simulator of this test's own, on a port of its own, that the test may stop and restart."""
    server = SimulatorServer(host="127.0.0.1", port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# -- WeChat down for a while ---------------------------------------------------------------------


def test_a_wechat_outage_delays_messages_and_loses_none(
    rt: Runtime, lone_simulator: SimulatorServer, tmp_path: Path
) -> None:
    url = lone_simulator.base_url
    runtime = build_runtime(make_settings(rt.settings.database_url, url, tmp_path))
    try:
        openids = _queue(runtime, 30, "outage")
        lone_simulator.stop()

        t0 = now_utc()
        started = time.monotonic()
        first = deliver_due(runtime, now=t0)
        assert time.monotonic() - started < 10  # connection refused is quick, nobody hangs
        assert (first.claimed, first.retried, first.sent, first.dead, first.skipped) == (30, 30, 0, 0, 0)
        rows = _rows(runtime)
        assert {row.status for row in rows} == {DeliveryStatus.PENDING}
        assert all(row.attempts == 1 for row in rows)
        assert all(row.next_attempt_at > t0 for row in rows)  # backed off, not due again at once
        assert all(row.locked_until is None for row in rows)
        assert all("errcode=None" in row.last_error for row in rows), rows[0].last_error
        # Nothing is due at t0 any more: a second run at the same moment claims nothing.
        assert deliver_due(runtime, now=t0).claimed == 0

        # Still down an hour later: one more attempt each, backed off again (full jitter, capped).
        t1 = t0 + timedelta(hours=1)
        second = deliver_due(runtime, now=t1)
        assert (second.claimed, second.retried) == (30, 30)
        rows = _rows(runtime)
        assert all(row.attempts == 2 and row.status == DeliveryStatus.PENDING for row in rows)
        ceiling = timedelta(seconds=runtime.settings.notify.backoff_base_seconds * 2)
        assert all(t1 < row.next_attempt_at <= t1 + ceiling for row in rows)

        # WeChat is back on the same address; once the backoff has passed, everything goes once.
        assert lone_simulator.start() == url
        third = deliver_due(runtime, now=t0 + timedelta(hours=2))
        assert (third.claimed, third.sent, third.dead) == (30, 30, 0)
        rows = _rows(runtime)
        assert {row.status for row in rows} == {DeliveryStatus.SENT}
        assert all(row.attempts == 3 and row.last_error == "" for row in rows)
        received = Counter(m["touser"] for m in lone_simulator.state.messages())
        assert received == Counter(dict.fromkeys(openids, 1))
        counts = outbox_counts(runtime)
        assert counts == {"pending": 0, "sending": 0, "sent": 30, "dead": 0, "skipped": 0}
        assert deliver_due(runtime, now=t0 + timedelta(days=1)).claimed == 0
    finally:
        runtime.db.dispose()


# -- SIGKILL mid-batch ---------------------------------------------------------------------------


def _run_worker_and_kill_it(env: dict[str, str], log_path: Path, simulator: SimulatorServer, after: int) -> datetime:
    """Start the relay, SIGKILL it once the simulator has ``after`` messages; the moment of the kill."""
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.outbox_worker"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while len(simulator.state.messages()) < after:
                assert worker.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "the worker sent nothing in 60 s"
                time.sleep(0.005)
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
            killed_at = now_utc()
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=10)
    assert worker.returncode == -signal.SIGKILL
    return killed_at


def test_a_relay_killed_mid_batch_loses_nothing_and_duplicates_at_most_one_batch(
    rt: Runtime, simulator: SimulatorServer, tmp_path: Path
) -> None:
    total, batch, lease = 300, 50, 2
    settings = make_settings(
        rt.settings.database_url, simulator.base_url, tmp_path, notify={"lease_seconds": lease, "batch_size": batch}
    )
    runtime = build_runtime(settings)
    try:
        openids = _queue(runtime, total, "kill")
        # 50 ms per send: a batch of 50 on 8 threads is ~0.35 s in flight, room to kill inside it.
        simulator.state.inject_fault(SUBSCRIBE_PATH, delay_seconds=0.05, count=total)
        env = _child_env(
            settings.database_url,
            simulator.base_url,
            tmp_path,
            LINLI_NOTIFY__LEASE_SECONDS=str(lease),
            LINLI_NOTIFY__BATCH_SIZE=str(batch),
            LINLI_APP__LOG_LEVEL="WARNING",
        )
        killed_at = _run_worker_and_kill_it(env, tmp_path / "worker.log", simulator, after=batch + batch // 5)
        received_at_kill = len(simulator.state.messages())
        at_kill = outbox_counts(runtime)
        # The kill was mid-batch: leased rows stay in `sending`, and only whole batches were recorded.
        assert 0 < at_kill["sending"] <= batch, at_kill
        assert at_kill["sent"] >= batch, at_kill
        assert at_kill["sent"] % batch == 0, at_kill
        assert sum(at_kill.values()) == total

        # Within the lease nobody takes the dead worker's rows; the rest is delivered meanwhile.
        within = deliver_due(runtime, now=killed_at)
        assert within.dead == 0
        assert outbox_counts(runtime)["sending"] == at_kill["sending"]
        # After the lease (plus one poll), they are taken again and everything is sent.
        after = deliver_due(runtime, now=killed_at + timedelta(seconds=lease + 1))
        assert after.claimed == at_kill["sending"]
        counts = outbox_counts(runtime)
        assert counts == {"pending": 0, "sending": 0, "sent": total, "dead": 0, "skipped": 0}
        rows = _rows(runtime)
        assert all(row.status == DeliveryStatus.SENT for row in rows)
        assert max(row.attempts for row in rows) == 2

        received = Counter(m["touser"] for m in simulator.state.messages())
        assert set(received) == set(openids)  # 0 lost: every dedupe key reached WeChat
        duplicates = sum(n - 1 for n in received.values())
        print(
            f"\nG3 SIGKILL mid-batch: {total} messages, batch {batch}, {received_at_kill} received at the kill, "
            f"{at_kill['sending']} rows left in sending, {duplicates} duplicate deliveries"
        )
        assert duplicates <= batch
        # Only rows of the killed batch can be duplicated, and each at most once.
        assert max(received.values()) <= 2
        resent = {row.recipient for row in rows if row.attempts == 2}
        assert {openid for openid, n in received.items() if n > 1} <= resent
    finally:
        runtime.db.dispose()


# -- two job processes on PostgreSQL -------------------------------------------------------------

_CLAIMED = re.compile(r"job deliver_outbox: claimed=(\d+) sent=(\d+)")
_SLA_RAN = re.compile(r"job sla_reminders: ")
#: The first sla_reminders firing comes one interval (60 s) after a job process starts.
_JOB_WAIT_SECONDS = 80


def _wait(predicate: Any, seconds: float, processes: list[subprocess.Popen[Any]], logs: list[Path]) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        for process, log in zip(processes, logs, strict=True):
            assert process.poll() is None, f"a job process exited early:\n{log.read_text()}"
        if time.monotonic() > deadline:
            pytest.fail(f"not done within {seconds} s")
        time.sleep(0.2)


def _start_jobs(env: dict[str, str], logs: list[Path], cwd: Path) -> tuple[list[subprocess.Popen[Any]], list[IO[str]]]:
    """One `linli jobs` process per log file; the processes and the open logs (the caller closes them)."""
    linli = Path(sys.executable).parent / "linli"
    processes: list[subprocess.Popen[Any]] = []
    files: list[IO[str]] = []
    for log in logs:
        out: IO[str] = log.open("w")
        files.append(out)
        processes.append(
            subprocess.Popen(  # noqa: S603 - our own console script
                [str(linli), "jobs"], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        )
    return processes, files


def _sla_runs(rt: Runtime) -> list[tuple[str, str, datetime | None, str]]:
    with rt.db.read() as session:
        rows = session.execute(
            sa.select(JobRun.slot, JobRun.runner, JobRun.finished_at, JobRun.outcome)
            .where(JobRun.job_id == "sla_reminders")
            .order_by(JobRun.id)
        ).all()
    return [(slot, runner, finished, outcome) for slot, runner, finished, outcome in rows]


@pytest.mark.postgres
@pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs LINLI_TEST_DATABASE_URL (PostgreSQL)")
def test_two_job_processes_share_the_outbox_and_run_each_slot_once(
    rt: Runtime, simulator: SimulatorServer, tmp_path: Path
) -> None:
    total = 500
    openids = _queue(rt, total, "jobs")
    # 50 ms per send: draining takes several seconds, so both processes' 2 s ticks find work.
    simulator.state.inject_fault(SUBSCRIBE_PATH, delay_seconds=0.05, count=total)
    env = _child_env(rt.settings.database_url, simulator.base_url, tmp_path, LINLI_APP__LOG_LEVEL="INFO")
    logs = [tmp_path / "jobs-a.log", tmp_path / "jobs-b.log"]
    processes, files = _start_jobs(env, logs, tmp_path)
    try:
        started = time.monotonic()
        _wait(lambda: outbox_counts(rt)["sent"] == total, 60, processes, logs)
        drained = time.monotonic() - started
        # Wait for the first minute slot of the exclusive job, and a moment for the other process to
        # try the same slot.
        _wait(lambda: any(run[2] is not None for run in _sla_runs(rt)), _JOB_WAIT_SECONDS, processes, logs)
        time.sleep(1.5)
    finally:
        codes = [_stop(process) for process in processes]
        for out in files:
            out.close()
    assert codes == [0, 0], [log.read_text()[-2000:] for log in logs]
    texts = [log.read_text() for log in logs]

    # Each row claimed once and sent once; each recipient got exactly one message.
    rows = _rows(rt)
    assert len(rows) == total
    assert all(row.status == DeliveryStatus.SENT and row.attempts == 1 for row in rows)
    received = Counter(m["touser"] for m in simulator.state.messages())
    assert received == Counter(dict.fromkeys(openids, 1))
    claimed_by = [sum(int(m.group(1)) for m in _CLAIMED.finditer(text)) for text in texts]
    assert sum(claimed_by) == total, claimed_by
    # Both processes took part (SKIP LOCKED shares the rows rather than making one wait).
    assert all(n > 0 for n in claimed_by), claimed_by

    # Exclusive job: each (job, slot) ran once in all, in one of the two processes.
    runs = _sla_runs(rt)
    runners = {f"{socket.gethostname()}:{process.pid}" for process in processes}
    assert runs
    assert len({slot for slot, *_ in runs}) == len(runs)
    assert {runner for _, runner, _, _ in runs} <= runners
    assert all(outcome.startswith("queued=") for *_, outcome in runs), runs
    ran = sum(len(_SLA_RAN.findall(text)) for text in texts)
    assert ran == len(runs), (ran, runs)
    with rt.db.read() as session:
        recorded = set(session.scalars(sa.select(JobRun.job_id).distinct()))
    assert "deliver_outbox" not in recorded  # non-exclusive: every process runs it, nothing recorded
    print(
        f"\nG6 two job processes: {total} sent in {drained:.1f} s, claimed per process {claimed_by}, "
        f"sla_reminders runs {[(slot, runner) for slot, runner, _, _ in runs]}, 0 duplicate deliveries"
    )


# -- order per person, and a graceful stop ------------------------------------------------------


def _queue_sequences(rt: Runtime, people: int, each: int, prefix: str) -> dict[str, list[str]]:
    """``people`` users with ``each`` messages queued to each, interleaved across people as a busy
    afternoon would queue them; answers each person's message titles in queueing order."""
    openids = [f"{prefix}-{i:03d}" for i in range(people)]
    at = now_utc()
    expected: dict[str, list[str]] = {openid: [] for openid in openids}
    with rt.db.write() as session:
        users = [User(openid=openid, nickname=f"居民{i}") for i, openid in enumerate(openids)]
        session.add_all(users)
        session.flush()
        for user in users:
            add_grants(session, user.id, ["order_claimed"] * each)
        for k in range(each):
            for i, user in enumerate(users):
                title = f"第{k}条消息{i}"
                facts = OrderFacts(
                    order_id=k * people + i + 1,
                    number=f"SQ1-{k:03d}{i:03d}",
                    title=title,
                    category="买菜代购",
                    community="和平社区",
                    at=at,
                )
                assert notify_user(
                    session,
                    rt.settings.notify,
                    user=user,
                    template_key="order_claimed",
                    rendered=render("order_claimed", facts),
                    dedupe_key=f"test:{prefix}:{i}:{k}",
                    addressee=Addressee.MEMBER,
                    now=at,
                )
                expected[user.openid or ""].append(title)
    return expected


def _titles(simulator: SimulatorServer, openid: str, titles: list[str]) -> list[str]:
    """Which of ``titles`` each message the simulator recorded for ``openid`` carried, in order."""
    found: list[str] = []
    for message in simulator.state.messages(openid):
        values = {field["value"] for field in message["data"].values()}
        found.extend(title for title in titles if title in values)
    return found


@pytest.mark.postgres
@pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs LINLI_TEST_DATABASE_URL (PostgreSQL)")
def test_two_job_processes_keep_each_persons_order_and_send_each_message_once(
    rt: Runtime, simulator: SimulatorServer, tmp_path: Path
) -> None:
    people, each = 100, 5
    expected = _queue_sequences(rt, people, each, "order")
    # 50 ms a send: draining takes several seconds, so both processes' 2 s ticks find work, and
    # their batches interleave; the order must hold anyway.
    simulator.state.inject_fault(SUBSCRIBE_PATH, delay_seconds=0.05, count=people * each)
    env = _child_env(rt.settings.database_url, simulator.base_url, tmp_path, LINLI_APP__LOG_LEVEL="INFO")
    logs = [tmp_path / "order-a.log", tmp_path / "order-b.log"]
    processes, files = _start_jobs(env, logs, tmp_path)
    try:
        _wait(lambda: outbox_counts(rt)["sent"] == people * each, 120, processes, logs)
    finally:
        codes = [_stop(process) for process in processes]
        for out in files:
            out.close()
    assert codes == [0, 0], [log.read_text()[-2000:] for log in logs]
    texts = [log.read_text() for log in logs]
    claimed_by = [sum(int(m.group(1)) for m in _CLAIMED.finditer(text)) for text in texts]
    assert all(n > 0 for n in claimed_by), claimed_by  # both processes delivered
    for openid, titles in expected.items():
        assert _titles(simulator, openid, titles) == titles, openid  # in order, each once
    assert len(simulator.state.messages()) == people * each


def test_sigterm_finishes_the_message_in_hand_and_gives_the_rest_back(
    rt: Runtime, simulator: SimulatorServer, tmp_path: Path
) -> None:
    total = 600
    openids = _queue(rt, total, "term")
    # 50 ms a send: draining would take ~4 s of batches; the stop must not wait for it.
    simulator.state.inject_fault(SUBSCRIBE_PATH, delay_seconds=0.05, count=total)
    env = _child_env(rt.settings.database_url, simulator.base_url, tmp_path, LINLI_APP__LOG_LEVEL="INFO")
    linli = Path(sys.executable).parent / "linli"
    log = tmp_path / "term.log"
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603 - our own console script
            [str(linli), "jobs"], cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 60
            while len(simulator.state.messages()) < 60:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the job process sent nothing in 60 s"
                time.sleep(0.01)
            process.send_signal(signal.SIGTERM)
            asked = time.monotonic()
            code = process.wait(timeout=30)
            took = time.monotonic() - asked
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    assert code == 0, log.read_text()[-2000:]
    assert took < 5, f"exit took {took:.1f} s"
    counts = outbox_counts(rt)
    sent_at_stop = len(simulator.state.messages())
    # Nothing left in flight, nothing lost: what WeChat got is recorded sent, the rest is pending.
    assert counts["sending"] == 0, counts
    assert counts["sent"] == sent_at_stop < total, counts
    assert counts["pending"] == total - sent_at_stop
    rows = _rows(rt)
    assert all(row.attempts == 0 for row in rows if row.status == DeliveryStatus.PENDING)
    print(f"\nSIGTERM: exited in {took:.2f} s with {sent_at_stop} of {total} sent, the rest back in the queue")
    # Another process takes the rest; every message reaches WeChat exactly once.
    deliver_due(rt)
    assert Counter(m["touser"] for m in simulator.state.messages()) == Counter(dict.fromkeys(openids, 1))
