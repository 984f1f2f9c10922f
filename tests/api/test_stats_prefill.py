"""Last month computed ahead (the stats_prefill job, app/community/stats_prefill.py): a month's
first request in a process that never computed it reads the job's row, and only while the
orders are those the row was made from."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from flask.testing import FlaskClient

from app.community import stats_cache
from app.community.kept_stats import KeptStats
from app.community.stats_prefill import last_month, months_back, prefill_last_month
from app.orders.models import Order
from app.runtime import Runtime
from jobs.registry import job_specs
from jobs.scheduler import fire
from tests.api.test_statement_counts import counting
from tests.api.test_stats import MARCH, T0, S, _heavy, _ok, _order, _set
from tests.factories import People, make_people, make_world

#: 2026-04-02 02:30 in Shanghai: March is over.
IN_APRIL = datetime(2026, 4, 1, 18, 30, tzinfo=UTC)
#: The world's areas: two communities and their street.
AREAS = 3


@pytest.fixture(autouse=True)
def _nothing_kept() -> None:
    """Each test starts as a new process would: nothing kept in memory (app/community/stats_cache.py)."""
    stats_cache.clear()


@pytest.fixture
def people(rt: Runtime, client: FlaskClient) -> People:
    return make_people(rt, make_world(rt), client=client)


def _rows(rt: Runtime) -> list[tuple[str, Any, int]]:
    with rt.db.read() as session:
        return [tuple(row) for row in session.execute(sa.select(KeptStats.key, KeptStats.last, KeptStats.groups))]  # type: ignore[misc]


def _answers(rt: Runtime, client: FlaskClient, people: People) -> list[tuple[dict[str, Any], list[str]]]:
    """The secretary's community and the street admin's street for March, each with the
    statements that grouped orders, as a process that has kept nothing answers them."""
    stats_cache.clear()
    answers = []
    for who, area in ((people.secretary, "SQ1"), (people.street_admin, "JD1")):
        with counting(rt) as statements:
            body = _ok(client, who, f"area={area}&{MARCH}")
        answers.append((body, _heavy(statements)))
    return answers


def _march(rt: Runtime, people: People) -> list[int]:
    return [
        _order(rt, people, S.CLOSED, T0),
        _order(rt, people, S.ACCEPTED, T0 + timedelta(days=3)),
        _order(rt, people, S.SUBMITTED, T0 - timedelta(days=30)),  # February: the period before
    ]


def test_last_month_and_the_months_kept_are_calendar_months() -> None:
    assert last_month(date(2026, 1, 1)) == (date(2025, 12, 1), date(2025, 12, 31))
    assert last_month(date(2026, 3, 31)) == (date(2026, 2, 1), date(2026, 2, 28))
    assert months_back(date(2026, 2, 1), 2) == date(2025, 12, 1)
    assert months_back(date(2026, 3, 15), 0) == date(2026, 3, 1)


def test_a_months_first_request_reads_the_jobs_row_and_answers_the_same(
    rt: Runtime, client: FlaskClient, people: People
) -> None:
    _march(rt, people)
    computed = _answers(rt, client, people)  # nothing stored yet: computed
    assert all(heavy for _body, heavy in computed)
    report = prefill_last_month(rt, IN_APRIL)
    assert (report.month, report.computed, report.unchanged) == ("2026-03", AREAS, 0)
    assert {last for _key, last, _groups in _rows(rt)} == {date(2026, 3, 31)}
    read = _answers(rt, client, people)
    assert [heavy for _body, heavy in read] == [[], []]  # no statement grouped the orders
    assert [body for body, _heavy in read] == [body for body, _heavy in computed]
    assert read[0][0]["totals"]["orders"] == 2
    assert read[0][0]["totals"]["previous"]["orders"] == 1


def test_a_second_run_computes_only_the_areas_whose_orders_moved(
    rt: Runtime, client: FlaskClient, people: People
) -> None:
    ids = _march(rt, people)
    prefill_last_month(rt, IN_APRIL)
    again = prefill_last_month(rt, IN_APRIL + timedelta(days=1))
    assert (again.computed, again.unchanged) == (0, AREAS)
    # An order of March moves (a workflow step bumps the version): its community and its street.
    _set(rt, ids[1], version=Order.version + 1, updated_at=IN_APRIL)
    moved = prefill_last_month(rt, IN_APRIL + timedelta(days=2))
    assert (moved.computed, moved.unchanged) == (2, 1)
    assert [heavy for _body, heavy in _answers(rt, client, people)] == [[], []]


def test_a_row_made_from_other_orders_is_not_used(rt: Runtime, client: FlaskClient, people: People) -> None:
    _march(rt, people)
    prefill_last_month(rt, IN_APRIL)
    _order(rt, people, S.SUBMITTED, T0 + timedelta(days=5))  # one more March order since the run
    for body, heavy in _answers(rt, client, people):
        assert heavy  # computed, not read
        assert body["totals"]["orders"] == 3


def test_a_change_to_the_period_before_alone_is_seen(rt: Runtime, client: FlaskClient, people: People) -> None:
    """The row holds the period before's totals too: a new February order makes it stale."""
    _march(rt, people)
    prefill_last_month(rt, IN_APRIL)
    _order(rt, people, S.SUBMITTED, T0 - timedelta(days=25))
    for body, heavy in _answers(rt, client, people):
        assert heavy
        assert body["totals"]["previous"]["orders"] == 2


