"""回访: the secretary's list of residents to phone after a low rating or a dispute."""

from __future__ import annotations

from typing import Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import Area
from app.core.clock import now_utc
from app.core.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from app.core.paging import decode_cursor, encode_cursor
from app.identity.actor import Actor
from app.identity.roles import Role
from app.orders import earnings, texts
from app.orders.content import check_texts
from app.orders.models import Order, Rating, ReturnVisit
from app.orders.shapes import ReturnVisitOut, ReturnVisitPage
from app.runtime import Runtime
from app.timebank.settle import pending_hold, pending_holds

_WHO = (Role.SECRETARY, Role.GRID_WORKER, Role.STREET_ADMIN)
#: What a return visit decides about points a low rating held.
PointsDecision = Literal["pay", "withhold"]


def _out(visit: ReturnVisit, number: str, score: int | None, held: int | None = None) -> ReturnVisitOut:
    return ReturnVisitOut(
        id=visit.id,
        order_id=visit.order_id,
        order_number=number,
        reason=visit.reason,
        reason_label=texts.RETURN_VISIT_REASONS.get(visit.reason, visit.reason),
        score=score,
        comment=visit.comment,
        done=visit.done,
        note=visit.note,
        held_points=held,
        called_at=visit.called_at,
        created_at=visit.created_at,
    )


def list_return_visits(
    rt: Runtime, actor: Actor, *, community: str | None, done: bool, limit: int, cursor: str | None
) -> ReturnVisitPage:
    """Community staff: return visits still to make (or made), newest first."""
    communities = actor.communities_as(*_WHO)
    if not communities:
        raise ForbiddenError("只有社区工作人员可以查看回访清单")
    after = decode_cursor(cursor)
    with rt.db.read() as session:
        query = (
            sa.select(ReturnVisit, Order.number, Rating.score)
            .join(Order, Order.id == ReturnVisit.order_id)
            # The stars, for a low rating (a dispute comes before any rating).
            .outerjoin(Rating, Rating.order_id == ReturnVisit.order_id)
            .where(ReturnVisit.community_id.in_(communities), ReturnVisit.done.is_(done))
        )
        # A grid worker of some grids sees their grids' visits (and those of orders with no grid).
        covered = []
        for community_id in sorted(communities):
            grids = actor.grids_as(community_id, *_WHO)
            covered.append(
                ReturnVisit.community_id == community_id
                if grids is None
                else sa.and_(
                    ReturnVisit.community_id == community_id,
                    sa.or_(Order.grid_id.in_(sorted(grids)), Order.grid_id.is_(None)),
                )
            )
        query = query.where(sa.or_(*covered))
        if community is not None:
            area_id = session.scalar(sa.select(Area.id).where(Area.code == community))
            if area_id is None or area_id not in communities:
                raise NotFoundError(f"找不到社区 {community}")
            query = query.where(ReturnVisit.community_id == area_id)
        if after is not None:
            query = query.where(ReturnVisit.id < after)
        rows = session.execute(query.order_by(ReturnVisit.id.desc()).limit(limit + 1)).all()
        page = rows[:limit]
        held = pending_holds(session, sorted({visit.order_id for visit, _number, _score in page}))
        return ReturnVisitPage(
            items=[_out(visit, number, score, held.get(visit.order_id)) for visit, number, score in page],
            next_cursor=encode_cursor(page[-1][0].id) if len(rows) > limit else None,
        )


def _open_visit(session: Session, actor: Actor, visit_id: int) -> ReturnVisit:
    """The visit, if the actor covers its order's community and grid (else NotFoundError) and it
    is still to be recorded (else ConflictError)."""
    visit = session.get(ReturnVisit, visit_id)
    grid_id = session.scalar(sa.select(Order.grid_id).where(Order.id == visit.order_id)) if visit else None
    if visit is None or not actor.covers(visit.community_id, grid_id, *_WHO):
        raise NotFoundError("找不到该回访记录")
    if visit.done:
        raise ConflictError("该回访已经记录过了", details={"id": visit_id})
    return visit


def _check_decision(session: Session, visit: ReturnVisit, points: PointsDecision | None) -> None:
    """Held points need the call's decision; a decision needs held points."""
    held = pending_hold(session, visit.order_id)
    if held is not None and points is None:
        raise InvalidInputError(
            f"该工单有 {held.held_points or 0} 积分待回访确认，请选择发放或不发放",
            details={"fields": [{"field": "points", "problem": "missing"}], "held_points": held.held_points},
        )
    if held is None and points is not None:
        raise ConflictError("该工单没有待确认的积分", details={"fields": ["points"]})


def record_call(
    rt: Runtime, actor: Actor, visit_id: int, note: str, *, points: PointsDecision | None = None
) -> ReturnVisitOut:
    """Community staff: record what the resident said; each visit is recorded once. The note is
    read by the community's other staff, so it goes through content security first, outside
    the write transaction (ContentRejectedError: 422, nothing written).

    ``points``: when a low rating held the order's points, the call decides them, ``"pay"`` (a
    ``released`` entry pays them) or ``"withhold"`` (``forfeited``: they are never paid); the
    volunteer is told either way. Required exactly when points are held (else 400); given when
    none are, 409."""
    with rt.db.read() as session:
        # 404 / 409 / 400 before asking WeChat anything
        _check_decision(session, _open_visit(session, actor, visit_id), points)
    check_texts(rt, actor, {"note": note})
    with rt.db.write() as session:
        visit = _open_visit(session, actor, visit_id)
        _check_decision(session, visit, points)
        visit.done = True
        visit.note = note
        visit.called_by_id = actor.user_id
        visit.called_at = now_utc()
        session.flush()
        order = session.get(Order, visit.order_id)
        if points is not None and order is not None:
            earnings.decide_held(session, rt.settings, order, pay=points == "pay")
        number = order.number if order is not None else ""
        score = session.scalar(sa.select(Rating.score).where(Rating.order_id == visit.order_id))
        return _out(visit, number, score)
