"""A Hypothesis state machine over the order services: random actions by random people, checked
against a model of who may do what (docs/api.md, Actions) and against the database after every step.

The machine calls ``app.orders.submit.submit_order`` and ``app.orders.actions.act``
directly. Every call must either succeed or raise the one LinliError the model predicts (never
another exception); after every step the orders, their audit trail and their assignees in the
database must agree with the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from app.areas.tree import get_area
from app.core.db import Base
from app.core.errors import (
    AlreadyClaimedError,
    ForbiddenError,
    InvalidInputError,
    InvalidTransitionError,
    LinliError,
    NotFoundError,
    RateLimitedError,
)
from app.identity.actor import Actor, load_actor
from app.identity.grants import assign_role
from app.identity.models import Household, User
from app.identity.roles import Role
from app.orders.actions import ActionInput, Target, act
from app.orders.models import Order, OrderEvent
from app.orders.queries import get_order
from app.orders.submit import NewOrder, submit_order
from app.orders.workflow import Action, OrderKind, OrderStatus, Party, TriageLevel
from app.runtime import Runtime
from tests.factories import World, make_photo, make_world
from tests.unit.test_workflow import EXPECTED, EXPECTED_PARTIES

S = OrderStatus

#: The session's runtime, handed to the machine by the test function (Hypothesis builds the
#: machine itself, so it cannot receive fixtures).
_CONTEXT: dict[str, Runtime] = {}

OWNER: Final = "owner"  # the resident every order belongs to
NEIGHBOUR: Final = "neighbour"  # a resident of the same community
VOL1: Final = "vol1"
VOL2: Final = "vol2"
SECRETARY: Final = "secretary"
GRID_WORKER: Final = "grid_worker"  # holds the role for the grid the owner lives in
OTHER_VOL: Final = "other_vol"  # a volunteer of the other community
OTHER_SEC: Final = "other_sec"  # the secretary of the other community
STREET: Final = "street"  # street admin over both communities
PEOPLE: Final = (OWNER, NEIGHBOUR, VOL1, VOL2, SECRETARY, GRID_WORKER, OTHER_VOL, OTHER_SEC, STREET)
FOREIGN: Final = frozenset({OTHER_VOL, OTHER_SEC})

#: The actions the API offers.
API_ACTIONS: Final = (
    Action.TRIAGE,
    Action.DISPATCH,
    Action.CLAIM,
    Action.ACCEPT,
    Action.DECLINE,
    Action.START,
    Action.COMPLETE,
    Action.RATE,
    Action.DISPUTE,
    Action.URGE,
    Action.CANCEL,
    Action.REJECT,
    Action.ESCALATE,
    Action.RESOLVE,
)
#: Who would naturally do each action (docs/api.md, Actions: "who"; for the assignee's actions, the assignee
#: when there is one).
NATURAL: Final[dict[Action, tuple[str, ...]]] = {
    Action.TRIAGE: (SECRETARY, GRID_WORKER),
    Action.DISPATCH: (SECRETARY, GRID_WORKER),
    Action.CLAIM: (VOL1, VOL2),
    Action.ACCEPT: (VOL1, VOL2),
    Action.DECLINE: (VOL1, VOL2),
    Action.START: (VOL1, VOL2),
    Action.COMPLETE: (VOL1, VOL2),
    Action.RATE: (OWNER,),
    Action.DISPUTE: (OWNER,),
    Action.URGE: (OWNER,),
    Action.CANCEL: (OWNER,),
    Action.REJECT: (SECRETARY,),
    Action.ESCALATE: (SECRETARY,),
    Action.RESOLVE: (SECRETARY, STREET),
}
#: The next step forward from each status, on the way to closed.
FORWARD: Final[dict[OrderStatus, tuple[Action, ...]]] = {
    S.SUBMITTED: (Action.DISPATCH,),
    S.ASSIGNED: (Action.ACCEPT,),
    S.POOLED: (Action.CLAIM,),
    S.ACCEPTED: (Action.START, Action.COMPLETE),
    S.IN_SERVICE: (Action.COMPLETE,),
    S.COMPLETED: (Action.RATE, Action.DISPUTE),
    S.ESCALATED: (Action.RESOLVE,),
}
_TERMINAL: Final = frozenset({S.CLOSED, S.REJECTED, S.CANCELLED})
_VISIBLE_PARTIES: Final = frozenset(
    {Party.OWNER, Party.ASSIGNEE, Party.SECRETARY, Party.GRID_WORKER, Party.STREET_ADMIN}
)
_HELD_OR_DONE: Final = frozenset({S.ACCEPTED, S.IN_SERVICE, S.COMPLETED})


@dataclass
class OrderModel:
    """What the database should say about one order."""

    created_by: str
    status: OrderStatus = S.SUBMITTED
    assignee: str | None = None
    events: int = 1  # the submit event
    urged: bool = False
    #: Has been in the pool: volunteers who may have seen it there learn they came too late.
    published: bool = False
    #: Completed by resolving an escalation: by design nobody holds it.
    resolved: bool = False


def _parties(who: str, order: OrderModel) -> frozenset[Party]:
    parties: set[Party] = set()
    if who == OWNER:
        parties.add(Party.OWNER)
    if order.assignee == who:
        parties.add(Party.ASSIGNEE)
    if who in {VOL1, VOL2}:
        parties.add(Party.VOLUNTEER)
    if who == SECRETARY:
        parties.add(Party.SECRETARY)
    if who == GRID_WORKER:
        parties.add(Party.GRID_WORKER)
    if who == STREET:
        parties.add(Party.STREET_ADMIN)
    return frozenset(parties)


def _visible(who: str, order: OrderModel) -> bool:
    parties = _parties(who, order)
    return bool(
        parties & _VISIBLE_PARTIES
        or order.created_by == who
        or (Party.VOLUNTEER in parties and order.status is S.POOLED)
    )


def predict(
    who: str, order: OrderModel, action: Action, data: ActionInput, dispatched_to: str | None
) -> type[LinliError] | None:
    """The error ``act`` must raise, or None for success (the contract's rules in docs/api.md, written out here, in
    the order the service checks them). ``dispatched_to`` names whom a dispatch goes to."""
    if action is Action.CLAIM:
        # A volunteer of the community; an order that never was in the pool stays hidden from
        # volunteers who may not otherwise see it.
        visible = _visible(who, order)
        if Party.VOLUNTEER not in _parties(who, order):
            return ForbiddenError if visible else NotFoundError
        if order.status is S.POOLED:
            return None
        if not visible and not order.published:
            return NotFoundError
        return AlreadyClaimedError if order.status in _HELD_OR_DONE else InvalidTransitionError
    if action is Action.DISPATCH and data.target is not None and data.target.pool:
        action = Action.PUBLISH
    missing_text = {
        Action.DECLINE: not data.reason,
        Action.DISPUTE: not data.reason,
        Action.REJECT: not data.reason,
        Action.ESCALATE: not data.department,
        Action.RESOLVE: not data.note,
    }
    checks: tuple[tuple[bool, type[LinliError]], ...] = (
        (not _visible(who, order), NotFoundError),
        (not _parties(who, order) & EXPECTED_PARTIES[action], ForbiddenError),
        (order.status not in EXPECTED[action], InvalidTransitionError),
        (missing_text.get(action, False), InvalidInputError),
        # Resolved by a street department: nobody to send a dispute back to (rate it instead).
        (action is Action.DISPUTE and order.assignee is None, InvalidTransitionError),
        # Dispatching to someone who is not a volunteer of the order's community.
        (action is Action.DISPATCH and dispatched_to not in {VOL1, VOL2}, InvalidInputError),
        (action is Action.URGE and order.urged, RateLimitedError),
    )
    return next((error for failed, error in checks if failed), None)


class OrderMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.rt = _CONTEXT["rt"]
        self.actors: dict[str, Actor] = {}
        self.orders: dict[int, OrderModel] = {}
        #: (who, action, order id) for every success by someone of the other community.
        self.foreign_successes: list[tuple[str, Action, int]] = []
        self.world = World()

    # -- set-up and clean-up ---------------------------------------------------------------------

    @initialize()
    def make_people(self) -> None:
        self.world = world = make_world(self.rt)
        grants = {
            OWNER: (Role.RESIDENT, world.community),
            NEIGHBOUR: (Role.RESIDENT, world.community),
            VOL1: (Role.VOLUNTEER, world.community),
            VOL2: (Role.VOLUNTEER, world.community),
            SECRETARY: (Role.SECRETARY, world.community),
            GRID_WORKER: (Role.GRID_WORKER, world.grid),
            OTHER_VOL: (Role.VOLUNTEER, world.other_community),
            OTHER_SEC: (Role.SECRETARY, world.other_community),
            STREET: (Role.STREET_ADMIN, world.street),
        }
        with self.rt.db.write() as session:
            community = get_area(session, world.community)
            grid = get_area(session, world.grid)
            users: dict[str, User] = {}
            for name, (role, area) in grants.items():
                users[name] = assign_role(session, f"sm-{name}", role, area, nickname=name)
            for name in (OWNER, NEIGHBOUR):
                # A resident has a household in the community as well as the role.
                session.add(Household(user_id=users[name].id, community_id=community.id, grid_id=grid.id, room="301"))
            session.flush()
            self.actors = {name: load_actor(session, user) for name, user in users.items()}

    def teardown(self) -> None:
        """Empty every table, children first, as tests/conftest.py does after a test. DELETE on
        PostgreSQL too: TRUNCATE of every table costs about half a second there, per example,
        while these few rows go in milliseconds (nothing here depends on ids restarting)."""
        tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
        with self.rt.db.write() as session:
            if self.rt.db.is_sqlite:
                # Areas reference areas; check foreign keys at commit, when every table is empty.
                session.execute(sa.text("PRAGMA defer_foreign_keys = ON"))
            for name in tables:
                session.execute(sa.text(f'DELETE FROM "{name}"'))

    # -- rules -----------------------------------------------------------------------------------

    @precondition(
        lambda self: len(self.orders) < 8 and sum(o.status not in _TERMINAL for o in self.orders.values()) < 2
    )
    @rule(poster=st.sampled_from([OWNER, GRID_WORKER]), kind=st.sampled_from(OrderKind))
    def submit(self, poster: str, kind: OrderKind) -> None:
        new = NewOrder(
            community=self.world.community,
            category="grocery",
            kind=kind,
            title="帮忙买菜",
            description="两斤青菜",
            on_behalf_of=self.actors[OWNER].user_id if poster == GRID_WORKER else None,
            # A 随手拍 needs a photo and a place.
            photos=(make_photo(self.rt, self.actors[poster]),) if kind is OrderKind.REPORT else (),
            building="3" if kind is OrderKind.REPORT else None,
        )
        created = submit_order(self.rt, self.actors[poster], new)
        assert created.status == S.SUBMITTED.value
        assert created.resident.id == self.actors[OWNER].user_id
        self.orders[created.id] = OrderModel(created_by=poster)
        self._foreigners_do_not_see(created.id)

    @precondition(lambda self: bool(self.orders))
    @rule(data=st.data())
    def apply_action(self, data: st.DataObject) -> None:
        oid = data.draw(st.sampled_from(sorted(self.orders)), label="order")
        order = self.orders[oid]
        # So that orders travel far: half the time the next step forward by someone who would do
        # it, with a complete body; a quarter of the time any action the status allows, by someone
        # who would do it; a quarter of the time anything by anyone.
        mode = data.draw(st.integers(0, 3), label="mode")
        allowed = [a for a in API_ACTIONS if order.status in EXPECTED[a]]
        if mode >= 2 and order.status in FORWARD:
            choices: Sequence[Action] = FORWARD[order.status]
        elif mode >= 1 and allowed:
            choices = allowed
        else:
            choices = API_ACTIONS
        action = data.draw(st.sampled_from(choices), label="action")
        natural = NATURAL[action]
        if order.assignee is not None and set(natural) & {VOL1, VOL2}:
            natural = (order.assignee,)
        who = data.draw(st.sampled_from(natural if mode >= 1 else PEOPLE), label="who")
        body, dispatched_to = self._draw_input(data, action, complete=mode >= 2)

        expected = predict(who, order, action, body, dispatched_to)
        if expected is not None:
            # Any other exception, or none, fails the run.
            with pytest.raises(LinliError) as caught:
                act(self.rt, self.actors[who], oid, action, body)
            assert type(caught.value) is expected, (who, action, order, caught.value)
        else:
            out = act(self.rt, self.actors[who], oid, action, body)
            self._advance(order, who, action, body, dispatched_to)
            assert out.status == order.status.value
            assert (out.assignee.id if out.assignee else None) == self._user_id(order.assignee)
            if who in FOREIGN:
                self.foreign_successes.append((who, action, oid))
        self._foreigners_do_not_see(oid)

    def _draw_input(self, data: st.DataObject, action: Action, *, complete: bool) -> tuple[ActionInput, str | None]:
        """A plausible body for ``action`` (unless ``complete``, sometimes missing a required text
        or naming someone who is not a volunteer here), and whom a dispatch goes to (None: pool)."""
        if action is Action.DISPATCH:
            targets = [VOL1, VOL2, "pool"] if complete else [VOL1, VOL2, OTHER_VOL, NEIGHBOUR, "pool"]
            to = data.draw(st.sampled_from(targets), label="to")
            if to == "pool":
                return ActionInput(target=Target(pool=True)), None
            return ActionInput(target=Target(volunteer_id=self.actors[to].user_id)), to
        reasons = st.sampled_from(["有事来不了"] if complete else ["有事来不了", ""])
        bodies: dict[Action, st.SearchStrategy[ActionInput]] = {
            Action.TRIAGE: st.builds(ActionInput, level=st.sampled_from(TriageLevel)),
            Action.RATE: st.builds(ActionInput, score=st.integers(1, 5), comment=st.just("谢谢")),
            Action.ESCALATE: st.builds(
                ActionInput,
                department=st.sampled_from(["城管中队"] if complete else ["城管中队", ""]),
                note=st.just("占道经营"),
                due_hours=st.integers(1, 72),
            ),
            Action.RESOLVE: st.builds(ActionInput, note=st.sampled_from(["已办结"] if complete else ["已办结", ""])),
            Action.COMPLETE: st.just(ActionInput(note="已送到")),
            Action.DECLINE: st.builds(ActionInput, reason=reasons),
            Action.DISPUTE: st.builds(ActionInput, reason=reasons),
            Action.REJECT: st.builds(ActionInput, reason=reasons),
            Action.CANCEL: st.builds(ActionInput, reason=reasons),
        }
        return data.draw(bodies.get(action, st.just(ActionInput())), label="body"), None

    def _advance(
        self, order: OrderModel, who: str, action: Action, body: ActionInput, dispatched_to: str | None
    ) -> None:
        if action is Action.DISPATCH and body.target is not None and body.target.pool:
            action = Action.PUBLISH
        order.status = EXPECTED[action][order.status]
        order.events += 1
        if action is Action.DISPATCH:
            order.assignee = dispatched_to
        elif action in {Action.CLAIM, Action.ACCEPT}:
            order.assignee = who
        elif action in {Action.DECLINE, Action.CANCEL, Action.ESCALATE, Action.PUBLISH}:
            order.assignee = None
            order.published = order.published or action is Action.PUBLISH
        elif action is Action.URGE:
            order.urged = True
        elif action is Action.RESOLVE:
            order.resolved = True

    def _user_id(self, name: str | None) -> int | None:
        return self.actors[name].user_id if name is not None else None

    def _foreigners_do_not_see(self, oid: int) -> None:
        for name in sorted(FOREIGN):
            with pytest.raises(NotFoundError):
                get_order(self.rt, self.actors[name], oid)

    # -- invariants ------------------------------------------------------------------------------

    @invariant()
    def database_agrees_with_the_model(self) -> None:
        with self.rt.db.read() as session:
            rows = session.execute(
                sa.select(Order.id, Order.status, Order.assignee_id, Order.team_id, Order.property_company_id)
            ).all()
            events = session.execute(sa.select(OrderEvent.order_id, OrderEvent.to_status).order_by(OrderEvent.id)).all()
        assert {row.id for row in rows} == set(self.orders)
        counts: dict[int, int] = {}
        last: dict[int, OrderStatus] = {}
        for order_id, to_status in events:
            counts[order_id] = counts.get(order_id, 0) + 1
            last[order_id] = to_status
        for row in rows:
            model = self.orders[row.id]
            assert isinstance(row.status, OrderStatus)
            assert row.status is model.status, (row, model)
            assert counts.get(row.id) == model.events, (row, model)
            assert last[row.id] is row.status, (row, model)
            holders = [row.assignee_id, row.team_id, row.property_company_id]
            assert sum(h is not None for h in holders) <= 1, row
            assert row.assignee_id == self._user_id(model.assignee), (row, model)
            if row.status in {S.ACCEPTED, S.IN_SERVICE}:
                assert row.assignee_id is not None, (row, model)
            if row.status is S.COMPLETED and not model.resolved:
                assert row.assignee_id is not None, (row, model)

    @invariant()
    def the_other_community_never_acted(self) -> None:
        assert self.foreign_successes == []


def test_random_actions_by_random_people_keep_orders_consistent(rt: Runtime) -> None:
    _CONTEXT["rt"] = rt
    try:
        run_state_machine_as_test(
            OrderMachine,
            settings=settings(
                max_examples=30,
                stateful_step_count=25,
                deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture],
            ),
        )
    finally:
        _CONTEXT.clear()


def test_a_resolved_escalation_cannot_be_disputed(rt: Runtime) -> None:
    """Regression: disputing an order completed by ``resolve`` (no assignee) used to move it to
    accepted with nobody able to start, complete, cancel, escalate or resolve it."""
    world = make_world(rt)
    with rt.db.write() as session:
        community = get_area(session, world.community)
        owner_user = assign_role(session, "sm-owner", Role.RESIDENT, world.community)
        session.add(Household(user_id=owner_user.id, community_id=community.id))
        secretary_user = assign_role(session, "sm-secretary", Role.SECRETARY, world.community)
        session.flush()
        owner, secretary = load_actor(session, owner_user), load_actor(session, secretary_user)
    new = NewOrder(
        community=world.community,
        category="grocery",
        kind=OrderKind.REPORT,
        title="路灯坏了",
        description="",
        building="3",
        photos=(make_photo(rt, owner),),
    )
    oid = submit_order(rt, owner, new).id
    act(rt, secretary, oid, Action.ESCALATE, ActionInput(department="城管中队", due_hours=24))
    resolved = act(rt, secretary, oid, Action.RESOLVE, ActionInput(note="已修好"))
    assert (resolved.status, resolved.assignee) == ("completed", None)
    with pytest.raises(InvalidTransitionError):
        act(rt, owner, oid, Action.DISPUTE, ActionInput(reason="还是不亮"))
    after = get_order(rt, owner, oid)
    assert after.status == "completed"
    assert [e.action for e in after.events or []] == ["submit", "escalate", "resolve"]
    # The resident can still rate it, which closes it.
    assert act(rt, owner, oid, Action.RATE, ActionInput(score=2)).status == "closed"
