"""The soak (bench/soak.py) in short: 45 s of the whole order loop against gunicorn, two job
processes and the simulator, with faults injected, on SQLite; nothing acknowledged may be lost and
nothing may be inconsistent. Also: the soak's checks do catch what they claim to catch."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from app.core.config import TimebankSection
from app.notify.models import DeliveryStatus
from app.orders.models import Order, OrderEvent, Rating
from app.orders.workflow import Action, OrderStatus
from app.timebank.ledger import PointsEntry
from tests.dbutil import TEST_DATABASE_URL

ROOT = Path(__file__).resolve().parents[2]
SOAK = ROOT / "bench" / "soak.py"
SECONDS = 45
#: A hang fails the test rather than holding the suite. Not a speed check: how long the soak
#: takes depends on the machine (its figures are bench/soak.py's to print, not a test's to assert).
HANG_SECONDS = 400


def _load_soak() -> ModuleType:
    """bench/soak.py as a module (bench/ is scripts, not a package; it imports bench_common)."""
    sys.path.insert(0, str(SOAK.parent))
    try:
        spec = importlib.util.spec_from_file_location("bench_soak", SOAK)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up while being made
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(SOAK.parent))


@pytest.mark.soak
@pytest.mark.skipif(
    bool(TEST_DATABASE_URL),
    reason="runs once, in CI's SQLite pass: it builds its own SQLite database whatever the suite's "
    "(the PostgreSQL mode is bench/soak.py --database-url, not for a shared server's test run)",
)
def test_a_short_soak_loses_nothing_and_stays_consistent() -> None:
    started = time.monotonic()
    done = subprocess.run(  # noqa: S603 - the project's own benchmark, with our interpreter
        [sys.executable, str(SOAK), "--seconds", str(SECONDS), "--fault-every", "4", "--drain-seconds", "20"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HANG_SECONDS,
        check=False,
    )
    took = time.monotonic() - started
    out = done.stdout
    print(f"\nsoak of {SECONDS} s took {took:.0f} s:\n{out}\n{done.stderr[-3000:]}")
    assert done.returncode == 0, out + done.stderr[-3000:]
    assert re.search(r"^lost: 0$", out, re.M), out
    assert re.search(r"^inconsistent: 0$", out, re.M), out
    assert re.search(r"^5xx / no answer outside injected kills: 0$", out, re.M), out
    # It did soak: orders went round the loop, and faults of several kinds were injected.
    rated = re.search(r"acknowledged ratings (\d+)", out)
    assert rated is not None, out
    assert int(rated.group(1)) > 0, out
    faults = re.search(r"^faults injected: (.*)$", out, re.M)
    assert faults is not None, out
    assert len(faults.group(1).split(",")) >= 2, out


# -- the checks themselves, on rows made by hand -------------------------------------------------


def _event(order_id: int, n: int, action: Action, source: OrderStatus | None, target: OrderStatus) -> OrderEvent:
    return OrderEvent(id=n, order_id=order_id, action=action, from_status=source, to_status=target)


def _stored(soak: ModuleType) -> Any:
    """One pooled, claimed, completed (with no start: the default hour) and rated order (category
    1: 5 points an hour) and its ledger."""
    at = datetime(2026, 12, 1, tzinfo=UTC)
    order = Order(
        id=1,
        title="soak abc",
        resident_id=10,
        category_id=1,
        status=OrderStatus.CLOSED,
        assignee_id=20,
        dispatched_at=at,
        accepted_at=at,
        due_at=at,
        completed_at=at,
        closed_at=at,
        rating_score=4,
    )
    s = OrderStatus
    trail = [
        _event(1, 1, Action.SUBMIT, None, s.SUBMITTED),
        _event(1, 2, Action.PUBLISH, s.SUBMITTED, s.POOLED),
        _event(1, 3, Action.CLAIM, s.POOLED, s.ACCEPTED),
        _event(1, 4, Action.COMPLETE, s.ACCEPTED, s.COMPLETED),
        _event(1, 5, Action.RATE, s.COMPLETED, s.CLOSED),
    ]
    return soak.Stored(
        orders={1: order},
        trails={1: trail},
        ratings={1: Rating(order_id=1, score=4, assignee_id=20)},
        categories={1: ("grocery", 5)},
        timebank=TimebankSection(),
        entries=[PointsEntry(user_id=20, delta=5, order_id=1, kind="earned", settlement=1, minutes=60)],
        outbox=[(1, DeliveryStatus.SENT, ""), (2, DeliveryStatus.DEAD, "errcode=-1 system error")],
        raw_statuses={"closed"},
    )


def _findings(soak: ModuleType, stored: Any, record: Any, received: int = 1) -> Any:
    found = soak.Findings(orders=len(stored.orders), simulator_received=received)
    soak.check_orders(stored, found)
    soak.check_acknowledged(stored, record, found)
    soak.check_ledger(stored, found)
    soak.check_outbox(stored, found)
    return found


@pytest.fixture(scope="module")
def soak() -> ModuleType:
    return _load_soak()


def test_the_checks_pass_a_consistent_order(soak: ModuleType) -> None:
    record = soak.Record()
    record.created[1] = (10, "abc", "soak abc")
    record.acked[(1, "claim")] = 1
    record.ratings[1] = 4
    found = _findings(soak, _stored(soak), record)
    assert (found.lost, found.inconsistent) == ([], [])


def test_the_checks_catch_lost_writes(soak: ModuleType) -> None:
    record = soak.Record()
    record.created[2] = (10, "def", "soak def")  # acknowledged, never stored
    record.acked[(1, "claim")] = 2  # two claims acknowledged, one on the trail
    record.ratings[1] = 5  # a different score than stored
    found = _findings(soak, _stored(soak), record)
    assert len(found.lost) == 3, found.lost


def test_the_checks_catch_a_broken_trail_bad_columns_a_double_credit_and_an_undrained_outbox(
    soak: ModuleType,
) -> None:
    stored = _stored(soak)
    del stored.trails[1][2]  # pooled → completed: no claim on the trail
    stored.orders[1].assignee_id = None  # closed by a rating with nobody who did the work
    stored.entries.append(PointsEntry(user_id=20, delta=5, order_id=1, kind="earned", settlement=1))  # twice
    stored.outbox.append((3, DeliveryStatus.PENDING, ""))
    stored.outbox.append((4, DeliveryStatus.DEAD, ""))
    stored.orders[1].rating_score = 5  # the rating says 4
    found = _findings(soak, stored, soak.Record(), received=0)
    text = "\n".join(found.inconsistent)
    assert "order 1: rating_score 5, its rating 4" in text
    assert "complete from accepted but the order was pooled" in text
    assert "closed without an assignee" in text
    assert "order 1, settlement 1: ['earned', 'earned']" in text
    assert "still pending after the drain" in text
    assert "dead without a reason" in text
    assert "1 messages marked sent, 0 at the simulator" in text


def test_the_checks_hold_the_ledger_to_the_earning_rule(soak: ModuleType) -> None:
    stored = _stored(soak)
    stored.entries[0].delta = 7  # 5 points an hour for the default hour, 4 stars: 5
    found = _findings(soak, stored, soak.Record())
    assert any("the rule says Earning(paid=5, held=0, minutes=60)" in line for line in found.inconsistent), found


def test_the_checks_catch_points_kept_after_a_reopening(soak: ModuleType) -> None:
    stored = _stored(soak)
    s = OrderStatus
    stored.orders[1].status = s.ACCEPTED
    stored.trails[1].append(_event(1, 6, Action.DISPUTE, s.CLOSED, s.ACCEPTED))  # no reversal written
    found = _findings(soak, stored, soak.Record())
    assert any("settlement 1 was reopened, yet 5 points remain" in line for line in found.inconsistent), found
