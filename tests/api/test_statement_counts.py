"""What the main list and detail endpoints cost in SQL statements.

Presentation loads related rows in batches: listing N orders costs the same number of statements
whatever N is and whatever the orders hold (other residents, categories, teams, property companies,
photos, ratings). The counts include authentication; they are measured on the engine, so every
statement counts.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient
from PIL import Image

from app.account.profile import set_skills
from app.areas.catalogue import create_category
from app.identity.grants import assign_role
from app.identity.roles import Role
from app.orders.actions import ActionInput, Target, act
from app.orders.models import Order
from app.orders.submit import NewOrder, submit_order
from app.orders.workflow import Action, OrderKind, TriageLevel
from app.property.companies import create_property_company
from app.runtime import Runtime
from app.uploads.store import store_upload
from app.volunteers.catalogue import add_skill
from app.volunteers.teams import create_team
from tests.factories import World, actor_of, login, make_person, make_world

JPEG = io.BytesIO()
Image.new("RGB", (8, 8), "red").save(JPEG, "JPEG")


@contextmanager
def counting(rt: Runtime) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    sa.event.listen(rt.db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(rt.db.engine, "before_cursor_execute", record)


class City:
    """One community with several of everything an order can point at."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.world: World = make_world(rt)
        community = self.world.community
        make_person(rt, "sec", (Role.SECRETARY, community))
        self.volunteers = [make_person(rt, f"vol-{i}", (Role.VOLUNTEER, community)).id for i in range(3)]
        with rt.db.write() as session:
            for i in range(3):
                create_category(session, community, f"cat-{i}", f"类别{i}", points=3, sla_hours=24)
                assign_role(session, f"pm-{i}", Role.PROPERTY_COMPANY, community)
            members = [sorted({"vol-0", f"vol-{i}"}) for i in range(3)]
            self.teams = [create_team(session, community, f"队{i}", members[i]).id for i in range(3)]
            self.companies = [
                create_property_company(session, f"物业{i}", communities=[community], staff_openids=[f"pm-{i}"]).id
                for i in range(3)
            ]
        self.made = 0

    def order(self, target: Target | None, *, rated: bool = False) -> int:
        """A new order from a new resident, of a category in turn, with a photo, sent to ``target``."""
        rt, n = self.rt, self.made
        self.made += 1
        resident = make_person(rt, f"res-{n}", home=(self.world.community, self.world.grid))
        photo = store_upload(
            rt, resident.actor(rt), filename="p.jpg", stream=io.BytesIO(JPEG.getvalue()), declared_type="image/jpeg"
        )
        new = NewOrder(
            community=self.world.community,
            category=f"cat-{n % 3}",
            kind=OrderKind.SERVICE,
            title="买菜",
            description="",
            photos=(photo.id,),
        )
        order_id = submit_order(rt, resident.actor(rt), new).id
        secretary = actor_of(rt, "sec")
        if target is not None:
            act(rt, secretary, order_id, Action.DISPATCH, ActionInput(target=target))
        if rated:
            volunteer = actor_of(rt, "vol-1")
            for action in (Action.ACCEPT, Action.START, Action.COMPLETE):
                act(rt, volunteer, order_id, action, ActionInput())
            act(rt, resident.actor(rt), order_id, Action.RATE, ActionInput(score=2, comment="慢"))
        return order_id

    def mixed(self, count: int) -> None:
        for i in range(count):
            kind = i % 4
            if kind == 0:
                self.order(Target(team_id=self.teams[i % 3]))
            elif kind == 1:
                self.order(Target(property_company_id=self.companies[i % 3]))
            elif kind == 2:
                self.order(Target(volunteer_id=self.volunteers[1]), rated=True)
            else:
                self.order(None)


def _list_cost(rt: Runtime, client: FlaskClient, headers: dict[str, str], expected: int) -> int:
    with counting(rt) as statements:
        response = client.get("/api/v1/orders?scope=community&limit=100", headers=headers)
    assert response.status_code == 200
    assert len(response.get_json()["items"]) == expected
    return len(statements)


def test_listing_costs_the_same_for_4_and_16_orders_whatever_they_hold(rt: Runtime, client: FlaskClient) -> None:
    city = City(rt)
    city.mixed(4)
    sec = login(client, "sec")
    few = _list_cost(rt, client, sec, 4)
    city.mixed(12)
    assert _list_cost(rt, client, sec, 16) == few
    # A team's volunteer listing what they hold runs the same presentation: no dearer.
    vol = login(client, "vol-0")
    with counting(rt) as statements:
        assert client.get("/api/v1/orders?scope=assigned", headers=vol).status_code == 200
    assert len(statements) <= few


def test_a_level_filter_costs_no_statement_more(rt: Runtime, client: FlaskClient) -> None:
    city = City(rt)
    city.mixed(8)
    secretary = actor_of(rt, "sec")
    with rt.db.read() as session:
        submitted = list(session.scalars(sa.select(Order.id).where(Order.status == "submitted")))
    for order_id in submitted:
        act(rt, secretary, order_id, Action.TRIAGE, ActionInput(level=TriageLevel.MAJOR))
    sec = login(client, "sec")

    def cost(query: str) -> int:
        with counting(rt) as statements:
            response = client.get(f"/api/v1/orders?scope=community&limit=100&{query}", headers=sec)
        assert len(response.get_json()["items"]) == len(submitted) > 0
        return len(statements)

    # The same orders listed by status and by level: the same statements, the filter is SQL.
    assert cost("level=major") == cost("status=submitted") == cost("status=submitted&level=major")


