"""GET /me/export: everything Linli holds about the caller, as a JSON download, and nothing about
anyone else (beyond the people on their own orders)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.account import export
from app.account.shapes import AccountExport
from app.identity.models import User
from app.identity.roles import Role
from app.notify.consent import record_grants
from app.orders.workflow import OrderStatus
from app.runtime import Runtime
from tests.factories import (
    RESIDENT_PHONE,
    People,
    Person,
    World,
    make_order,
    make_people,
    make_person,
    make_photo,
    make_world,
)

BOB_PHONE = "13900001111"


def _download(client: FlaskClient, person: Person) -> tuple[dict[str, Any], str]:
    response = client.get("/api/v1/me/export", headers=person.headers)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == f'attachment; filename="linli-export-{person.id}.json"'
    assert response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    body = json.loads(text)
    AccountExport.model_validate(body)  # the stream is exactly the documented shape
    assert list(body) == list(AccountExport.model_fields)
    return body, text


class Story:
    """alice's closed order (with a photo, rated, its contact looked up by the secretary) and a
    submitted one; bob, another resident, with an order of his own that nobody else touched."""

    def __init__(self, rt: Runtime, client: FlaskClient) -> None:
        self.world: World = make_world(rt)
        self.people: People = make_people(rt, self.world, client=client)
        self.bob = make_person(rt, "bob", home=(self.world.community, self.world.grid), phone=BOB_PHONE, client=client)
        with rt.db.write() as session:
            session.execute(sa.update(User).where(User.id == self.bob.id).values(nickname="鲍勃"))
        self.photo = make_photo(rt, self.people.resident)
        self.closed = make_order(
            rt, self.people, self.world, status=OrderStatus.CLOSED, score=5, comment="很好", photos=(self.photo,)
        )
        self.open = make_order(rt, self.people.resident, self.world)
        self.bobs = make_order(rt, self.bob, self.world)
        reveal = client.post(f"/api/v1/orders/{self.closed}/contact", json={}, headers=self.people.secretary.headers)
        assert reveal.status_code == 200
        record_grants(rt, self.people.resident.actor(rt), ["order_claimed"])

    def assert_nothing_of_bob(self, rt: Runtime, body: dict[str, Any], text: str, *, staff: bool = False) -> None:
        """Nothing of bob: phone, identifiers, name, his order. Staff were told of his new order,
        and that message in their inbox is theirs, so for them only his order number may show."""
        with rt.db.read() as session:
            number = session.scalar(sa.text("SELECT number FROM orders WHERE id = :id"), {"id": self.bobs})
        for secret in (BOB_PHONE, '"bob"', "union-bob", "鲍勃", *(() if staff else (number,))):
            assert secret not in text, secret
        assert self.bobs not in {order["id"] for order in body["orders"]}
        people = {ref["id"] for order in body["orders"] for ref in (order["resident"], order["posted_by"])}
        assert self.bob.id not in people


def test_export_needs_a_token(client: FlaskClient, rt: Runtime) -> None:
    assert client.get("/api/v1/me/export").status_code == 401
    bad = client.get("/api/v1/me/export", headers={"Authorization": "Bearer nope.nope.nope"})
    assert bad.get_json()["error"]["code"] == "unauthenticated"


def test_a_residents_export_holds_their_data_in_full(client: FlaskClient, rt: Runtime) -> None:
    story = Story(rt, client)
    alice = story.people.resident
    body, text = _download(client, alice)

    profile = body["profile"]
    assert (profile["id"], profile["openid"], profile["unionid"]) == (alice.id, "alice", "union-alice")
    assert profile["phone"] == RESIDENT_PHONE  # in full: it is hers
    assert body["household"]["room"] == "301"
    assert [role["role"] for role in body["roles"]] == ["resident"]
    assert body["subscriptions"] == {"order_claimed": 1}
    assert body["bot"] == {"oa_openid": None, "following": False, "blocked_at": None, "followers": []}

    orders = {order["id"]: order for order in body["orders"]}
    assert sorted(orders) == sorted([story.closed, story.open])
    closed = orders[story.closed]
    assert closed["contact_phone"] == RESIDENT_PHONE
    assert closed["address"]["room"] == "301"
    assert [event["action"] for event in closed["events"]][:2] == ["submit", "dispatch"]
    assert closed["photos"][0]["id"] == story.photo
    assert closed["photos"][0]["url"].startswith(f"/api/v1/photos/{story.photo}/")
    assert [(r["order_id"], r["score"], r["comment"]) for r in body["ratings_given"]] == [(story.closed, 5, "很好")]
    assert body["ratings_received"] == []
    assert [(u["id"], u["order_id"], u["purpose"]) for u in body["uploads"]] == [(story.photo, story.closed, "request")]
    assert body["notifications"]  # told when the volunteer took the order, and so on
    assert all(n["order_id"] in orders for n in body["notifications"])
    # Who looked up her phone, for which order, in which capacity: hers to know.
    (reveal,) = [entry for entry in body["audit"] if entry["kind"] == "contact_revealed"]
    assert reveal["actor"]["id"] == story.people.secretary.id
    assert (reveal["order_id"], reveal["detail"], reveal["area"]) == (story.closed, "secretary", story.world.community)
    story.assert_nothing_of_bob(rt, body, text)


def test_a_volunteers_export_holds_their_work_and_no_residents_contact(client: FlaskClient, rt: Runtime) -> None:
    story = Story(rt, client)
    body, text = _download(client, story.people.volunteer)
    assert body["points"]
    assert body["points_balance"] == sum(entry["delta"] for entry in body["points"]) > 0
    assert {entry["order_id"] for entry in body["points"]} == {story.closed}
    assert [(r["order_id"], r["score"]) for r in body["ratings_received"]] == [(story.closed, 5)]
    assert body["orders"] == []  # orders they served are the residents'; their work is the ledger
    assert [role["role"] for role in body["roles"]] == ["volunteer"]
    assert body["notifications"]
    assert RESIDENT_PHONE not in text
    story.assert_nothing_of_bob(rt, body, text)


def test_a_secretarys_export_holds_their_role_not_the_contacts_they_saw(client: FlaskClient, rt: Runtime) -> None:
    story = Story(rt, client)
    body, text = _download(client, story.people.secretary)
    assert [role["role"] for role in body["roles"]] == ["secretary"]
    # The grant of their role is about them; the reveal they made is about alice.
    assert [(e["kind"], e["detail"]) for e in body["audit"]] == [("role_granted", "secretary")]
    assert body["orders"] == []
    assert RESIDENT_PHONE not in text
    story.assert_nothing_of_bob(rt, body, text, staff=True)


def test_orders_posted_for_others_show_that_resident_masked(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    zhao = make_person(rt, "gridworker-zhao", (Role.GRID_WORKER, world.community), client=client)
    bob = make_person(rt, "bob", home=(world.community, world.grid), phone=BOB_PHONE)
    order_id = make_order(rt, zhao, world, on_behalf_of=bob.id)
    body, text = _download(client, zhao)
    (order,) = body["orders"]
    assert (order["id"], order["resident"]["id"], order["posted_by"]["id"]) == (order_id, bob.id, zhao.id)
    assert order["contact_phone"] == "139****1111"
    assert order["address"]["room"] == "***"
    assert BOB_PHONE not in text


def test_long_sections_are_read_in_batches_and_come_out_whole(
    client: FlaskClient, rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "BATCH", 2)
    world = make_world(rt)
    alice = make_person(rt, "alice", home=(world.community, world.grid), client=client)
    orders = [make_order(rt, alice, world) for _ in range(5)]
    photos = [make_photo(rt, alice) for _ in range(4)]  # exactly two batches, then an empty one
    body, _text = _download(client, alice)
    assert [order["id"] for order in body["orders"]] == orders
    assert [upload["id"] for upload in body["uploads"]] == photos
    assert body["notifications"] == []
    assert body["points"] == []
