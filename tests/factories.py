"""Typed builders for test data, going through the same services the product uses.

``make_world`` lays out the areas, ``make_people`` the usual cast of one community (through login,
role grants, the household and phone use cases), ``make_order`` an order submitted with
``app.orders.submit.submit_order`` and driven to a status with ``app.orders.actions.act``. HTTP
tests get the cast logged in through the API with ``make_people(..., client=client)``.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypedDict, Unpack

import sqlalchemy as sa
from flask.testing import FlaskClient
from PIL import Image

from app.account.profile import set_household
from app.areas.catalogue import create_category
from app.areas.models import AreaKind
from app.areas.tree import create_area
from app.identity.actor import Actor, load_actor
from app.identity.grants import assign_role
from app.identity.login import bind_phone
from app.identity.login import login as login_service
from app.identity.models import User
from app.identity.roles import Role
from app.orders.actions import ActionInput, Target, act
from app.orders.shapes import OrderOut
from app.orders.submit import NewOrder, submit_order
from app.orders.workflow import Action, OrderKind, OrderStatus
from app.runtime import Runtime
from app.timebank.ledger import PointsEntry
from app.timebank.merchants import create_merchant, link_merchant_staff
from app.timebank.rewards import add_reward
from app.uploads.store import store_upload


@dataclass(frozen=True)
class World:
    """Two communities under one street, each with a grid, a building and a category."""

    street: str = "JD1"
    community: str = "SQ1"
    grid: str = "SQ1-G1"
    building: str = "SQ1-G1-B3"
    other_community: str = "SQ2"
    other_grid: str = "SQ2-G1"


def make_world(rt: Runtime) -> World:
    world = World()
    with rt.db.write() as session:
        create_area(session, AreaKind.STREET, world.street, "新华街道")
        create_area(session, AreaKind.COMMUNITY, world.community, "和平社区", world.street)
        create_area(session, AreaKind.COMMUNITY, world.other_community, "幸福里社区", world.street)
        create_area(session, AreaKind.GRID, world.grid, "阳光小区", world.community)
        create_area(session, AreaKind.GRID, world.other_grid, "幸福里一网格", world.other_community)
        create_area(session, AreaKind.BUILDING, world.building, "3栋", world.grid)
        for community in (world.community, world.other_community):
            create_category(session, community, "grocery", "买菜代购", points=5, sla_hours=24)
    return world


def grant(rt: Runtime, openid: str, role: Role, area: str) -> None:
    with rt.db.write() as session:
        assign_role(session, openid, role, area)


def login(client: FlaskClient, openid: str) -> dict[str, str]:
    """Log in through the HTTP API with a simulator code; answer the Authorization header."""
    # A fresh code per login, as wx.login gives; the simulator maps "sim:<openid>#<nonce>" to openid.
    response = client.post("/api/v1/auth/login", json={"code": f"sim:{openid}#{uuid.uuid4().hex[:8]}"})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def actor_of(rt: Runtime, openid: str) -> Actor:
    """The Actor of ``openid`` as it is now (roles granted since are included)."""
    with rt.db.read() as session:
        user = session.scalar(sa.select(User).where(User.openid == openid))
        assert user is not None, f"no user {openid!r}"
        return load_actor(session, user)


# -- people --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A user made through the services: their openid and id, and, once logged in through the
    HTTP API, their Authorization header."""

    openid: str
    id: int
    auth: Mapping[str, str] | None = field(default=None, repr=False, compare=False)

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header; only for people made with ``client=`` (or ``logged_in``)."""
        assert self.auth is not None, f"{self.openid} was not logged in: pass client= to make_people / make_person"
        return dict(self.auth)

    def logged_in(self, client: FlaskClient) -> Person:
        """The same person with a fresh token from ``POST /api/v1/auth/login``."""
        return replace(self, auth=login(client, self.openid))

    def actor(self, rt: Runtime) -> Actor:
        return actor_of(rt, self.openid)


#: The resident's home in ``World.community`` (building 3 is a known building of its grid).
HOME = {"building": "3", "unit": "2", "room": "301"}
RESIDENT_PHONE = "13812345678"


def make_person(
    rt: Runtime,
    openid: str,
    *grants: tuple[Role, str],
    home: tuple[str, str | None] | None = None,
    phone: str | None = None,
    client: FlaskClient | None = None,
) -> Person:
    """A user who logged in once (``app.identity.login.login``), holds ``grants`` (role, area
    code), lives at ``HOME`` in ``home`` = (community, grid) and bound ``phone``, when given."""
    user_id = login_service(rt, f"sim:{openid}#{uuid.uuid4().hex[:8]}").user.id
    for role, area in grants:
        grant(rt, openid, role, area)
    if home is not None:
        community, grid = home
        set_household(rt, actor_of(rt, openid), community=community, grid=grid, **HOME)
    if phone is not None:
        bind_phone(rt, actor_of(rt, openid), f"sim-phone:{phone}")
    person = Person(openid=openid, id=user_id)
    return person.logged_in(client) if client is not None else person


@dataclass(frozen=True)
class Crew:
    """Who moves an order along, by openid: the resident it belongs to (submits, rates, cancels),
    the secretary (dispatches, publishes, rejects, escalates) and the volunteer (accepts or
    claims, starts, completes)."""

    owner: str
    secretary: str
    volunteer: str


@dataclass(frozen=True)
class People:
    """The usual cast of ``World.community``: the demo data's openids."""

    #: alice: household at SQ1-G1, building 3 unit 2 room 301; phone 13812345678.
    resident: Person
    #: secretary-wang: secretary of the community.
    secretary: Person
    #: gridworker-zhao: grid worker of the community (sees all of its orders).
    grid_worker: Person
    #: volunteer-li: volunteer of the community; ``make_order`` dispatches to them.
    volunteer: Person
    #: volunteer-chen: another volunteer of the community.
    other_volunteer: Person
    #: street-admin-sun: street admin of the street (both communities).
    street_admin: Person

    @property
    def crew(self) -> Crew:
        return Crew(self.resident.openid, self.secretary.openid, self.volunteer.openid)


