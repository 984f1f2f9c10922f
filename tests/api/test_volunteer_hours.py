"""GET /api/v1/reports/volunteer-hours: who may ask, the range, and numbers that add up (JSON and
.xlsx). Ledger entries are written straight into points_entries, so each test says exactly what
the ledger holds."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import openpyxl
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from openpyxl.cell.cell import Cell

from app.core.clock import shanghai_day_bounds, shanghai_today
from app.identity.roles import Role
from app.runtime import Runtime
from app.timebank.ledger import PointsEntry, PointsKind
from app.volunteers.models import VolunteerProfile
from app.volunteers.teams import create_team
from tests.api.test_statement_counts import counting
from tests.factories import People, Person, World, make_order, make_people, make_person, make_world

URL = "/api/v1/reports/volunteer-hours"
TODAY = shanghai_today()
START = TODAY - timedelta(days=29)


@pytest.fixture(autouse=True)
def _today() -> None:
    """The days as of each test's start, not of collection (a run may cross midnight in Shanghai)."""
    global TODAY, START  # noqa: PLW0603 - the module's days, read by every test
    TODAY = shanghai_today()
    START = TODAY - timedelta(days=29)


def _at(day: date, hour: int = 10) -> datetime:
    return shanghai_day_bounds(day)[0] + timedelta(hours=hour)


@pytest.fixture
def world(rt: Runtime) -> World:
    return make_world(rt)


@pytest.fixture
def people(rt: Runtime, client: FlaskClient, world: World) -> People:
    return make_people(rt, world, client=client)


def _entry(
    rt: Runtime, user_id: int, kind: PointsKind, delta: int, *, order_id: int | None = None, **facts: Any
) -> None:
    at = facts.pop("at", _at(TODAY - timedelta(days=1)))
    with rt.db.write() as session:
        session.add(
            PointsEntry(
                user_id=user_id,
                delta=delta,
                reason=kind.value,
                order_id=order_id,
                kind=kind.value,
                created_at=at,
                **facts,
            )
        )


def _earn(rt: Runtime, user_id: int, order_id: int, minutes: int, points: int, **facts: Any) -> None:
    _entry(rt, user_id, PointsKind.EARNED, points, order_id=order_id, settlement=1, minutes=minutes, **facts)


def _get(client: FlaskClient, who: Person, **params: str) -> Any:
    query = {"area": "SQ1", "from": START.isoformat(), "to": TODAY.isoformat()} | params
    return client.get(URL, query_string=query, headers=who.headers)


def _ledger_size(rt: Runtime) -> int:
    with rt.db.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(PointsEntry)) or 0)


# -- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["grid_worker", "volunteer", "resident"])
def test_only_secretaries_and_street_admins_may_ask(client: FlaskClient, people: People, who: str) -> None:
    answer = _get(client, getattr(people, who))
    assert answer.status_code == 403, answer.json
    # The same 403 whatever the area names: a refusal says nothing about another tenant.
    assert _get(client, getattr(people, who), area="NOPE").status_code == 403


def test_without_a_token_it_is_401(client: FlaskClient, people: People) -> None:
    assert client.get(URL, query_string={"area": "SQ1", "from": "2026-11-01", "to": "2026-11-02"}).status_code == 401


@pytest.mark.parametrize("area", ["SQ2", "JD1", "NOPE", "SQ1-G1"])
def test_a_secretary_gets_404_for_any_area_but_their_community(client: FlaskClient, people: People, area: str) -> None:
    answer = _get(client, people.secretary, area=area)
    assert answer.status_code == 404, answer.json


