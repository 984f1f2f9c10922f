"""Care plans (关爱探访计划): a volunteer visits a household on a schedule. Staff make, list,
pause, resume, hand over and end them; the job (``app.care.visits``) makes each visit's order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from app.areas.models import Area, ServiceCategory
from app.care.access import CARE_STAFF, area_scope, covered_household, grid_condition, require_care_staff
from app.care.models import CarePlan, CareVisit
from app.care.schedule import Rule, rule_problems
from app.care.shapes import (
    CarePerson,
    CarePlanEnvelope,
    CarePlanOut,
    CarePlanPage,
    CareVisitOut,
    CareVisitPage,
)
from app.care.vocabulary import EVERY_LABELS, PLAN_STATUS_LABELS, VISIT_STATE_LABELS, Every, PlanStatus, VisitState
from app.core.clock import shanghai_today
from app.core.errors import ConflictError, InvalidInputError, NotFoundError
from app.core.paging import decode_cursor, encode_cursor
from app.identity.actor import Actor
from app.identity.models import Household, RoleMembership, User
from app.identity.roles import Role
from app.identity.shapes import area_ref
from app.orders.content import check_texts
from app.orders.models import Order
from app.runtime import Runtime


@dataclass(frozen=True, slots=True)
class NewPlan:
    """The body of POST /care/plans, validated for shape by the API schema."""

    household: int
    volunteer: int
    category: str
    every: Every
    at: time
    starts_on: date
    weekday: int | None = None
    day: int | None = None
    ends_on: date | None = None
    note: str = ""

    @property
    def rule(self) -> Rule:
        return Rule(self.every, self.weekday, self.day, self.at, self.starts_on, self.ends_on)


def _fields_error(problems: list[tuple[str, str]]) -> InvalidInputError:
    return InvalidInputError(
        problems[0][1], details={"fields": [{"field": field, "problem": problem} for field, problem in problems]}
    )


def _is_volunteer(session: Session, user_id: int, community_id: int) -> bool:
    return (
        session.scalar(
            sa.select(RoleMembership.id).where(
                RoleMembership.user_id == user_id,
                RoleMembership.role == Role.VOLUNTEER,
                RoleMembership.area_id == community_id,
            )
        )
        is not None
    )


def _plan_out(session: Session, plan: CarePlan) -> CarePlanOut:
    household_user = session.get(User, plan.resident_id)
    volunteer = session.get(User, plan.volunteer_id)
    category = session.get(ServiceCategory, plan.category_id)
    community = session.get(Area, plan.community_id)
    assert household_user is not None  # noqa: S101 - foreign keys, all of them
    assert volunteer is not None  # noqa: S101
    assert category is not None  # noqa: S101
    assert community is not None  # noqa: S101
    return CarePlanOut(
        id=plan.id,
        household=CarePerson(id=household_user.id, name=household_user.nickname),
        community=area_ref(community),
        volunteer=CarePerson(id=volunteer.id, name=volunteer.nickname),
        category=category.code,
        category_name=category.name,
        every=plan.every,
        every_label=EVERY_LABELS[plan.every],
        weekday=plan.weekday,
        day=plan.day,
        time=plan.at.strftime("%H:%M"),
        starts_on=plan.starts_on,
        ends_on=plan.ends_on,
        note=plan.note,
        status=plan.status,
        status_label=PLAN_STATUS_LABELS[plan.status],
        created_at=plan.created_at,
    )


def create_plan(rt: Runtime, actor: Actor, new: NewPlan) -> CarePlanEnvelope:
    """A secretary, or the grid worker of the household's grid: plan recurring visits.

    InvalidInputError (400) for a schedule that cannot be used, a volunteer who is not one of the
    household's community, or a category it does not offer; NotFoundError for a household the
    actor does not cover; ContentRejectedError for a risky note (the volunteer reads it).
    Nothing is written on any of them."""
    require_care_staff(actor)
    problems = rule_problems(new.rule, shanghai_today())
    if problems:
        raise _fields_error(problems)
    with rt.db.read() as session:
        covered_household(session, actor, new.household)  # a 404 before WeChat is asked
    check_texts(rt, actor, {"note": new.note})
    with rt.db.write() as session:
        household = covered_household(session, actor, new.household)
        if not _is_volunteer(session, new.volunteer, household.community_id):
            raise _fields_error([("volunteer", "该志愿者不存在或不属于本社区")])
        category = session.scalar(
            sa.select(ServiceCategory).where(
                ServiceCategory.community_id == household.community_id,
                ServiceCategory.code == new.category,
                ServiceCategory.active.is_(True),
            )
        )
        if category is None:
            raise _fields_error([("category", "该社区没有这个服务类别")])
        plan = CarePlan(
            community_id=household.community_id,
            household_id=household.id,
            resident_id=household.user_id,
            volunteer_id=new.volunteer,
            category_id=category.id,
            every=new.every,
            weekday=new.weekday,
            day=new.day,
            at=new.at,
            starts_on=new.starts_on,
            ends_on=new.ends_on,
            note=new.note,
            status=PlanStatus.ACTIVE,
            created_by_id=actor.user_id,
        )
        session.add(plan)
        session.flush()
        return CarePlanEnvelope(plan=_plan_out(session, plan))


def _covered_plan(session: Session, actor: Actor, plan_id: int) -> CarePlan:
    """The plan if the actor covers its household now; NotFoundError otherwise."""
    plan = session.get(CarePlan, plan_id)
    household = session.get(Household, plan.household_id) if plan is not None else None
    if plan is None or household is None or not actor.covers(plan.community_id, household.grid_id, *CARE_STAFF):
        raise NotFoundError("找不到该关爱计划")
    return plan


def list_plans(
    rt: Runtime, actor: Actor, *, area: str, status: PlanStatus | None, limit: int, cursor: str | None
) -> CarePlanPage:
    """Staff: the plans of the households they cover in a community or grid, newest first."""
    require_care_staff(actor)
    before = decode_cursor(cursor)
    with rt.db.read() as session:
        community_id, grids = area_scope(session, actor, area)
        query = (
            sa.select(CarePlan)
            .join(Household, Household.id == CarePlan.household_id)
            .where(CarePlan.community_id == community_id, grid_condition(grids))
            .order_by(CarePlan.id.desc())
            .limit(limit + 1)
        )
        if status is not None:
            query = query.where(CarePlan.status == status)
        if before is not None:
            query = query.where(CarePlan.id < before)
        plans = list(session.scalars(query))
        page = plans[:limit]
        return CarePlanPage(
            items=[_plan_out(session, plan) for plan in page],
            next_cursor=encode_cursor(page[-1].id) if len(plans) > limit else None,
        )


def update_plan(
    rt: Runtime, actor: Actor, plan_id: int, *, status: PlanStatus | None, volunteer: int | None
) -> CarePlanEnvelope:
    """Staff: pause or resume a plan (``status`` active / paused) and hand it to another volunteer
    of the community. A paused plan makes no visits; visits made already keep their orders.
    ConflictError for an ended plan, InvalidInputError for ``ended`` (use the end action) or a
    volunteer of another community."""
    require_care_staff(actor)
    if status is None and volunteer is None:
        raise _fields_error([("status", "请至少填写一项：status 或 volunteer")])
    if status is PlanStatus.ENDED:
        raise _fields_error([("status", "结束计划请使用「结束」操作")])
    with rt.db.write() as session:
        plan = _covered_plan(session, actor, plan_id)
        if plan.status is PlanStatus.ENDED:
            raise ConflictError("该关爱计划已结束，不能再修改")
        if volunteer is not None:
            if not _is_volunteer(session, volunteer, plan.community_id):
                raise _fields_error([("volunteer", "该志愿者不存在或不属于本社区")])
            plan.volunteer_id = volunteer
        if status is not None:
            plan.status = status
        session.flush()
        return CarePlanEnvelope(plan=_plan_out(session, plan))


def end_plan(rt: Runtime, actor: Actor, plan_id: int) -> CarePlanEnvelope:
    """Staff: end a plan for good (it makes no more visits; those made keep their orders). Ending
    an ended plan answers it as it is."""
    require_care_staff(actor)
    with rt.db.write() as session:
        plan = _covered_plan(session, actor, plan_id)
        if plan.status is not PlanStatus.ENDED:
            today = shanghai_today()
            plan.status = PlanStatus.ENDED
            plan.ends_on = today if plan.ends_on is None or plan.ends_on > today else plan.ends_on
            session.flush()
        return CarePlanEnvelope(plan=_plan_out(session, plan))


def visit_state(visit: CareVisit, completed: bool) -> VisitState:
    """Where an occurrence stands: late and missed as recorded, else done once its order is."""
    if visit.late_at is not None:
        return VisitState.LATE
    if visit.missed_alerted_at is not None:
        return VisitState.MISSED
    if visit.done_at is not None or completed:
        return VisitState.DONE
    return VisitState.SCHEDULED


def list_visits(rt: Runtime, actor: Actor, plan_id: int, *, limit: int, cursor: str | None) -> CareVisitPage:
    """Staff: a plan's visits, latest first, with each one's order and state."""
    require_care_staff(actor)
    before = decode_cursor(cursor)
    order = aliased(Order)
    with rt.db.read() as session:
        plan = _covered_plan(session, actor, plan_id)
        query = (
            sa.select(CareVisit, order.number, order.completed_at)
            .outerjoin(order, order.id == CareVisit.order_id)
            .where(CareVisit.plan_id == plan.id)
            .order_by(CareVisit.id.desc())
            .limit(limit + 1)
        )
        if before is not None:
            query = query.where(CareVisit.id < before)
        rows = session.execute(query).all()
        page = rows[:limit]
        items = []
        for visit, number, completed_at in page:
            state = visit_state(visit, completed_at is not None)
            items.append(
                CareVisitOut(
                    id=visit.id,
                    on_date=visit.on_date,
                    due_start=visit.due_start,
                    due_end=visit.due_end,
                    order_id=visit.order_id,
                    order_number=number,
                    state=state,
                    state_label=VISIT_STATE_LABELS[state],
                    missed_alerted_at=visit.missed_alerted_at,
                    late_at=visit.late_at,
                )
            )
        return CareVisitPage(items=items, next_cursor=encode_cursor(page[-1][0].id) if len(rows) > limit else None)
