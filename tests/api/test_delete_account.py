"""DELETE /me: the account becomes an anonymous tombstone in one transaction; its orders stay for
the ledgers and statistics without phone or room, its photos' files go unless shared, its tokens
stop working, and a volunteer's points stay summed. Refused while an order depends on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.account.erasure import delete_account
from app.bot.binding import create_bind_code
from app.bot.models import BotBindCode
from app.core.clock import now_utc
from app.core.idempotency import IdempotencyKey
from app.identity.erasure import DELETED_NICKNAME
from app.identity.models import Household, Invitation, RoleMembership, User
from app.identity.roles import Role
from app.notify.consent import record_grants
from app.notify.forget import RECIPIENT_DELETED
from app.notify.models import DeliveryStatus, Notification, OutboxMessage, SubscriptionGrant
from app.orders import texts
from app.orders.models import Order, OrderEvent, Rating
from app.orders.reminder_scan import run_reminders
from app.orders.workflow import Action, OrderStatus
from app.runtime import Runtime
from app.timebank.ledger import PointsEntry
from app.uploads.models import Attachment
from app.uploads.store import file_path
from app.volunteers.models import Team, TeamMember
from app.volunteers.teams import create_team
from tests.factories import (
    HOME,
    RESIDENT_PHONE,
    People,
    Person,
    World,
    login,
    make_order,
    make_people,
    make_person,
    make_photo,
    make_world,
    photo_bytes,
)


def _delete(client: FlaskClient, person: Person) -> Any:
    return client.delete("/api/v1/me", headers=person.headers)


def _count(rt: Runtime, model: Any, *where: Any) -> int:
    with rt.db.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0)


def _file_of(rt: Runtime, upload_id: int) -> Any:
    with rt.db.read() as session:
        sha256, content_type = session.execute(
            sa.select(Attachment.sha256, Attachment.content_type).where(Attachment.id == upload_id)
        ).one()
    path = file_path(rt.settings.var_path, sha256, content_type)
    assert path is not None
    assert path.is_file()
    return path


def _community_list(client: FlaskClient, staff: Person) -> dict[int, dict[str, Any]]:
    response = client.get("/api/v1/orders?scope=community&limit=100", headers=staff.headers)
    assert response.status_code == 200
    return {order["id"]: order for order in response.get_json()["items"]}


def test_deleting_needs_a_token(client: FlaskClient, rt: Runtime) -> None:
    assert client.delete("/api/v1/me").status_code == 401
    assert client.delete("/api/v1/me", headers={"Authorization": "Bearer x.y.z"}).status_code == 401


class Resident:
    """alice with a bit of everything: orders in several states (one with her photo, one she
    rated), an unused upload, a photo whose bytes bob uploaded too, grants, a bot binding and bind
    code, an Idempotency-Key, and a second device."""

    def __init__(self, rt: Runtime, client: FlaskClient) -> None:
        self.world: World = make_world(rt)
        self.people: People = make_people(rt, self.world, client=client)
        self.alice = self.people.resident
        self.tablet = self.alice.logged_in(client)
        self.bob = make_person(rt, "bob", home=(self.world.community, self.world.grid))
        record_grants(rt, self.alice.actor(rt), ["order_claimed", "order_started", "order_completed"])
        self.own_photo = make_photo(rt, self.alice)
        shared = photo_bytes()
        self.shared_photo = make_photo(rt, self.alice, shared)
        self.bobs_copy = make_photo(rt, self.bob, shared)
        self.unused_photo = make_photo(rt, self.alice)
        self.files = {i: _file_of(rt, i) for i in (self.own_photo, self.shared_photo, self.unused_photo)}
        people, world = self.people, self.world
        self.closed = make_order(rt, people, world, status=OrderStatus.CLOSED, photos=(self.own_photo,))
        self.completed = make_order(rt, people, world, status=OrderStatus.COMPLETED, photos=(self.shared_photo,))
        self.submitted = make_order(rt, people, world)
        self.assigned = make_order(rt, people, world, status=OrderStatus.ASSIGNED)
        self.pooled = make_order(rt, people, world, status=OrderStatus.POOLED)
        self.bobs = make_order(rt, self.bob, world)
        body = {"community": world.community, "category": "grocery", "kind": "service", "title": "买药"}
        posted = client.post("/api/v1/orders", json=body, headers={**self.alice.headers, "Idempotency-Key": "k1"})
        assert posted.status_code == 201
        self.posted = posted.get_json()["order"]["id"]
        with rt.db.write() as session:
            session.execute(
                sa.update(User).where(User.id == self.alice.id).values(oa_openid="oa-alice", oa_following=True)
            )
        create_bind_code(rt, self.alice.actor(rt))

    @property
    def orders(self) -> list[int]:
        return [self.closed, self.completed, self.submitted, self.assigned, self.pooled, self.posted]


@dataclass
class Deleted:
    """A ``Resident`` whose account was deleted, with what was observed just before."""

    r: Resident
    listed_before: dict[int, dict[str, Any]]
    pending_before: int


@pytest.fixture
def deleted(rt: Runtime, client: FlaskClient) -> Deleted:
    r = Resident(rt, client)
    listed_before = _community_list(client, r.people.secretary)
    mine = OutboxMessage.recipient_user_id == r.alice.id
    pending_before = _count(rt, OutboxMessage, mine, OutboxMessage.status == DeliveryStatus.PENDING)
    assert pending_before > 0  # her grants let messages to her wait for delivery
    response = _delete(client, r.alice)
    assert response.status_code == 204
    assert response.get_data() == b""
    return Deleted(r, listed_before, pending_before)


def test_every_token_dies_and_the_same_wechat_is_a_new_user(client: FlaskClient, rt: Runtime, deleted: Deleted) -> None:
    r = deleted.r
    for headers in (r.alice.headers, r.tablet.headers):
        assert client.get("/api/v1/me", headers=headers).status_code == 401
    fresh = client.get("/api/v1/me", headers=login(client, "alice")).get_json()
    assert fresh["id"] != r.alice.id
    assert (fresh["roles"], fresh["household"], fresh["phone"], fresh["points_balance"]) == ([], None, None, 0)
    with rt.db.read() as session:
        tomb = session.get(User, r.alice.id)
        assert tomb is not None
        assert (tomb.nickname, tomb.openid, tomb.unionid, tomb.phone) == (
            DELETED_NICKNAME,
            f"deleted:{r.alice.id}",
            None,
            None,
        )
        assert (tomb.oa_openid, tomb.oa_following, tomb.session_key, tomb.last_login_at) == (None, False, None, None)
        assert tomb.deleted_at is not None


def test_orders_stay_without_phone_or_room_and_the_untaken_are_cancelled(rt: Runtime, deleted: Deleted) -> None:
    r = deleted.r
    with rt.db.read() as session:
        orders = {
            row.id: row
            for row in session.execute(
                sa.select(
                    Order.id,
                    Order.status,
                    Order.contact_phone,
                    Order.room,
                    Order.building,
                    Order.unit,
                    Order.anonymised_at,
                ).where(Order.resident_id == r.alice.id)
            )
        }
        notes = dict(
            session.execute(
                sa.select(OrderEvent.order_id, OrderEvent.note).where(OrderEvent.action == Action.CANCEL)
            ).all()
        )
        told = session.scalars(
            sa.select(Notification.body).where(
                Notification.user_id == r.people.volunteer.id, Notification.order_id == r.assigned
            )
        ).all()
    assert sorted(orders) == sorted(r.orders)
    # Building and unit stay for the statistics.
    kept = {(o.contact_phone, o.room, o.building, o.unit) for o in orders.values()}
    assert kept == {(None, "", HOME["building"], HOME["unit"])}
    assert all(o.anonymised_at is not None for o in orders.values())
    # Nobody had taken these on: cancelled, as she would have. The others keep their status.
    for order_id in (r.submitted, r.assigned, r.pooled, r.posted):
        assert orders[order_id].status is OrderStatus.CANCELLED
        assert notes[order_id] == texts.CANCELLED_BY_DELETION_NOTE
    assert (orders[r.closed].status, orders[r.completed].status) == (OrderStatus.CLOSED, OrderStatus.COMPLETED)
    # The volunteer the cancelled order was dispatched to hears of it.
    assert any(texts.CANCELLED in body for body in told)


def test_staff_still_list_and_count_her_orders_named_as_deleted(client: FlaskClient, deleted: Deleted) -> None:
    r = deleted.r
    secretary = r.people.secretary
    listed = _community_list(client, secretary)
    assert sorted(listed) == sorted(deleted.listed_before)
    for order_id in r.orders:
        assert listed[order_id]["resident"] == {"id": r.alice.id, "name": DELETED_NICKNAME}
        assert (listed[order_id]["contact_phone"], listed[order_id]["address"]["room"]) == (None, "")
    assert listed[r.bobs]["resident"]["id"] == r.bob.id
    # Nothing is left to reveal either.
    contact = client.post(f"/api/v1/orders/{r.closed}/contact", json={}, headers=secretary.headers).get_json()
    assert (contact["phone"], contact["address"]["room"]) == (None, "")


def test_her_photos_go_and_their_files_unless_shared(rt: Runtime, deleted: Deleted) -> None:
    r = deleted.r
    assert _count(rt, Attachment, Attachment.uploader_id == r.alice.id) == 0
    assert not r.files[r.own_photo].exists()
    assert not r.files[r.unused_photo].exists()
    assert r.files[r.shared_photo].exists()  # bob uploaded the same bytes: his copy keeps the file
    assert _count(rt, Attachment, Attachment.id == r.bobs_copy) == 1


def test_what_was_hers_alone_is_gone_and_the_outbox_keeps_stripped_rows(rt: Runtime, deleted: Deleted) -> None:
    mine = deleted.r.alice.id
    assert _count(rt, RoleMembership, RoleMembership.user_id == mine) == 0
    assert _count(rt, Household, Household.user_id == mine) == 0
    assert _count(rt, SubscriptionGrant, SubscriptionGrant.user_id == mine) == 0
    assert _count(rt, Notification, Notification.user_id == mine) == 0
    assert _count(rt, BotBindCode, BotBindCode.user_id == mine) == 0
    assert _count(rt, IdempotencyKey, IdempotencyKey.user_id == mine) == 0
    with rt.db.read() as session:
        outbox = session.execute(
            sa.select(
                OutboxMessage.status, OutboxMessage.recipient, OutboxMessage.payload, OutboxMessage.last_error
            ).where(OutboxMessage.recipient_user_id == mine)
        ).all()
    assert outbox
    assert {(row.recipient, str(row.payload)) for row in outbox} == {("", "{}")}
    assert DeliveryStatus.PENDING not in {row.status for row in outbox}
    assert sum(row.last_error == RECIPIENT_DELETED for row in outbox) == deleted.pending_before


def test_a_deleted_account_is_not_messaged_again(rt: Runtime, deleted: Deleted) -> None:
    """Her completed order stays completed: the job reminds its resident to rate it, then closes it
    unrated. Neither reaches the tombstone, on WeChat or in an inbox."""
    r = deleted.r
    outbox_before = _count(rt, OutboxMessage, OutboxMessage.recipient_user_id == r.alice.id)
    days = rt.settings.reminders.unrated_close_days
    for later in (timedelta(hours=rt.settings.reminders.unrated_remind_hours + 1), timedelta(days=days, hours=1)):
        run_reminders(rt, now_utc() + later)
    with rt.db.read() as session:
        assert session.scalar(sa.select(Order.status).where(Order.id == r.completed)) is OrderStatus.CLOSED
    assert _count(rt, Notification, Notification.user_id == r.alice.id) == 0
    assert _count(rt, OutboxMessage, OutboxMessage.recipient_user_id == r.alice.id) == outbox_before


def test_a_volunteers_ledger_stays_summed_and_their_teams_let_go(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    volunteer = people.volunteer
    rated = [make_order(rt, people, world, status=OrderStatus.CLOSED, score=s) for s in (5, 2)]
    with rt.db.write() as session:
        team = create_team(session, world.community, "先锋队", [volunteer.openid, people.other_volunteer.openid])
        session.execute(sa.update(Team).where(Team.id == team.id).values(leader_id=volunteer.id))
        team_id = team.id

    def ledger() -> tuple[int, int]:
        with rt.db.read() as session:
            mine = session.scalar(sa.select(sa.func.sum(PointsEntry.delta)).where(PointsEntry.user_id == volunteer.id))
            total = session.scalar(sa.select(sa.func.sum(PointsEntry.delta)))
        return int(mine or 0), int(total or 0)

    before = ledger()
    assert before[0] > 0
    assert _delete(client, volunteer).status_code == 204
    assert ledger() == before
    assert _count(rt, Rating, Rating.assignee_id == volunteer.id) == len(rated)
    assert _count(rt, TeamMember, TeamMember.user_id == volunteer.id) == 0
    assert _count(rt, TeamMember, TeamMember.team_id == team_id) == 1
    with rt.db.read() as session:
        assert session.scalar(sa.select(Team.leader_id).where(Team.id == team_id)) is None
    # The resident's order still names who did the work: the tombstone.
    detail = client.get(f"/api/v1/orders/{rated[0]}", headers=people.resident.headers).get_json()["order"]
    assert detail["assignee"] == {"id": volunteer.id, "name": DELETED_NICKNAME}
    assert detail["rating"]["score"] == 5


@pytest.mark.parametrize("status", [OrderStatus.ASSIGNED, OrderStatus.ACCEPTED, OrderStatus.IN_SERVICE])
def test_a_volunteer_holding_an_order_must_hand_it_back_first(
    client: FlaskClient, rt: Runtime, status: OrderStatus
) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    order_id = make_order(rt, people, world, status=status)
    with rt.db.read() as session:
        number = session.scalar(sa.select(Order.number).where(Order.id == order_id))

    response = _delete(client, people.volunteer)
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert (error["code"], error["details"]) == ("account_busy", {"orders": [number]})
    assert "退单" in error["message"]
    assert client.get("/api/v1/me", headers=people.volunteer.headers).status_code == 200  # nothing happened

    action, body = (
        ("decline", {"reason": "没空"}) if status is OrderStatus.ASSIGNED else ("release", {"reason": "出差"})
    )
    handed_back = client.post(f"/api/v1/orders/{order_id}/{action}", json=body, headers=people.volunteer.headers)
    assert handed_back.status_code == 200
    assert _delete(client, people.volunteer).status_code == 204


@pytest.mark.parametrize("status", [OrderStatus.ACCEPTED, OrderStatus.IN_SERVICE, OrderStatus.ESCALATED])
def test_a_resident_waits_while_someone_works_on_their_order(
    client: FlaskClient, rt: Runtime, status: OrderStatus
) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    busy = make_order(rt, people, world, status=status)
    waiting = make_order(rt, people, world)
    photo = make_photo(rt, people.resident)

    response = _delete(client, people.resident)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "account_busy"
    # Refused as a whole: nothing cancelled, nothing cleared, no file touched.
    with rt.db.read() as session:
        rows = session.execute(
            sa.select(Order.id, Order.status, Order.contact_phone).where(Order.id.in_([busy, waiting]))
        )
        orders = {row.id: row for row in rows}
    assert orders[waiting].status is OrderStatus.SUBMITTED
    assert orders[busy].contact_phone == RESIDENT_PHONE
    assert _file_of(rt, photo).exists()
    assert client.get("/api/v1/me", headers=people.resident.headers).status_code == 200


def test_deleting_twice(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    alice = make_person(rt, "alice", home=(world.community, world.grid), client=client)
    stale = alice.actor(rt)
    assert _delete(client, alice).status_code == 204
    assert _delete(client, alice).status_code == 401  # the token died with the account
    delete_account(rt, stale)  # the use case again, with the actor of before: nothing to do
    with rt.db.read() as session:
        assert session.scalar(sa.select(User.nickname).where(User.id == alice.id)) == DELETED_NICKNAME
    again = alice.logged_in(client)  # the same WeChat account: a new user, who may delete theirs
    assert client.get("/api/v1/me", headers=again.headers).get_json()["id"] != alice.id
    assert _delete(client, again).status_code == 204
    assert _count(rt, User, User.deleted_at.is_not(None)) == 2


def test_a_secretarys_unused_invitations_go_with_them(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    secretary = make_person(rt, "secretary-wang", (Role.SECRETARY, world.community), client=client)
    used = client.post(
        "/api/v1/invitations", json={"role": "volunteer", "area": world.community}, headers=secretary.headers
    )
    unused = client.post(
        "/api/v1/invitations", json={"role": "volunteer", "area": world.community}, headers=secretary.headers
    )
    joiner = make_person(rt, "joiner", client=client)
    assert (
        client.post(
            "/api/v1/invitations/redeem", json={"code": used.get_json()["code"]}, headers=joiner.headers
        ).status_code
        == 200
    )

    assert _delete(client, secretary).status_code == 204
    with rt.db.read() as session:
        codes = set(session.scalars(sa.select(Invitation.code)))
    assert codes == {used.get_json()["code"]}  # the redeemed one is history
    assert unused.get_json()["code"] not in codes
    # The role granted through it stays; its audit row keeps pointing at the tombstone.
    roles = client.get("/api/v1/me", headers=joiner.headers).get_json()["roles"]
    assert [role["role"] for role in roles] == ["volunteer"]