def test_a_street_admin_gets_404_for_another_street(rt: Runtime, client: FlaskClient, people: People) -> None:
    from app.areas.models import AreaKind
    from app.areas.tree import create_area

    with rt.db.write() as session:
        create_area(session, AreaKind.STREET, "JD2", "东风街道")
        create_area(session, AreaKind.COMMUNITY, "SQ9", "东风社区", "JD2")
    for area in ("JD2", "SQ9"):
        assert _get(client, people.street_admin, area=area).status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-11-02", "to": "2026-11-01"},  # backwards
        {"from": "2025-01-01", "to": "2026-01-02"},  # 367 days
        {"from": "2026-13-01"},
        {"from": "2026-11-01T00:00:00+08:00"},
        {"from": ""},
        {"by": "grid"},
        {"format": "csv"},
        {"unknown": "1"},
    ],
)
def test_a_bad_range_or_grouping_is_400_and_writes_nothing(
    rt: Runtime, client: FlaskClient, people: People, params: dict[str, str]
) -> None:
    before = _ledger_size(rt)
    answer = _get(client, people.secretary, **params)
    assert answer.status_code == 400, answer.json
    assert answer.json["error"]["code"] == "invalid_input"
    assert _ledger_size(rt) == before


def test_from_and_to_are_required(client: FlaskClient, people: People) -> None:
    answer = client.get(URL, query_string={"area": "SQ1"}, headers=people.secretary.headers)
    assert answer.status_code == 400


# -- the numbers -----------------------------------------------------------------------------------


def _busy_month(rt: Runtime, people: People, world: World) -> dict[str, int]:
    """Li: two orders (60 + 90 min), one reversed order (45 min, back out), an adjustment +3;
    Chen: a held order (30 min) and a forfeited hold (20 min, back out); an entry outside the
    range; an order of the other community. Answers the order ids."""
    li, chen = people.volunteer.id, people.other_volunteer.id
    ids = {name: make_order(rt, people.resident, world, title=name) for name in ("a", "b", "c", "d", "e", "late")}
    _earn(rt, li, ids["a"], 60, 7)
    _earn(rt, li, ids["b"], 90, 10)
    _earn(rt, li, ids["c"], 45, 5)
    _entry(rt, li, PointsKind.REVERSED, -5, order_id=ids["c"], settlement=1, minutes=-45)
    _entry(rt, li, PointsKind.ADJUSTED, 3)
    _entry(rt, chen, PointsKind.HELD, 0, order_id=ids["d"], settlement=1, minutes=30, held_points=4)
    _entry(rt, chen, PointsKind.RELEASED, 4, order_id=ids["d"], settlement=1)
    _entry(rt, chen, PointsKind.HELD, 0, order_id=ids["e"], settlement=1, minutes=20, held_points=3)
    _entry(rt, chen, PointsKind.FORFEITED, 0, order_id=ids["e"], settlement=1, minutes=-20)
    _earn(rt, li, ids["late"], 600, 50, at=_at(START - timedelta(days=1), 23))  # the day before the range
    _entry(rt, li, PointsKind.REDEEMED, -8)  # spending: not in the report
    bob = make_person(rt, "bob", home=(world.other_community, world.other_grid))
    other = make_order(rt, bob, world, community=world.other_community, grid=world.other_grid, title="别处")
    volunteer_there = make_person(rt, "volunteer-far", (Role.VOLUNTEER, world.other_community))
    _earn(rt, volunteer_there.id, other, 120, 11)
    ids["other"] = other
    return ids


def _rows(answer: Any) -> dict[str, Any]:
    return {row["key"]: row for row in answer.json["rows"]}


FIGURES = ("minutes", "orders", "service_points", "adjusted_points")


def _assert_rows_add_up(body: dict[str, Any]) -> None:
    for name in (*FIGURES, "volunteers"):
        assert sum(row[name] for row in body["rows"]) == body["totals"][name], name


def test_figures_per_volunteer_come_from_the_ledgers_minutes(
    rt: Runtime, client: FlaskClient, people: People, world: World
) -> None:
    _busy_month(rt, people, world)
    answer = _get(client, people.secretary)
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert (body["area"], body["by"], body["days"]) == ("SQ1", "volunteer", 30)
    rows = {row["volunteer_id"]: row for row in body["rows"]}
    li, chen = rows[people.volunteer.id], rows[people.other_volunteer.id]
    # The reversed order's 45 minutes are back out and it is not counted as served.
    assert (li["minutes"], li["hours"], li["orders"], li["service_points"], li["adjusted_points"]) == (
        150,
        2.5,
        2,
        17,
        3,
    )
    # The forfeited hold's 20 minutes are back out; the released one counts with its points.
    assert (chen["minutes"], chen["hours"], chen["orders"], chen["service_points"]) == (30, 0.5, 1, 4)
    assert body["totals"] == {
        "volunteers": 2,
        "minutes": 180,
        "hours": 3.0,
        "orders": 3,
        "service_points": 21,
        "adjusted_points": 3,
    }
    _assert_rows_add_up(body)