def test_a_detail_costs_the_same_whatever_the_order_holds(rt: Runtime, client: FlaskClient) -> None:
    city = City(rt)
    plain = city.order(None)
    rich = city.order(Target(volunteer_id=city.volunteers[1]), rated=True)
    team = city.order(Target(team_id=city.teams[0]))
    sec, vol = login(client, "sec"), login(client, "vol-0")
    counts = set()
    for order_id in (plain, rich, team):
        with counting(rt) as statements:
            response = client.get(f"/api/v1/orders/{order_id}", headers=sec)
        assert response.status_code == 200
        counts.add(len(statements))
    with counting(rt) as statements:
        assert client.get(f"/api/v1/orders/{team}", headers=vol).status_code == 200  # a member, by the team
    counts.add(len(statements))
    # One read transaction for the request: auth (token → user, roles, areas in one statement), the
    # order, what it points at (one statement of correlated lookups), its photos, its audit trail,
    # and the viewer's teams and companies only when the order waits for one. SQLite adds its BEGIN.
    assert len(counts) <= 2, counts
    assert max(counts) <= 7, counts


def test_the_pool_costs_the_same_for_4_and_16_pooled_orders(rt: Runtime, client: FlaskClient) -> None:
    city = City(rt)
    for _ in range(4):
        city.order(Target(pool=True))
    vol = login(client, "vol-1")

    def pool_cost(expected: int) -> int:
        with counting(rt) as statements:
            response = client.get("/api/v1/tasks/pool?limit=100", headers=vol)
        assert response.status_code == 200
        assert len(response.get_json()["items"]) == expected
        return len(statements)

    few = pool_cost(4)
    for _ in range(12):
        city.order(Target(pool=True))
    assert pool_cost(16) == few
    # SQLite's BEGIN; the actor; the volunteer's weekly slots; the ranking (their skills and home
    # grid inside it); what the orders point at; their photos.
    assert few <= 6


def test_candidates_cost_the_same_for_3_and_30_volunteers(rt: Runtime, client: FlaskClient) -> None:
    city = City(rt)
    city.mixed(3)  # one rated volunteer among them
    order_id = city.order(None)
    sec = login(client, "sec")

    def candidates_cost() -> int:
        with counting(rt) as statements:
            response = client.get(f"/api/v1/orders/{order_id}/candidates", headers=sec)
        assert response.status_code == 200, response.get_json()
        return len(statements)

    few = candidates_cost()
    for n in range(27):
        make_person(rt, f"more-{n}", (Role.VOLUNTEER, city.world.community))
    assert candidates_cost() == few
    assert few <= 5


def test_posting_an_order_has_a_statement_budget(rt: Runtime, client: FlaskClient) -> None:
    city = City(rt)
    resident = make_person(rt, "poster", home=(city.world.community, city.world.grid)).logged_in(client)
    body = {"community": city.world.community, "category": "cat-0", "kind": "service", "title": "买菜"}
    counts = []
    for key in ("k1", "k2"):
        with counting(rt) as statements:
            response = client.post("/api/v1/orders", json=body, headers={**resident.headers, "Idempotency-Key": key})
        assert response.status_code == 201
        counts.append(len(statements))
    # Auth, the Idempotency-Key looked up, claimed and filled, the community, category, resident and
    # household, the number, the order, its event, the secretary's inbox entry and push (one
    # INSERT … ON CONFLICT DO NOTHING each, no savepoints) and the answer: 19 on SQLite and 15 on
    # PostgreSQL when this was written, plus 3 for the counter's first row of a day.
    assert max(counts) <= 22, counts
    assert not [s for s in statements if "SAVEPOINT" in s.upper()]


def test_the_volunteer_picker_costs_the_same_for_3_and_30_volunteers(rt: Runtime, client: FlaskClient) -> None:
    """Skills, the community's teams, the load and the rating of a page: two statements after the
    community is found, whatever the page holds."""
    city = City(rt)
    city.mixed(4)  # team and company orders, a held and rated volunteer
    community = city.world.community
    sec = login(client, "sec")

    def picker_cost(expected: int) -> int:
        with counting(rt) as statements:
            response = client.get(f"/api/v1/volunteers?community={community}&limit=100", headers=sec)
        assert response.status_code == 200, response.get_json()
        assert len(response.get_json()["items"]) == expected
        return len(statements)

    few = picker_cost(3)
    for n in range(27):
        make_person(rt, f"more-{n}", (Role.VOLUNTEER, community))
        add_skill(rt, community, f"skill-{n}", f"技能{n}")
        set_skills(rt, actor_of(rt, f"more-{n}"), ["electrician", f"skill-{n}"])
    with rt.db.write() as session:
        create_team(session, community, "新队", [f"more-{n}" for n in range(0, 27, 2)])
    assert picker_cost(30) == few
    # Auth, the community, the page, its skills and teams (SQLite adds its BEGIN).
    assert few <= 5
    # The team and company pickers: one statement for the page after the community (companies:
    # one more for the communities each serves).
    for url, most in (("/api/v1/teams", 4), ("/api/v1/property-companies", 5)):
        with counting(rt) as statements:
            assert client.get(f"{url}?community={community}", headers=sec).status_code == 200
        assert len(statements) <= most, (url, statements)
