"""GET /api/v1/stats: who may read which area, the range, and hand-checked figures.

Orders are made through the services (``make_order``) and their moments then set by hand to
March 2026, long before the real clock: the figures do not depend on when the tests run."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.areas.catalogue import create_category
from app.areas.models import Area, AreaKind
from app.areas.tree import create_area
from app.audit.models import AuditEntry
from app.community import stats_cache
from app.community.stats import stats_of
from app.community.stats_rules import period
from app.core.clock import shanghai_today
from app.identity.models import User
from app.identity.roles import Role
from app.orders.models import Order, OrderEvent
from app.orders.workflow import OrderStatus
from app.runtime import Runtime
from tests.api.test_statement_counts import counting
from tests.factories import Crew, People, Person, World, make_order, make_people, make_person, make_world

S = OrderStatus
MARCH = "from=2026-03-01&to=2026-03-31"
#: 2026-03-10 09:00 in Shanghai.
T0 = datetime(2026, 3, 10, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _nothing_kept() -> None:
    """Each test starts with no kept period-before figures (app/community/stats_cache.py)."""
    stats_cache.clear()


@pytest.fixture
def people(rt: Runtime, client: FlaskClient) -> People:
    return make_people(rt, make_world(rt), client=client)


def _get(client: FlaskClient, who: Person, query: str) -> Any:
    return client.get(f"/api/v1/stats?{query}", headers=who.headers)


def _ok(client: FlaskClient, who: Person, query: str) -> dict[str, Any]:
    response = _get(client, who, query)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def _set(rt: Runtime, order_id: int, **values: Any) -> None:
    with rt.db.write() as session:
        session.execute(sa.update(Order).where(Order.id == order_id).values(**values))


def _order(rt: Runtime, people: People | Crew, status: OrderStatus, created: datetime, **values: Any) -> int:
    """An order driven to ``status``, created at ``created``; its other moments as given."""
    order_id = make_order(rt, people, World(), status=status)
    _set(rt, order_id, created_at=created, **values)
    return order_id


def _rows(rt: Runtime) -> tuple[int, int, int]:
    with rt.db.read() as session:
        return tuple(  # type: ignore[return-value]
            int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)
            for model in (Order, OrderEvent, AuditEntry)
        )


# -- bad paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "area=SQ1&from=2026-03-31&to=2026-03-01",  # reversed
        "area=SQ1&from=2025-01-01&to=2026-03-01",  # longer than 366 days
        "area=SQ1&from=2026-02-30&to=2026-03-01",  # no such day
        "area=SQ1&from=yesterday&to=2026-03-01",
        "area=SQ1&to=2026-03-01",  # no from
        "area=SQ1&from=2026-03-01",  # no to
        f"{MARCH}",  # no area
        f"area=SQ1&{MARCH}&compare=previous",  # unknown parameter
    ],
)
def test_a_bad_range_is_400_and_writes_nothing(query: str, rt: Runtime, client: FlaskClient, people: People) -> None:
    make_order(rt, people, World(), status=S.CLOSED)
    before = _rows(rt)
    response = _get(client, people.secretary, query)
    assert response.status_code == 400, response.get_json()
    assert _rows(rt) == before


def test_grid_workers_volunteers_and_residents_are_403(rt: Runtime, client: FlaskClient, people: People) -> None:
    before = _rows(rt)
    for who in (people.grid_worker, people.volunteer, people.resident):
        assert _get(client, who, f"area=SQ1&{MARCH}").status_code == 403
    assert _rows(rt) == before


def test_an_area_not_theirs_is_404(rt: Runtime, client: FlaskClient, people: People) -> None:
    other = make_person(rt, "secretary-sq2", (Role.SECRETARY, "SQ2"), client=client)
    before = _rows(rt)
    assert _get(client, other, f"area=SQ1&{MARCH}").status_code == 404
    assert _get(client, people.secretary, f"area=SQ2&{MARCH}").status_code == 404
    assert _get(client, people.secretary, f"area=JD1&{MARCH}").status_code == 404  # a secretary asks for the street
    assert _get(client, people.secretary, f"area=SQ1-G1&{MARCH}").status_code == 404  # a grid is no stats area
    assert _get(client, people.secretary, f"area=NOPE&{MARCH}").status_code == 404
    assert _rows(rt) == before


# -- figures -----------------------------------------------------------------------------------

EMPTY = {
    "orders": 0,
    "by_status": {},
    "by_category": {},
    "dispatch_minutes": None,
    "accept_minutes": None,
    "finish_hours": None,
    "sla_breaches": 0,
    "merged_duplicates": 0,
    "ratings": 0,
    "satisfaction": None,
}


def test_an_empty_range_is_zeros_and_nulls(rt: Runtime, client: FlaskClient, people: People) -> None:
    _order(rt, people, S.CLOSED, T0)  # in March, not in January
    body = _ok(client, people.secretary, "area=SQ1&from=2026-01-01&to=2026-01-31")
    assert body == {
        "area": "SQ1",
        "from": "2026-01-01",
        "to": "2026-01-31",
        "totals": {**EMPTY, "previous": EMPTY},
        "by_grid": [],
        "by_community": None,
        "by_volunteer": [],
        "opinions": {
            "visits": 0,
            "by_kind": {"home_visit": 0, "tea_talk": 0, "reception_day": 0},
            "residents_met": 0,
            "items": 0,
            "ordered": 0,
            "closed": 0,
            "by_grid": [],
            "by_community": None,
        },
    }


def test_shanghai_day_boundaries(rt: Runtime, client: FlaskClient, people: People) -> None:
    shanghai = timedelta(hours=8)
    # 2026-02-28 23:59 and 2026-03-01 00:01, 2026-03-31 23:59 and 2026-04-01 00:01, Shanghai time.
    _order(rt, people, S.SUBMITTED, datetime(2026, 2, 28, 23, 59, tzinfo=UTC) - shanghai)
    _order(rt, people, S.SUBMITTED, datetime(2026, 3, 1, 0, 1, tzinfo=UTC) - shanghai)
    _order(rt, people, S.SUBMITTED, datetime(2026, 3, 31, 23, 59, tzinfo=UTC) - shanghai)
    _order(rt, people, S.SUBMITTED, datetime(2026, 4, 1, 0, 1, tzinfo=UTC) - shanghai)
    totals = _ok(client, people.secretary, f"area=SQ1&{MARCH}")["totals"]
    assert totals["orders"] == 2
    # The period before March 1..31 is January 29 .. February 28: the 23:59 order is its only one.
    assert totals["previous"]["orders"] == 1
    assert _ok(client, people.secretary, "area=SQ1&from=2026-03-01&to=2026-03-01")["totals"]["orders"] == 1


def test_hand_checked_durations_breaches_and_ratings(rt: Runtime, client: FlaskClient, people: People) -> None:
    minute = timedelta(minutes=1)
    # Three closed orders: dispatched 10, 20, 30 min after creation; accepted 2, 4, 6 min after that;
    # completed 1, 2, 3 hours after creation; due 2 hours after creation (the third is late).
    for i, (score, created) in enumerate(((5, T0), (4, T0 + timedelta(days=1)), (3, T0 + timedelta(days=2))), 1):
        order_id = _order(
            rt,
            people,
            S.CLOSED,
            created,
            dispatched_at=created + 10 * i * minute,
            accepted_at=created + (10 * i + 2 * i) * minute,
            completed_at=created + timedelta(hours=i),
            due_at=created + timedelta(hours=2),
        )
        with rt.db.write() as session:
            session.execute(sa.text("UPDATE ratings SET score = :s WHERE order_id = :o"), {"s": score, "o": order_id})
    # One accepted and past due by March 31: a breach though not finished; a submitted one, never dispatched.
    _order(
        rt,
        people,
        S.ACCEPTED,
        T0,
        dispatched_at=T0 + 40 * minute,
        accepted_at=T0 + 48 * minute,
        due_at=datetime(2026, 3, 20, tzinfo=UTC),
    )
    _order(rt, people, S.SUBMITTED, T0)
    totals = _ok(client, people.secretary, f"area=SQ1&{MARCH}")["totals"]
    assert totals["orders"] == 5
    assert totals["by_status"] == {"closed": 3, "accepted": 1, "submitted": 1}
    assert totals["by_category"] == {"grocery": 5}
    # Nearest rank: of 4 (10, 20, 30, 40) the median is the 2nd, the p90 the 4th.
    assert totals["dispatch_minutes"] == {"median": 20.0, "p90": 40.0}
    assert totals["accept_minutes"] == {"median": 4.0, "p90": 8.0}
    # Of 3 (1, 2, 3 h): the 2nd and the 3rd.
    assert totals["finish_hours"] == {"median": 2.0, "p90": 3.0}
    assert totals["sla_breaches"] == 2
    assert totals["ratings"] == 3
    assert totals["satisfaction"] == 4.0
    (volunteer,) = _ok(client, people.secretary, f"area=SQ1&{MARCH}")["by_volunteer"]
    assert volunteer["volunteer_id"] == people.volunteer.id
    with rt.db.read() as session:
        assert volunteer["name"] == session.scalar(sa.select(User.nickname).where(User.id == people.volunteer.id))
    assert volunteer["orders"] == 4  # the submitted one has nobody


def test_a_reopened_order_counts_as_open_and_not_finished(rt: Runtime, client: FlaskClient, people: People) -> None:
    order_id = make_order(rt, people, World(), status=S.CLOSED, score=5)
    dispute = client.post(
        f"/api/v1/orders/{order_id}/dispute", json={"reason": "灯还是不亮"}, headers=people.resident.headers
    )
    assert dispute.status_code == 200, dispute.get_json()
    _set(rt, order_id, created_at=T0)
    totals = _ok(client, people.secretary, f"area=SQ1&{MARCH}")["totals"]
    assert totals["by_status"] == {"accepted": 1}
    assert totals["finish_hours"] is None  # its completion was taken back
    assert (totals["ratings"], totals["satisfaction"]) == (1, 5.0)  # the rating given stays on record


def test_grid_rows_add_up_with_a_null_row_for_no_grid(rt: Runtime, client: FlaskClient, people: People) -> None:
    _order(rt, people, S.CLOSED, T0)
    _order(rt, people, S.SUBMITTED, T0)
    _order(rt, people, S.SUBMITTED, T0, grid_id=None)
    body = _ok(client, people.secretary, f"area=SQ1&{MARCH}")
    assert [(row["area"], row["orders"]) for row in body["by_grid"]] == [("SQ1-G1", 2), (None, 1)]
    assert sum(row["orders"] for row in body["by_grid"]) == body["totals"]["orders"] == 3
    assert body["by_grid"][1]["by_status"] == {"submitted": 1}


def test_a_street_admin_sees_both_communities_and_nothing_of_another_street(
    rt: Runtime, client: FlaskClient, people: People
) -> None:
    with rt.db.write() as session:
        create_area(session, AreaKind.STREET, "JD2", "另一街道")
        create_area(session, AreaKind.COMMUNITY, "SQ3", "别处社区", "JD2")
        create_area(session, AreaKind.GRID, "SQ3-G1", "别处网格", "SQ3")
        create_category(session, "SQ3", "grocery", "买菜代购", points=5, sla_hours=24)
    _order(rt, people, S.CLOSED, T0)
    sq2 = make_person(rt, "bob", home=("SQ2", "SQ2-G1"))
    _set(rt, make_order(rt, sq2, World(), community="SQ2", grid="SQ2-G1"), created_at=T0)
    sq3 = make_person(rt, "carol", home=("SQ3", "SQ3-G1"))
    _set(rt, make_order(rt, sq3, World(), community="SQ3", grid="SQ3-G1"), created_at=T0)
    body = _ok(client, people.street_admin, f"area=JD1&{MARCH}")
    assert body["totals"]["orders"] == 2
    assert [(row["area"], row["orders"]) for row in body["by_community"]] == [("SQ1", 1), ("SQ2", 1)]
    assert sorted(row["area"] for row in body["by_grid"]) == ["SQ1-G1", "SQ2-G1"]
    assert _ok(client, people.street_admin, f"area=SQ2&{MARCH}")["totals"]["orders"] == 1
    assert _get(client, people.street_admin, f"area=JD2&{MARCH}").status_code == 404
    assert _get(client, people.street_admin, f"area=SQ3&{MARCH}").status_code == 404


def test_an_anonymised_residents_orders_still_count(rt: Runtime, client: FlaskClient, people: People) -> None:
    _order(rt, people, S.CLOSED, T0)
    _order(rt, people, S.SUBMITTED, T0)
    assert client.delete("/api/v1/me", headers=people.resident.headers).status_code in (200, 204)
    totals = _ok(client, people.secretary, f"area=SQ1&{MARCH}")["totals"]
    assert totals["orders"] == 2
    assert totals["ratings"] == 1


def test_statements_do_not_grow_with_orders_or_volunteers(rt: Runtime, client: FlaskClient, people: People) -> None:
    _order(rt, people, S.CLOSED, T0)
    with counting(rt) as few:
        _ok(client, people.secretary, f"area=SQ1&{MARCH}")
    stats_cache.clear()  # both counts with the period before computed, not one of them kept
    for n in range(4):
        volunteer = make_person(rt, f"volunteer-{n}", (Role.VOLUNTEER, "SQ1"))
        _order(rt, Crew(people.resident.openid, people.secretary.openid, volunteer.openid), S.CLOSED, T0)
        _order(rt, people, S.ACCEPTED, T0, grid_id=None)
    with counting(rt) as many:
        body = _ok(client, people.secretary, f"area=SQ1&{MARCH}")
    assert body["totals"]["orders"] == 9
    assert len(body["by_volunteer"]) == 5
    assert len(many) == len(few)


def test_grouping_sets_answer_what_the_grouping_by_grouping_statements_answer(
    rt: Runtime, client: FlaskClient, people: People
) -> None:
    """PostgreSQL's one-scan statements (GROUPING SETS) against the per-grouping ones, on a street
    of two communities with orders in every state, with and without grid, holder, rating."""
    with rt.db.read() as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("grouping sets are PostgreSQL's; SQLite always takes the per-grouping statements")
    minute = timedelta(minutes=1)
    for i, status in enumerate((S.CLOSED, S.CLOSED, S.ACCEPTED, S.SUBMITTED, S.COMPLETED, S.CLOSED)):
        created = T0 + timedelta(hours=7 * i)
        moments: dict[str, Any] = {"grid_id": None} if i == 3 else {}
        if status is not S.SUBMITTED:
            moments |= {"dispatched_at": created + (5 + 3 * i) * minute, "due_at": created + timedelta(hours=i)}
        _order(rt, people, status, created, **moments)
    volunteer = make_person(rt, "volunteer-x", (Role.VOLUNTEER, "SQ1"))
    _order(rt, Crew(people.resident.openid, people.secretary.openid, volunteer.openid), S.CLOSED, T0 + 90 * minute)
    sq2 = make_person(rt, "bob", home=("SQ2", "SQ2-G1"))
    _set(rt, make_order(rt, sq2, World(), community="SQ2", grid="SQ2-G1"), created_at=T0)
    _order(rt, people, S.CLOSED, T0 - timedelta(days=20))  # February: the previous period
    with rt.db.read() as session:
        street = session.scalar(sa.select(Area).where(Area.code == "JD1"))
        assert street is not None
        communities = list(session.scalars(sa.select(Area.id).where(Area.parent_id == street.id)))
        span = period(date(2026, 3, 1), date(2026, 3, 31))
        now = datetime(2026, 4, 2, tzinfo=UTC)
        one_scan = stats_of(session, street, communities, span, now).model_dump()
        baseline = stats_of(session, street, communities, span, now, one_scan=False).model_dump()
    assert one_scan["totals"]["orders"] == 8
    assert one_scan["totals"]["previous"]["orders"] == 1
    assert len(one_scan["by_volunteer"]) == 2
    assert one_scan == baseline


# -- stored durations (app/orders/durations.py) ------------------------------------------------


def _micros(later: datetime | None, earlier: datetime | None) -> int | None:
    if later is None or earlier is None or later < earlier:
        return None
    step = later - earlier
    return (step.days * 86400 + step.seconds) * 1_000_000 + step.microseconds


def _stored_and_computed(rt: Runtime, order_id: int) -> tuple[tuple[int | None, ...], tuple[int | None, ...]]:
    with rt.db.read() as session:
        order = session.get(Order, order_id)
        assert order is not None
        stored = (order.dispatch_us, order.accept_us, order.finish_us)
        computed = (
            _micros(order.dispatched_at, order.created_at),
            _micros(order.accepted_at, order.dispatched_at),
            _micros(order.completed_at, order.created_at),
        )
    return stored, computed


@pytest.mark.parametrize("via_pool", [False, True])
def test_stored_durations_equal_the_moments_difference_at_every_step(
    rt: Runtime, client: FlaskClient, people: People, via_pool: bool
) -> None:
    """Dispatch (or publish), accept (or claim), complete, rate, reopen by a dispute, complete again:
    after each the generated durations are exactly the moments' differences."""
    expected_set = {
        S.SUBMITTED: (False, False, False),
        S.ASSIGNED if not via_pool else S.POOLED: (True, False, False),
        S.ACCEPTED: (True, True, False),
        S.COMPLETED: (True, True, True),
        S.CLOSED: (True, True, True),
    }
    for status, present in expected_set.items():
        order_id = make_order(rt, people, World(), status=status, via_pool=via_pool)
        stored, computed = _stored_and_computed(rt, order_id)
        assert stored == computed
        assert tuple(value is not None for value in stored) == present, status
    dispute = client.post(
        f"/api/v1/orders/{order_id}/dispute", json={"reason": "灯还是不亮"}, headers=people.resident.headers
    )
    assert dispute.status_code == 200, dispute.get_json()
    stored, computed = _stored_and_computed(rt, order_id)
    assert stored == computed
    assert tuple(value is not None for value in stored) == (True, True, False)  # the reopening took it back
    done = client.post(f"/api/v1/orders/{order_id}/complete", json={"note": "换好了"}, headers=people.volunteer.headers)
    assert done.status_code == 200, done.get_json()
    stored, computed = _stored_and_computed(rt, order_id)
    assert stored == computed
    assert stored[2] is not None