def test_an_unreadable_row_is_computed_instead(
    rt: Runtime, client: FlaskClient, people: People, caplog: pytest.LogCaptureFixture
) -> None:
    """A row an older release wrote in another shape: the request computes, never a 500."""
    _march(rt, people)
    expected = [body for body, _heavy in _answers(rt, client, people)]
    prefill_last_month(rt, IN_APRIL)
    with rt.db.write() as session:
        session.execute(sa.update(KeptStats).values(body='{"totals": 1}'))
    answers = _answers(rt, client, people)
    assert [body for body, _heavy in answers] == expected
    assert all(heavy for _body, heavy in answers)
    assert "unreadable; computed instead" in caplog.text


def test_rows_of_months_past_those_kept_are_pruned(rt: Runtime, people: People) -> None:
    _march(rt, people)
    prefill_last_month(rt, IN_APRIL)  # March
    prefill_last_month(rt, IN_APRIL + timedelta(days=61))  # May (kept: May, April, March)
    assert len(_rows(rt)) == 2 * AREAS
    june = prefill_last_month(rt, IN_APRIL + timedelta(days=91))  # June: March goes
    assert june.pruned == AREAS
    assert {last.month for _key, last, _groups in _rows(rt)} == {5, 6}


def test_a_range_other_than_the_stored_month_is_not_read_from_it(
    rt: Runtime, client: FlaskClient, people: People
) -> None:
    _march(rt, people)
    prefill_last_month(rt, IN_APRIL)
    stats_cache.clear()
    with counting(rt) as statements:
        body = _ok(client, people.secretary, "area=SQ1&from=2026-03-01&to=2026-03-30")
    assert _heavy(statements)
    assert body["totals"]["orders"] == 2


def test_the_job_runs_daily_in_a_quiet_hour(rt: Runtime, people: People) -> None:
    _march(rt, people)
    [spec] = [spec for spec in job_specs(rt.settings) if spec.id == "stats_prefill"]
    assert (spec.daily_at, spec.monthly_day, spec.exclusive) == ((2, 30), None, True)
    with time_machine.travel(IN_APRIL, tick=False):
        assert fire(rt, spec) == f"month=2026-03 computed={AREAS} unchanged=0 pruned=0"
    with time_machine.travel(IN_APRIL + timedelta(minutes=1), tick=False):
        assert fire(rt, spec) is None  # the day's slot already ran
    with time_machine.travel(IN_APRIL + timedelta(days=1), tick=False):
        assert fire(rt, spec) == f"month=2026-03 computed=0 unchanged={AREAS} pruned=0"
