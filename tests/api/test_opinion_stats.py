"""民情收集 in GET /api/v1/stats and in the work ledger's 民情收集 sheet, on a hand-checked month.

The visits are logged and their items made into orders through the use cases; one order is then
closed by hand. Visits at the edges of March in Shanghai time (00:00 on the 1st, 23:59 on the 31st)
count; the minute before and the minute after do not."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.community import stats_cache
from app.community.opinions.models import VisitKind
from app.community.opinions.to_order import ItemOrderRequest, order_from_item
from app.community.opinions.visits import NewItem, NewVisit, record_visit
from app.core.clock import to_shanghai
from app.identity.roles import Role
from app.orders.models import Order
from app.orders.workflow import OrderStatus
from app.runtime import Runtime
from tests.api.test_statement_counts import counting
from tests.factories import People, Person, make_people, make_person, make_world

MARCH = "from=2026-03-01&to=2026-03-31"
K = VisitKind


def _kinds(home: int = 0, tea: int = 0, reception: int = 0) -> dict[str, int]:
    return {"home_visit": home, "tea_talk": tea, "reception_day": reception}


def _figures(visits: dict[str, int], met: int, items: int, ordered: int, closed: int) -> dict[str, Any]:
    return {
        "visits": sum(visits.values()),
        "by_kind": visits,
        "residents_met": met,
        "items": items,
        "ordered": ordered,
        "closed": closed,
    }


class Month:
    def __init__(self, rt: Runtime, people: People, sq2: Person) -> None:
        self.rt = rt
        self.people = people
        self.sq2 = sq2

    def visit(
        self, kind: VisitKind, held: str, met: int, items: int, *, grid: str | None, who: Person | None = None
    ) -> int:
        staff = who or self.people.secretary
        community = "SQ2" if who is self.sq2 else "SQ1"
        visit = NewVisit(
            community=community,
            grid=grid,
            kind=kind,
            held_at=datetime.fromisoformat(held),
            place="社区活动室",
            staff=(staff.id,),
            residents_met=met,
            items=tuple(NewItem(text=f"第{n}条民情") for n in range(1, items + 1)),
        )
        return record_visit(self.rt, staff.actor(self.rt), visit).visit.id

    def order(self, visit_id: int, n: int, *, closed: bool = False) -> int:
        request = ItemOrderRequest(category="grocery", on_behalf_of=self.people.resident.id)
        made = order_from_item(self.rt, self.people.secretary.actor(self.rt), visit_id, n, request)
        if closed:
            with self.rt.db.write() as session:
                session.execute(sa.update(Order).where(Order.id == made.order.id).values(status=OrderStatus.CLOSED))
        return made.order.id


@pytest.fixture
def people(rt: Runtime, client: FlaskClient) -> People:
    people = make_people(rt, make_world(rt), client=client)
    sq2 = make_person(rt, "secretary-sq2", (Role.SECRETARY, "SQ2"), client=client)
    month = Month(rt, people, sq2)
    v1 = month.visit(K.HOME_VISIT, "2026-03-10T15:00:00+08:00", 2, 3, grid="SQ1-G1")
    month.order(v1, 1, closed=True)
    month.order(v1, 2)
    v2 = month.visit(K.TEA_TALK, "2026-03-01T00:00:00+08:00", 10, 2, grid=None)  # the month's first minute
    month.order(v2, 1)
    month.visit(K.RECEPTION_DAY, "2026-03-31T23:59:00+08:00", 5, 1, grid="SQ1-G1")  # its last minute
    v4 = month.visit(K.HOME_VISIT, "2026-04-01T00:00:00+08:00", 1, 1, grid="SQ1-G1")  # April
    month.order(v4, 1, closed=True)
    month.visit(K.HOME_VISIT, "2026-02-28T23:59:00+08:00", 3, 2, grid=None)  # February
    month.visit(K.TEA_TALK, "2026-03-15T10:00:00+08:00", 4, 2, grid="SQ2-G1", who=sq2)
    return people


def _stats(client: FlaskClient, who: Person, query: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/stats?{query}", headers=who.headers)
    assert response.status_code == 200, response.get_json()
    opinions: dict[str, Any] = response.get_json()["opinions"]
    return opinions


SQ1_GRID = {"area": "SQ1-G1", **_figures(_kinds(home=1, reception=1), 7, 4, 2, 1)}
SQ1_NO_GRID = {"area": None, **_figures(_kinds(tea=1), 10, 2, 1, 0)}
SQ1 = _figures(_kinds(home=1, tea=1, reception=1), 17, 6, 3, 1)
SQ2 = _figures(_kinds(tea=1), 4, 2, 0, 0)


def test_a_community_month_by_hand(client: FlaskClient, people: People) -> None:
    opinions = _stats(client, people.secretary, f"area=SQ1&{MARCH}")
    assert opinions == {**SQ1, "by_grid": [SQ1_GRID, SQ1_NO_GRID], "by_community": None}


def test_a_street_sums_its_communities_and_the_grids_sum_to_the_whole(client: FlaskClient, people: People) -> None:
    opinions = _stats(client, people.street_admin, f"area=JD1&{MARCH}")
    whole = _figures(_kinds(home=1, tea=2, reception=1), 21, 8, 3, 1)
    assert {k: opinions[k] for k in whole} == whole
    assert opinions["by_community"] == [{"area": "SQ1", **SQ1}, {"area": "SQ2", **SQ2}]
    assert opinions["by_grid"] == [SQ1_GRID, {"area": "SQ2-G1", **SQ2}, SQ1_NO_GRID]
    for rows in (opinions["by_grid"], opinions["by_community"]):
        for key in ("visits", "residents_met", "items", "ordered", "closed"):
            assert sum(row[key] for row in rows) == opinions[key], key
        for kind in VisitKind:
            assert sum(row["by_kind"][kind.value] for row in rows) == opinions["by_kind"][kind.value]


def test_shanghai_day_boundaries(client: FlaskClient, people: People) -> None:
    last_day = _stats(client, people.secretary, "area=SQ1&from=2026-03-31&to=2026-03-31")
    assert (last_day["by_kind"], last_day["items"]) == (_kinds(reception=1), 1)
    april_first = _stats(client, people.secretary, "area=SQ1&from=2026-04-01&to=2026-04-01")
    assert (april_first["by_kind"], april_first["ordered"], april_first["closed"]) == (_kinds(home=1), 1, 1)
    first_day = _stats(client, people.secretary, "area=SQ1&from=2026-03-01&to=2026-03-01")
    assert (first_day["by_kind"], first_day["residents_met"]) == (_kinds(tea=1), 10)
    february_last = _stats(client, people.secretary, "area=SQ1&from=2026-02-28&to=2026-02-28")
    assert (february_last["visits"], february_last["items"]) == (1, 2)


def _sheet(client: FlaskClient, who: Person, query: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/exports/orders.xlsx?{query}", headers=who.headers)
    assert response.status_code == 200, response.get_json()
    sheet = openpyxl.load_workbook(io.BytesIO(response.data))["民情收集"]
    header = [str(cell.value) for cell in sheet[1]]
    return [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)]


_COUNTS = {"见到居民": "residents_met", "民情条数": "items", "转工单": "ordered", "已办结": "closed"}


@pytest.mark.parametrize(("who", "area"), [("secretary", "SQ1"), ("street_admin", "JD1")])
def test_the_ledger_sheet_agrees_with_the_stats(client: FlaskClient, people: People, who: str, area: str) -> None:
    person: Person = getattr(people, who)
    stats = _stats(client, person, f"area={area}&{MARCH}")
    *visits, total = _sheet(client, person, f"area={area}&{MARCH}")
    assert len(visits) == stats["visits"]
    assert total["社区"] == f"合计 {stats['visits']} 次"
    for column, key in _COUNTS.items():
        assert total[column] == stats[key], column
        assert sum(line[column] for line in visits) == stats[key], column
    labels = {"home_visit": "三访三问", "tea_talk": "吃茶话事", "reception_day": "接待日"}
    for kind, label in labels.items():
        assert sum(1 for line in visits if line["形式"] == label) == stats["by_kind"][kind]
        assert f"{label} {stats['by_kind'][kind]}" in total["形式"]


def _wall(shanghai: str) -> datetime:
    """A Shanghai wall time as the sheet holds it (no offset: Excel has none)."""
    return to_shanghai(datetime.fromisoformat(f"{shanghai}+08:00")).replace(tzinfo=None)


def test_the_community_ledger_lines_by_hand(client: FlaskClient, people: People) -> None:
    *visits, _total = _sheet(client, people.secretary, f"area=SQ1&{MARCH}")
    assert [(v["走访时间"], v["网格"] or "", v["形式"], v["在场人员"]) for v in visits] == [
        (_wall("2026-03-01T00:00"), "", "吃茶话事", 1),
        (_wall("2026-03-10T15:00"), "阳光小区", "三访三问", 1),
        (_wall("2026-03-31T23:59"), "阳光小区", "接待日", 1),
    ]
    assert [(v["民情条数"], v["转工单"], v["已办结"]) for v in visits] == [(2, 1, 0), (3, 2, 1), (1, 0, 0)]


def test_the_opinions_block_costs_the_same_statements_however_many_visits(
    rt: Runtime, client: FlaskClient, people: People
) -> None:
    def cost() -> int:
        stats_cache.clear()  # March's visits leave February unchanged: keep both counts computed
        with counting(rt) as statements:
            _stats(client, people.street_admin, f"area=JD1&{MARCH}")
        return len(statements)

    before = cost()
    month = Month(rt, people, people.secretary)
    for day in range(11, 16):
        month.visit(K.TEA_TALK, f"2026-03-{day}T10:00:00+08:00", 3, 4, grid="SQ1-G1")
    assert cost() == before
    assert _stats(client, people.street_admin, f"area=JD1&{MARCH}")["visits"] == 4 + 5
