"""What each action writes besides the transition itself: the fields it sets, the rating, the
return visit, the points, the photos. Each handler takes the step under way and only the values
it uses; ``app.orders.actions`` decides who may act and hands them over. Flush only."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any, NoReturn

import sqlalchemy as sa

from app.areas.models import ServiceCategory
from app.core.clock import now_utc
from app.core.config import Settings
from app.core.errors import AlreadyClaimedError, InvalidInputError, InvalidTransitionError, RateLimitedError
from app.identity.models import RoleMembership
from app.identity.roles import Role
from app.orders import earnings, texts
from app.orders.models import Rating, ReturnVisit
from app.orders.steps import Step
from app.orders.workflow import LEVEL_LABELS, Action, OrderStatus, TriageLevel, transition_for
from app.property.companies import serves
from app.timebank.rules import LOW_RATING
from app.uploads.store import attach_uploads
from app.volunteers.models import Team
from app.volunteers.stats import record_accept, record_rating

#: Statuses in which a lost claim means "someone was faster", not "never in the pool".
TAKEN = frozenset({OrderStatus.ACCEPTED, OrderStatus.IN_SERVICE, OrderStatus.COMPLETED})


def clear_assignment() -> dict[str, Any]:
    """The values that make an order nobody's again."""
    return {"assignee_id": None, "team_id": None, "property_company_id": None, "accepted_at": None, "due_at": None}


def raise_not_claimable(status: OrderStatus, *, yours: bool = False) -> NoReturn:
    """Someone else holds it (409 already_claimed), or it was never in the pool (invalid_transition).
    ``yours``: the caller is the one holding it; the code stays ``already_claimed`` (the order is
    taken either way) but the words and ``details.yours`` say it is theirs, not that they lost."""
    if status in TAKEN:
        if yours:
            raise AlreadyClaimedError("该工单已由您接下，无需重复接单", details={"yours": True})
        raise AlreadyClaimedError()
    transition_for(status, Action.CLAIM)  # raises InvalidTransitionError for every other status
    raise AlreadyClaimedError()  # pooled again by now: the caller may simply try once more


def _taken_on(step: Step) -> dict[str, Any]:
    """When the work was taken on, and by when it should be done (the category's SLA now)."""
    sla_hours = step.session.scalar(
        sa.select(ServiceCategory.sla_hours).where(ServiceCategory.id == step.order.category_id)
    )
    now = now_utc()
    return {"accepted_at": now, "due_at": now + timedelta(hours=sla_hours or 0)}


def triage(step: Step, level: TriageLevel | None) -> None:
    if level is None:
        raise InvalidInputError("请选择分流级别", details={"fields": ["level"]})
    step.move(Action.TRIAGE, note=texts.triage_note(LEVEL_LABELS[level]), values={"level": level})


def dispatch_target(
    step: Step, *, volunteer_id: int | None, team_id: int | None, property_company_id: int | None, pool: bool
) -> dict[str, Any]:
    """The assignment columns for a dispatch to exactly one target of the order's community."""
    session, order = step.session, step.order
    if sum([volunteer_id is not None, team_id is not None, property_company_id is not None, pool]) != 1:
        raise InvalidInputError(
            "请在志愿者、服务队、物业企业、任务池中选择一项",
            details={"fields": ["volunteer_id", "team_id", "property_company_id", "pool"]},
        )
    if volunteer_id is not None:
        is_volunteer = session.scalar(
            sa.select(RoleMembership.id).where(
                RoleMembership.user_id == volunteer_id,
                RoleMembership.role == Role.VOLUNTEER,
                RoleMembership.area_id == order.community_id,
            )
        )
        if is_volunteer is None:
            raise InvalidInputError(
                "该志愿者不存在或不属于本社区", details={"fields": [{"field": "volunteer_id", "problem": "unknown"}]}
            )
        return {"assignee_id": volunteer_id}
    if team_id is not None:
        team = session.get(Team, team_id)
        if team is None or team.community_id != order.community_id:
            raise InvalidInputError("服务队不存在或不属于本社区", details={"fields": [{"field": "team_id"}]})
        return {"team_id": team.id}
    if property_company_id is not None:
        if not serves(session, property_company_id, order.community_id):
            raise InvalidInputError(
                "物业企业不存在或不服务本社区", details={"fields": [{"field": "property_company_id"}]}
            )
        return {"property_company_id": property_company_id}
    return {}


def dispatch(step: Step, action: Action, assignment: dict[str, Any], note: str) -> None:
    """DISPATCH to someone, or PUBLISH to the pool (``assignment`` empty)."""
    step.move(action, note=note, values={**assignment, "dispatched_at": now_utc()})


def claim(step: Step) -> None:
    """A volunteer takes a pooled order. The step's conditional UPDATE decides a race: exactly one
    claimer moves it; every other one finds it changed and learns it was taken."""
    assert step.actor_id is not None  # noqa: S101 - only a person claims
    step.move(
        Action.CLAIM,
        values={"assignee_id": step.actor_id, **_taken_on(step)},
        # The order is refreshed by now: a double tap's second claim finds it is the caller's.
        on_conflict=lambda status: raise_not_claimable(status, yours=step.order.assignee_id == step.actor_id),
        by_status_only=True,
    )


