"""Job log lines carry the job's name: the scheduler's summary and every line logged inside the
use case, in the JSON format (``job``) as in the text format (``[job:<name>]``)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime

import pytest

from app.core.logs import ContextFilter, current_context, make_formatter
from app.runtime import Runtime
from jobs.registry import JobSpec
from jobs.scheduler import fire


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(make_formatter("json"))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def _noisy(rt: Runtime, now: datetime | None) -> str:
    del rt, now
    logging.getLogger("app.notify.delivery").warning("WeChat answered 45009; pausing the channel")
    return "sent=1"


def _failing(rt: Runtime, now: datetime | None) -> str:
    del rt, now
    raise RuntimeError("boom")


def test_every_line_of_a_firing_names_its_job(rt: Runtime, output: io.StringIO) -> None:
    assert fire(rt, JobSpec("noisy_job", _noisy, every_seconds=2, exclusive=False)) == "sent=1"
    inside, summary = (json.loads(line) for line in output.getvalue().splitlines())
    assert (inside["logger"], inside["job"]) == ("app.notify.delivery", "noisy_job")
    assert (summary["logger"], summary["job"]) == ("jobs.scheduler", "noisy_job")
    assert summary["message"] == "job noisy_job: sent=1"
    assert "request_id" not in summary
    assert current_context() == {}  # nothing left behind for the scheduler's next firing


def test_a_failing_job_logs_its_traceback_under_its_name(rt: Runtime, output: io.StringIO) -> None:
    outcome = fire(rt, JobSpec("failing_job", _failing, every_seconds=60, exclusive=False))
    assert outcome == "error: RuntimeError: boom"
    failed = json.loads(output.getvalue().splitlines()[0])
    assert failed["job"] == "failing_job"
    assert failed["level"] == "ERROR"
    assert "RuntimeError: boom" in failed["exc_info"]
