"""The job process's figures: runs, failures, skips and durations per job, outbox outcomes, and
the small HTTP server that serves them on metrics.jobs_port."""

from __future__ import annotations

import socket
from datetime import datetime
from pathlib import Path

import pytest
import requests

from app.core.clock import now_utc
from app.notify.delivery import DeliveryReport
from app.notify.models import Channel, DeliveryStatus, OutboxMessage
from app.runtime import Runtime
from jobs import deliver_outbox
from jobs.metrics import REGISTRY, serve_metrics, stop_metrics
from jobs.registry import JobSpec, job_specs
from jobs.scheduler import fire
from tests.conftest import make_settings


def _value(name: str, **labels: str) -> float:
    # Counters are per process and never reset: each test compares before and after.
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _ok(rt: Runtime, now: datetime | None) -> str:
    del rt, now
    return "done"


def _failing(rt: Runtime, now: datetime | None) -> str:
    del rt, now
    raise RuntimeError("boom")


def test_each_firing_is_counted_timed_and_failures_are_counted_apart(rt: Runtime) -> None:
    runs, failures = _value("linli_job_runs_total", job="m_ok"), _value("linli_job_failures_total", job="m_bad")
    timed = _value("linli_job_duration_seconds_count", job="m_ok")

    assert fire(rt, JobSpec("m_ok", _ok, every_seconds=2, exclusive=False)) == "done"
    assert fire(rt, JobSpec("m_ok", _ok, every_seconds=2, exclusive=False)) == "done"
    assert fire(rt, JobSpec("m_bad", _failing, every_seconds=2, exclusive=False)) == "error: RuntimeError: boom"

    assert _value("linli_job_runs_total", job="m_ok") == runs + 2
    assert _value("linli_job_duration_seconds_count", job="m_ok") == timed + 2
    assert _value("linli_job_failures_total", job="m_ok") == 0
    assert _value("linli_job_failures_total", job="m_bad") == failures + 1
    assert _value("linli_job_runs_total", job="m_bad") >= 1  # a failing firing is a run too
    assert _value("linli_job_last_success_timestamp_seconds", job="m_ok") >= now_utc().timestamp() - 60
    # Never succeeded: no timestamp at all, rather than a 0 that reads as "1970".
    assert REGISTRY.get_sample_value("linli_job_last_success_timestamp_seconds", {"job": "m_bad"}) is None


def test_an_exclusive_slot_claimed_elsewhere_is_a_skip_not_a_run(rt: Runtime) -> None:
    spec = JobSpec("m_exclusive", _ok, every_seconds=3600)
    runs, skipped = _value("linli_job_runs_total", job=spec.id), _value("linli_job_skipped_total", job=spec.id)
    assert fire(rt, spec) == "done"
    assert fire(rt, spec) is None  # same hour: the slot is taken (as by another job process)
    assert _value("linli_job_runs_total", job=spec.id) == runs + 1
    assert _value("linli_job_skipped_total", job=spec.id) == skipped + 1


def _outbox_spec(rt: Runtime) -> JobSpec:
    [spec] = [spec for spec in job_specs(rt.settings) if spec.id == "deliver_outbox"]
    return spec


def test_delivery_runs_count_messages_by_outcome(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    before = {o: _value("linli_outbox_deliveries_total", outcome=o) for o in ("sent", "retried", "dead", "skipped")}
    # A real message to the simulator: sent.
    now = now_utc()
    with rt.db.write() as session:
        session.add(
            OutboxMessage(
                dedupe_key="metrics-test:wecom",
                channel=Channel.WECOM,
                chain=["wecom"],
                template_key="digest",
                recipient="metrics-robot",
                payload={"msgtype": "markdown", "markdown": {"content": "x"}},
                status=DeliveryStatus.PENDING,
                next_attempt_at=now,
                created_at=now,
            )
        )
    assert fire(rt, _outbox_spec(rt)) == "claimed=1 sent=1 retried=0 skipped=0 rerouted=0 dead=0 deferred=0"
    assert _value("linli_outbox_deliveries_total", outcome="sent") == before["sent"] + 1

    # Every other outcome of a run, as deliver_due reports it.
    report = DeliveryReport(claimed=6, sent=1, retried=2, skipped=1, dead=2)
    monkeypatch.setattr(deliver_outbox, "deliver_due", lambda rt, now: report)
    fire(rt, _outbox_spec(rt))
    after = {o: _value("linli_outbox_deliveries_total", outcome=o) for o in before}
    assert {o: after[o] - before[o] for o in before} == {"sent": 2, "retried": 2, "dead": 2, "skipped": 1}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_job_process_serves_its_figures_on_the_configured_port(rt: Runtime, tmp_path: Path) -> None:
    assert serve_metrics(rt.settings) is None  # jobs_port = 0, as shipped: no server
    port = _free_port()
    settings = make_settings(
        rt.settings.database_url, rt.settings.wechat.api_base, tmp_path, metrics={"jobs_port": port}
    )
    fire(rt, JobSpec("m_served", _ok, every_seconds=2, exclusive=False))
    server = serve_metrics(settings)
    try:
        page = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    finally:
        stop_metrics(server)
    assert page.status_code == 200
    assert 'linli_job_runs_total{job="m_served"}' in page.text
    assert 'linli_outbox_deliveries_total{outcome="dead"}' in page.text
    with pytest.raises(requests.ConnectionError):  # stopped: nothing listens there any more
        requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