def test_the_range_is_of_shanghai_days_with_to_included(
    rt: Runtime, client: FlaskClient, people: People, world: World
) -> None:
    order = make_order(rt, people.resident, world)
    _earn(rt, people.volunteer.id, order, 60, 5, at=shanghai_day_bounds(TODAY)[1] - timedelta(minutes=1))
    body = _get(client, people.secretary, **{"from": TODAY.isoformat(), "to": TODAY.isoformat()}).json
    assert body["totals"]["minutes"] == 60
    earlier = (TODAY - timedelta(days=1)).isoformat()
    assert _get(client, people.secretary, **{"from": earlier, "to": earlier}).json["totals"]["minutes"] == 0


def test_a_volunteer_in_two_teams_counts_in_both_rows_and_once_in_the_totals(
    rt: Runtime, client: FlaskClient, people: People, world: World
) -> None:
    _busy_month(rt, people, world)
    with rt.db.write() as session:
        create_team(session, world.community, "先锋队", [people.volunteer.openid, people.other_volunteer.openid])
        create_team(session, world.community, "助老队", [people.volunteer.openid])
    answer = _get(client, people.secretary, by="team")
    rows, totals = _rows(answer), answer.json["totals"]
    assert list(rows) == ["先锋队", "助老队"]  # nobody is in no team
    assert rows["先锋队"]["minutes"] == 180
    assert rows["助老队"]["minutes"] == 150
    assert "两个队" in answer.json["rule"]
    li = {"minutes": 150, "orders": 2, "service_points": 17, "adjusted_points": 3}
    for name in FIGURES:
        assert sum(row[name] for row in rows.values()) == totals[name] + li[name], name


def test_volunteers_in_no_team_have_a_row_of_their_own(
    rt: Runtime, client: FlaskClient, people: People, world: World
) -> None:
    _busy_month(rt, people, world)
    with rt.db.write() as session:
        create_team(session, world.community, "先锋队", [people.volunteer.openid])
    body = _get(client, people.secretary, by="team").json
    rows = {row["key"]: row for row in body["rows"]}
    assert rows["不在服务队"]["minutes"] == 30
    assert rows["先锋队"]["minutes"] == 150
    _assert_rows_add_up(body)


def _in_service(rt: Runtime, user_id: int, unit: str, unit_hours: int) -> None:
    with rt.db.write() as session:
        session.add(
            VolunteerProfile(
                user_id=user_id,
                max_active=3,
                party_member=True,
                in_service=True,
                employer_unit=unit,
                unit_hours=unit_hours,
            )
        )


def test_by_employer_unit_members_are_held_to_their_prorated_hours(
    rt: Runtime, client: FlaskClient, people: People, world: World
) -> None:
    _busy_month(rt, people, world)
    _in_service(rt, people.volunteer.id, "区税务局", 24)  # 30 days: 2.0 h asked, 2.5 h done
    _in_service(rt, people.other_volunteer.id, "区税务局", 24)  # 0.5 h done
    idle = make_person(rt, "volunteer-idle", (Role.VOLUNTEER, world.community))
    _in_service(rt, idle.id, "区医院", 12)
    body = _get(client, people.secretary, by="employer_unit").json
    rows = {row["key"]: row for row in body["rows"]}
    assert list(rows) == ["区医院", "区税务局"]
    tax = rows["区税务局"]
    assert (tax["volunteers"], tax["minutes"], tax["required_hours"]) == (2, 180, 2.0)
    assert [b["volunteer_id"] for b in tax["below"]] == [people.other_volunteer.id]
    hospital = rows["区医院"]
    assert (hospital["minutes"], hospital["required_hours"]) == (0, 1.0)
    assert [b["volunteer_id"] for b in hospital["below"]] == [idle.id]
    _assert_rows_add_up(body)
    assert body["totals"]["volunteers"] == 3