def test_percentiles_are_exact_to_the_microsecond(rt: Runtime, client: FlaskClient, people: People) -> None:
    """9 s is 0.15 min, the float 0.1499…, which rounds to 0.1; 9.4 s is 0.157 min, 0.2. Durations
    kept as whole seconds would answer 0.1 for both: the stored microseconds keep the figure the
    moments themselves give."""
    order_id = _order(rt, people, S.ASSIGNED, T0, dispatched_at=T0 + timedelta(seconds=9, microseconds=400_000))
    body = _ok(client, people.secretary, f"area=SQ1&{MARCH}")
    assert body["totals"]["dispatch_minutes"] == {"median": 0.2, "p90": 0.2}
    _set(rt, order_id, dispatched_at=T0 + timedelta(seconds=9))
    body = _ok(client, people.secretary, f"area=SQ1&{MARCH}")
    assert body["totals"]["dispatch_minutes"] == {"median": 0.1, "p90": 0.1}


@pytest.mark.parametrize("fraction", [0, 499_999, 999_499, 999_500, 999_999])
def test_durations_are_exact_whatever_the_fraction_of_a_second(rt: Runtime, people: People, fraction: int) -> None:
    """SQLite rounds a moment to the millisecond inside strftime: a creation at .9995 s or later
    once counted as the next second and every duration from it came out one second short. Each
    side of that edge, as the earlier and as the later moment."""
    created = T0 + timedelta(microseconds=fraction)
    dispatched = created + timedelta(seconds=27, microseconds=488_000)
    order_id = _order(rt, people, S.COMPLETED, created, dispatched_at=dispatched)
    _set(rt, order_id, accepted_at=dispatched + timedelta(microseconds=999_999 - fraction))
    _set(rt, order_id, completed_at=T0 + timedelta(hours=1, microseconds=fraction))
    stored, computed = _stored_and_computed(rt, order_id)
    assert stored == computed
    assert stored[0] == 27_488_000
    assert stored[2] == 3_600_000_000