def make_people(rt: Runtime, world: World, *, client: FlaskClient | None = None) -> People:
    """The usual cast (see ``People``); with ``client``, each logged in through the HTTP API."""
    community = world.community
    return People(
        resident=make_person(rt, "alice", home=(community, world.grid), phone=RESIDENT_PHONE, client=client),
        secretary=make_person(rt, "secretary-wang", (Role.SECRETARY, community), client=client),
        grid_worker=make_person(rt, "gridworker-zhao", (Role.GRID_WORKER, community), client=client),
        volunteer=make_person(rt, "volunteer-li", (Role.VOLUNTEER, community), client=client),
        other_volunteer=make_person(rt, "volunteer-chen", (Role.VOLUNTEER, community), client=client),
        street_admin=make_person(rt, "street-admin-sun", (Role.STREET_ADMIN, world.street), client=client),
    )


# -- orders --------------------------------------------------------------------------------------


class OrderFields(TypedDict, total=False):
    """``NewOrder``'s fields; ``make_order`` fills in the community, a grocery service order and
    its title and description."""

    community: str
    category: str
    kind: OrderKind
    title: str
    description: str
    grid: str | None
    building: str | None
    unit: str | None
    room: str | None
    contact_phone: str | None
    preferred_start: datetime | None
    preferred_end: datetime | None
    photos: tuple[int, ...]
    on_behalf_of: int | None
    latitude: float | None
    longitude: float | None


#: Who takes each step, and what they send.
Step = tuple[str, Action, ActionInput]


def _steps(status: OrderStatus, *, volunteer_id: int, via_pool: bool, score: int, comment: str) -> list[Step]:
    """The actions that bring a submitted order to ``status``, each as (crew member, action, input)."""
    s = OrderStatus
    dispatch: Step = ("secretary", Action.DISPATCH, ActionInput(target=Target(volunteer_id=volunteer_id)))
    publish: Step = ("secretary", Action.DISPATCH, ActionInput(target=Target(pool=True)))
    claim: Step = ("volunteer", Action.CLAIM, ActionInput())
    accept: Step = ("volunteer", Action.ACCEPT, ActionInput())
    held = [publish, claim] if via_pool else [dispatch, accept]
    started = [*held, ("volunteer", Action.START, ActionInput())]
    completed = [*started, ("volunteer", Action.COMPLETE, ActionInput(note="已送到"))]
    paths: dict[OrderStatus, list[Step]] = {
        s.SUBMITTED: [],
        s.ASSIGNED: [dispatch],
        s.POOLED: [publish],
        s.ACCEPTED: held,
        s.IN_SERVICE: started,
        s.COMPLETED: completed,
        s.CLOSED: [*completed, ("owner", Action.RATE, ActionInput(score=score, comment=comment))],
        s.REJECTED: [("secretary", Action.REJECT, ActionInput(reason="不属于服务范围"))],
        s.ESCALATED: [("secretary", Action.ESCALATE, ActionInput(department="城管中队", due_hours=24))],
        s.CANCELLED: [("owner", Action.CANCEL, ActionInput(reason="不需要了"))],
    }
    return paths[status]