def test_a_street_admin_sees_all_its_communities_and_nothing_outside(
    rt: Runtime, client: FlaskClient, people: People, world: World
) -> None:
    _busy_month(rt, people, world)
    from app.areas.models import AreaKind
    from app.areas.tree import create_area

    with rt.db.write() as session:
        create_area(session, AreaKind.STREET, "JD2", "东风街道")
        create_area(session, AreaKind.COMMUNITY, "SQ9", "东风社区", "JD2")
    far = make_person(rt, "volunteer-east", (Role.VOLUNTEER, "SQ9"))
    carol = make_person(rt, "carol", home=("SQ9", None))
    from app.areas.catalogue import create_category

    with rt.db.write() as session:
        create_category(session, "SQ9", "grocery", "买菜代购", points=5, sla_hours=24)
    _earn(rt, far.id, make_order(rt, carol, world, community="SQ9", grid=None), 500, 40)
    street = _get(client, people.street_admin, area="JD1").json
    assert street["totals"]["minutes"] == 180 + 120  # both of its communities, not SQ9
    assert street["totals"]["volunteers"] == 3
    one = _get(client, people.street_admin, area="SQ2").json
    assert one["totals"]["minutes"] == 120
    _assert_rows_add_up(street)


def test_the_xlsx_has_the_same_numbers_as_the_json(
    rt: Runtime, client: FlaskClient, people: People, world: World
) -> None:
    _busy_month(rt, people, world)
    _in_service(rt, people.volunteer.id, "区税务局", 24)
    body = _get(client, people.secretary, by="employer_unit").json
    answer = _get(client, people.secretary, by="employer_unit", format="xlsx")
    assert answer.status_code == 200
    assert answer.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = answer.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    encoded = disposition.split("filename*=UTF-8''")[1]
    assert unquote(encoded) == f"志愿服务时长_和平社区_{START.isoformat()}_{TODAY.isoformat()}.xlsx"
    workbook = openpyxl.load_workbook(io.BytesIO(answer.data))
    assert workbook.sheetnames == ["汇总", "按双报到单位", "成员明细"]
    summary = workbook["汇总"]
    assert summary.freeze_panes == "A2"
    line = {str(head.value): cell for head, cell in zip(summary[1], summary[2], strict=True) if isinstance(cell, Cell)}
    assert line["开始日期"].is_date
    assert line["开始日期"].value == datetime.combine(START, datetime.min.time())
    assert line["结束日期"].value == datetime.combine(TODAY, datetime.min.time())
    assert line["服务分钟"].value == body["totals"]["minutes"]
    groups = workbook["按双报到单位"]
    assert groups.freeze_panes == "A2"
    header = [cell.value for cell in groups[1]]
    assert header[:7] == ["双报到单位", "人数", "服务时长（小时）", "服务分钟", "服务单数", "服务积分", "积分调整"]
    lines = {row[0]: row for row in groups.iter_rows(min_row=2, values_only=True)}
    for key, row in {row["key"]: row for row in body["rows"]}.items():
        assert lines[key][1:7] == (
            row["volunteers"],
            row["hours"],
            row["minutes"],
            row["orders"],
            row["service_points"],
            row["adjusted_points"],
        )
    totals = body["totals"]
    assert lines["合计"][1:7] == (
        totals["volunteers"],
        totals["hours"],
        totals["minutes"],
        totals["orders"],
        totals["service_points"],
        totals["adjusted_points"],
    )


def test_statements_do_not_grow_with_the_volunteers(
    rt: Runtime, client: FlaskClient, people: People, world: World
) -> None:
    def cost() -> int:
        with counting(rt) as statements:
            assert _get(client, people.secretary, by="employer_unit").status_code == 200
        return len(statements)

    _busy_month(rt, people, world)
    few = cost()
    with rt.db.write() as session:
        create_team(session, world.community, "先锋队", [people.volunteer.openid])
    for n in range(8):
        extra = make_person(rt, f"volunteer-{n}", (Role.VOLUNTEER, world.community))
        _in_service(rt, extra.id, f"单位{n}", 10)
        _earn(rt, extra.id, make_order(rt, people.resident, world), 30 + n, 3)
    assert cost() == few