# -- the period before, kept (app/community/stats_cache.py) ---------------------------------------


def test_the_period_before_is_kept_until_one_of_its_orders_moves(
    rt: Runtime, client: FlaskClient, people: People
) -> None:
    """February's totals are computed once; asked again they are read back after one statement
    that finds February unchanged; a February order rated again (a step of the workflow) or
    changed in any way that bumps its version is seen at once."""
    february = T0 - timedelta(days=20)
    old = _order(rt, people, S.CLOSED, february)
    _order(rt, people, S.SUBMITTED, february)
    _order(rt, people, S.CLOSED, T0)
    with counting(rt) as first:
        body = _ok(client, people.secretary, f"area=SQ1&{MARCH}")
    assert body["totals"]["previous"]["by_status"] == {"closed": 1, "submitted": 1}
    with counting(rt) as second:
        again = _ok(client, people.secretary, f"area=SQ1&{MARCH}")
    assert again == body
    assert len(second) < len(first)
    # Reopened by a dispute: its status and completion change, and so does February.
    _set(rt, old, closed_at=datetime.now(UTC))  # within the dispute window
    dispute = client.post(f"/api/v1/orders/{old}/dispute", json={"reason": "没修好"}, headers=people.resident.headers)
    assert dispute.status_code == 200, dispute.get_json()
    previous = _ok(client, people.secretary, f"area=SQ1&{MARCH}")["totals"]["previous"]
    assert previous["by_status"] == {"accepted": 1, "submitted": 1}
    assert previous["finish_hours"] is None
    # Rated again: the new score counts, not the kept one.
    rated = client.post(f"/api/v1/orders/{old}/complete", json={"note": "好了"}, headers=people.volunteer.headers)
    assert rated.status_code == 200, rated.get_json()
    rate = client.post(f"/api/v1/orders/{old}/rate", json={"score": 1}, headers=people.resident.headers)
    assert rate.status_code == 200, rate.get_json()
    previous = _ok(client, people.secretary, f"area=SQ1&{MARCH}")["totals"]["previous"]
    assert (previous["ratings"], previous["satisfaction"]) == (1, 1.0)
    # A new order created back in February (an import, a hand-made row) changes the count.
    _order(rt, people, S.SUBMITTED, february)
    assert _ok(client, people.secretary, f"area=SQ1&{MARCH}")["totals"]["previous"]["orders"] == 3