def make_order(
    rt: Runtime,
    who: People | Crew | Person | Actor,
    world: World,
    *,
    status: OrderStatus = OrderStatus.SUBMITTED,
    via_pool: bool = False,
    score: int = 4,
    comment: str = "",
    **fields: Unpack[OrderFields],
) -> int:
    """An order submitted with ``submit_order`` and driven to ``status`` with ``act``; its id.

    ``who`` is the cast (``People`` or a ``Crew``), or for a submitted order just the poster. The
    way there: dispatch to the crew's volunteer and accept (``via_pool``: publish and claim), start,
    complete with a note, rate ``score`` (with ``comment``); reject, escalate or cancel straight
    from submitted. ``fields`` go to ``NewOrder``.
    """
    crew = who.crew if isinstance(who, People) else who
    if isinstance(crew, Crew):
        poster = actor_of(rt, crew.owner)
    else:
        if status is not OrderStatus.SUBMITTED:
            raise TypeError(f"driving an order to {status.value} needs People or a Crew, not one {type(who).__name__}")
        poster = crew if isinstance(crew, Actor) else crew.actor(rt)
    defaults = NewOrder(
        community=world.community, category="grocery", kind=OrderKind.SERVICE, title="帮忙买菜", description="两斤青菜"
    )
    new = replace(defaults, **fields)
    if new.kind is OrderKind.REPORT:
        # A 随手拍 needs a photo and a place: the poster's photo and building 3 unless given.
        if not new.photos:
            new = replace(new, photos=(make_photo(rt, poster),))
        if new.latitude is None and not new.building:
            new = replace(new, building="3")
    order: OrderOut = submit_order(rt, poster, new)
    assert order.status == OrderStatus.SUBMITTED.value, order.status
    if isinstance(crew, Crew):
        volunteer = actor_of(rt, crew.volunteer)
        members = {"owner": crew.owner, "secretary": crew.secretary, "volunteer": crew.volunteer}
        for member, action, data in _steps(
            status, volunteer_id=volunteer.user_id, via_pool=via_pool, score=score, comment=comment
        ):
            order = act(rt, actor_of(rt, members[member]), order.id, action, data)
    assert order.status == status.value, (order.status, status.value)
    return order.id


# -- photos --------------------------------------------------------------------------------------


def photo_bytes() -> bytes:
    """A small JPEG of random pixels: every call a different file (a different content hash)."""
    out = io.BytesIO()
    Image.frombytes("RGB", (8, 8), os.urandom(8 * 8 * 3)).save(out, "JPEG")
    return out.getvalue()


def make_photo(rt: Runtime, who: Person | Actor, data: bytes | None = None) -> int:
    """An upload by ``who`` through ``store_upload`` (of ``data``, else new random pixels); its id."""
    actor = who if isinstance(who, Actor) else who.actor(rt)
    stream = io.BytesIO(data if data is not None else photo_bytes())
    return store_upload(rt, actor, filename="p.jpg", stream=stream, declared_type="image/jpeg").id


# -- the time bank -------------------------------------------------------------------------------


def give_points(rt: Runtime, who: Person, points: int) -> None:
    """``points`` more in ``who``'s ledger, as if earned."""
    with rt.db.write() as session:
        session.add(PointsEntry(user_id=who.id, delta=points, reason="test_earned"))


def make_merchant(rt: Runtime, community: str, name: str, *staff: Person) -> int:
    """A merchant of ``community`` whose codes ``staff`` verify (each holds the merchant role there)."""
    with rt.db.write() as session:
        merchant = create_merchant(session, community, name)
        for person in staff:
            assign_role(session, person.openid, Role.MERCHANT, community)
            link_merchant_staff(session, merchant.id, person.id)
        return merchant.id


def make_reward(rt: Runtime, community: str, merchant_id: int, *, points: int, stock: int | None = None) -> int:
    return add_reward(rt, community, merchant_id=merchant_id, name="洗衣液一瓶", points=points, stock=stock).id