def accept(step: Step) -> None:
    """The one it was dispatched to accepts; for a team or a property company, whoever accepts
    first becomes the one holding it (the conditional UPDATE decides: a second member at the same
    moment hears 409 ``already_claimed``). A volunteer's response time is counted here."""
    assert step.actor_id is not None  # noqa: S101 - only a person accepts
    dispatched_at = step.order.dispatched_at
    taken = _taken_on(step)
    step.move(
        Action.ACCEPT,
        values={"assignee_id": step.actor_id, **taken},
        on_conflict=lambda status: raise_not_claimable(status, yours=step.order.assignee_id == step.actor_id),
    )
    if dispatched_at is not None and step.order.property_company_id is None:
        minutes = max(0, int((taken["accepted_at"] - dispatched_at).total_seconds() // 60))
        record_accept(step.session, step.actor_id, minutes)


def decline(step: Step, reason: str) -> None:
    if not reason:
        raise InvalidInputError("请说明拒单原因", details={"fields": ["reason"]})
    step.move(Action.DECLINE, note=reason, values=clear_assignment())


def start(step: Step) -> None:
    step.move(Action.START)


def complete(step: Step, note: str, photos: tuple[int, ...]) -> None:
    """The assignee is done; their photos (proof of work) are attached to the order."""
    step.move(Action.COMPLETE, note=note, values={"completion_note": note, "completed_at": now_utc()})
    if photos:
        assert step.actor_id is not None  # noqa: S101 - only a person completes
        attach_uploads(step.session, step.actor_id, list(photos), step.order.id, "completion")


def rate(
    step: Step, cfg: Settings, score: int | None, comment: str, *, speed: int | None, attitude: int | None
) -> None:
    """The resident rates: the order closes, the rating is kept, a low one goes on the return-visit
    list, and the volunteer who did the work earns points (app/orders/earnings.py: paid, or held
    for the return visit when the score is low). After a reopening the order is rated afresh: the
    rating row is the latest one, and the new settlement earns again."""
    if score is None:
        raise InvalidInputError("请给出 1–5 星评分", details={"fields": ["score"]})
    session, order = step.session, step.order
    assignee_id = order.assignee_id
    step.move(
        Action.RATE, note=texts.rating_note(score, comment), values={"closed_at": now_utc(), "rating_score": score}
    )
    rating = session.scalar(sa.select(Rating).where(Rating.order_id == order.id))
    if rating is None:
        session.add(
            Rating(
                order_id=order.id, score=score, speed=speed, attitude=attitude, comment=comment, assignee_id=assignee_id
            )
        )
    else:
        # Rated again after a dispute reopened it; the first rating stays in the order's trail.
        rating.score, rating.speed, rating.attitude, rating.comment = score, speed, attitude, comment
        rating.assignee_id = assignee_id
    if score <= LOW_RATING:  # rules.LOW_RATING: the same line holds the points for this visit
        # The resident's words go with it: they are what the secretary calls about.
        session.add(
            ReturnVisit(order_id=order.id, community_id=order.community_id, reason="low_rating", comment=comment)
        )
    if assignee_id is not None:
        record_rating(session, assignee_id, score)
    earnings.earn_on_rating(session, cfg, order, score)
    session.flush()


def dispute(step: Step, cfg: Settings, reason: str) -> None:
    """The resident says it is not done: a completed order goes back to its assignee; so does a
    closed one within ``timebank.dispute_window_days`` of closing, and the points its rating
    earned are reversed by a new ledger entry."""
    if not reason:
        raise InvalidInputError("请说明哪里没有完成", details={"fields": ["reason"]})
    order = step.order
    if order.assignee_id is None:
        # Resolved by a street department (吹哨报到): there is nobody to send it back to. The
        # resident can still rate it low, which puts it on the secretary's return-visit list.
        raise InvalidTransitionError(
            "该工单由上级部门办结，不能申诉；如不满意请给出评价，社区会回访", details={"action": "dispute"}
        )
    reopening = order.status is OrderStatus.CLOSED
    if reopening:
        window = timedelta(days=cfg.timebank.dispute_window_days)
        if order.closed_at is None or now_utc() - order.closed_at > window:
            raise InvalidTransitionError(
                f"工单办结已超过 {cfg.timebank.dispute_window_days:g} 天，不能再申诉",
                details={"action": "dispute", "status": order.status.value},
            )
        settlement = earnings.settlement_of(step.session, order.id)
    step.move(Action.DISPUTE, note=reason, values={"completed_at": None, "closed_at": None})
    # The secretary sees disputes on the same list as low ratings and calls the resident.
    step.session.add(ReturnVisit(order_id=order.id, community_id=order.community_id, reason="dispute", comment=reason))
    if reopening:
        earnings.reverse_on_reopening(step.session, cfg, order, settlement)
    step.session.flush()


def _refuse_early_urge(last: datetime | None, interval: timedelta, now: datetime) -> None:
    if last is not None and now - last < interval:
        wait = math.ceil((last + interval - now).total_seconds())
        raise RateLimitedError(f"已经催过了，请 {math.ceil(wait / 60)} 分钟后再催", retry_after=wait)


def urge(step: Step, interval_hours: float) -> None:
    """At most one urge per ``interval_hours``: a rate limit, so a refusal is 429 with the wait.

    Two urges at once both read the order before either writes (PostgreSQL's READ COMMITTED; on
    SQLite BEGIN IMMEDIATE queues them). The second's conditional UPDATE then finds the version
    moved, and the step reloads the order: if what moved it was an urge, that is this limit (429),
    not a conflict to reload and retry (409)."""
    interval = timedelta(hours=interval_hours)
    now = now_utc()
    _refuse_early_urge(step.order.last_urged_at, interval, now)

    def urged_meanwhile(status: OrderStatus) -> NoReturn:
        _refuse_early_urge(step.order.last_urged_at, interval, now)  # the order as reloaded
        raise InvalidTransitionError("工单刚被其他人处理过，请刷新后再试", details={"action": Action.URGE.value})

    step.move(Action.URGE, values={"last_urged_at": now}, on_conflict=urged_meanwhile)


def cancel(step: Step, reason: str) -> None:
    step.move(Action.CANCEL, note=reason, values=clear_assignment())


def reject(step: Step, reason: str) -> None:
    if not reason:
        raise InvalidInputError("请说明驳回原因", details={"fields": ["reason"]})
    step.move(Action.REJECT, note=reason)


def escalate(step: Step, department: str, note: str, due_hours: int | None) -> None:
    if not department or not due_hours:
        raise InvalidInputError("请填写上报部门和办理时限", details={"fields": ["department", "due_hours"]})
    step.move(
        Action.ESCALATE,
        note=texts.escalation_note(department, note),
        values={
            **clear_assignment(),
            "escalated_department": department,
            "escalation_due_at": now_utc() + timedelta(hours=due_hours),
        },
    )


def resolve(step: Step, note: str) -> None:
    if not note:
        raise InvalidInputError("请填写办结说明", details={"fields": ["note"]})
    step.move(Action.RESOLVE, note=note, values={"completion_note": note, "completed_at": now_utc()})


def reassign(
    step: Step,
    reason: str,
    *,
    volunteer_id: int | None,
    team_id: int | None,
    property_company_id: int | None,
    pool: bool,
    queue: bool,
) -> None:
    """转单: whoever held the order (assigned, accepted or under way) no longer does; it goes to
    another volunteer, team or property company, to the pool, or back to the queue. Acceptance
    and due time start afresh with the new holder."""
    if not reason:
        raise InvalidInputError("请说明改派原因", details={"fields": ["reason"]})
    chosen = [volunteer_id is not None, team_id is not None, property_company_id is not None, pool, queue]
    if sum(chosen) != 1:
        raise InvalidInputError(
            "请在志愿者、服务队、物业企业、任务池、退回待派单中选择一项",
            details={"fields": ["volunteer_id", "team_id", "property_company_id", "pool", "queue"]},
        )
    released = clear_assignment()
    if queue:
        step.move(Action.REASSIGN, to=OrderStatus.SUBMITTED, note=reason, values=released)
        return
    if pool:
        step.move(Action.REASSIGN, to=OrderStatus.POOLED, note=reason, values={**released, "dispatched_at": now_utc()})
        return
    assignment = dispatch_target(
        step, volunteer_id=volunteer_id, team_id=team_id, property_company_id=property_company_id, pool=False
    )
    order = step.order
    current = {
        "volunteer_id": (volunteer_id, order.assignee_id),
        "team_id": (team_id, order.team_id),
        "property_company_id": (property_company_id, order.property_company_id),
    }
    unchanged = [
        field for field, (chosen_id, held_by) in current.items() if chosen_id is not None and chosen_id == held_by
    ]
    if unchanged:
        raise InvalidInputError("工单已经由该对象负责，请选择其他人", details={"fields": unchanged})
    step.move(
        Action.REASSIGN,
        to=OrderStatus.ASSIGNED,
        note=reason,
        values={**released, **assignment, "dispatched_at": now_utc()},
    )


def release(step: Step, reason: str) -> None:
    """退单: the holder gives the work back; it waits in the queue for the secretary again."""
    if not reason:
        raise InvalidInputError("请说明退单原因", details={"fields": ["reason"]})
    step.move(Action.RELEASE, note=reason, values=clear_assignment())


def system_move(step: Step, action: Action, note: str) -> None:
    """A scheduled job's move: EXPIRE clears the assignment, CLOSE_UNRATED stamps the close."""
    values = clear_assignment() if action is Action.EXPIRE else {"closed_at": now_utc()}
    step.move(action, note=note, values=values)