def test_a_period_not_yet_over_is_never_kept(rt: Runtime, client: FlaskClient, people: People) -> None:
    """A range starting after tomorrow has a period before that is not over (it is tomorrow, or
    ends on it): computed every time, never kept."""
    later = shanghai_today() + timedelta(days=2)
    query = f"area=SQ1&from={later.isoformat()}&to={later.isoformat()}"
    with counting(rt) as first:
        _ok(client, people.secretary, query)
    with counting(rt) as second:
        _ok(client, people.secretary, query)
    assert len(second) == len(first)


# -- an ended range, kept whole ------------------------------------------------------------------------


def _heavy(statements: list[str]) -> list[str]:
    """The statements that group the orders (counts, spreads), not the checks and look-ups."""
    return [s for s in statements if "FROM orders" in s and "GROUP BY" in s]


def test_an_ended_range_is_answered_again_from_what_was_kept_until_an_order_moves(
    rt: Runtime, client: FlaskClient, people: People
) -> None:
    """March has ended: its figures are computed once and answered again after the one check that
    finds March and February unchanged; a March order that moves is counted at once."""
    _order(rt, people, S.CLOSED, T0)
    moving = _order(rt, people, S.ACCEPTED, T0 + timedelta(days=1))
    with counting(rt) as first:
        body = _ok(client, people.secretary, f"area=SQ1&{MARCH}")
    assert _heavy(first)
    with counting(rt) as second:
        again = _ok(client, people.secretary, f"area=SQ1&{MARCH}")
    assert again == body
    assert _heavy(second) == []
    assert body["totals"]["by_status"] == {"closed": 1, "accepted": 1}
    done = client.post(f"/api/v1/orders/{moving}/complete", json={"note": "好了"}, headers=people.volunteer.headers)
    assert done.status_code == 200, done.get_json()
    with counting(rt) as third:
        moved = _ok(client, people.secretary, f"area=SQ1&{MARCH}")
    assert _heavy(third)
    assert moved["totals"]["by_status"] == {"closed": 1, "completed": 1}
    assert moved["by_volunteer"][0]["by_status"] == {"closed": 1, "completed": 1}


def test_a_kept_range_sees_the_period_before_change_and_new_names(
    rt: Runtime, client: FlaskClient, people: People
) -> None:
    """What is kept covers February too (its totals are in the answer); volunteers' names are
    read for every answer, not kept."""
    _order(rt, people, S.CLOSED, T0)
    _ok(client, people.secretary, f"area=SQ1&{MARCH}")
    _order(rt, people, S.SUBMITTED, T0 - timedelta(days=20))
    with rt.db.write() as session:
        session.execute(sa.update(User).where(User.id == people.volunteer.id).values(nickname="新名字"))
    with counting(rt) as statements:
        body = _ok(client, people.secretary, f"area=SQ1&{MARCH}")
    assert _heavy(statements)  # February moved: computed again
    assert body["totals"]["previous"]["orders"] == 1
    with rt.db.write() as session:
        session.execute(sa.update(User).where(User.id == people.volunteer.id).values(nickname="又改了"))
    with counting(rt) as statements:
        body = _ok(client, people.secretary, f"area=SQ1&{MARCH}")
    assert _heavy(statements) == []
    assert [v["name"] for v in body["by_volunteer"]] == ["又改了"]


def test_a_range_not_yet_over_is_computed_every_time(rt: Runtime, client: FlaskClient, people: People) -> None:
    """Today is in the range: its figures are computed for each request (the period before has
    ended and may be kept; only the range's own statements group by volunteer)."""
    today = shanghai_today()
    query = f"area=SQ1&from={(today - timedelta(days=3)).isoformat()}&to={today.isoformat()}"
    for _ in range(2):
        with counting(rt) as statements:
            _ok(client, people.secretary, query)
        assert any("assignee_id" in s for s in _heavy(statements))


def test_a_range_too_big_to_keep_is_computed_again_and_the_store_stays_within_its_size(
    rt: Runtime, client: FlaskClient, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stats_cache weighs what it keeps in groups: March's figures (the totals, a grid, a
    volunteer) are more than a store of 2 holds, so they are computed for each request."""
    monkeypatch.setattr(stats_cache, "MAX_SIZE", 2)
    _order(rt, people, S.CLOSED, T0)
    for _ in range(2):
        with counting(rt) as statements:
            _ok(client, people.secretary, f"area=SQ1&{MARCH}")
        assert any("assignee_id" in s for s in _heavy(statements))
    entries, size = stats_cache.kept_size()
    assert (entries, size) == (1, 1)  # February's totals alone
