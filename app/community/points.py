"""积分调整: a secretary corrects a volunteer's points by hand, with a reason; the volunteer is told
and the act is on the audit trail. A new ledger entry, never an edit of an old one."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.audit.models import AuditKind
from app.audit.record import record
from app.core.errors import ForbiddenError, InsufficientPointsError, InvalidInputError, NotFoundError
from app.identity.actor import Actor
from app.identity.models import RoleMembership
from app.identity.roles import Role
from app.orders.content import check_texts
from app.runtime import Runtime
from app.timebank.ledger import PointsKind, balance_of, credit, lock_account
from app.timebank.notices import tell_volunteer
from app.timebank.shapes import PointsEntryOut
from app.timebank.statement import entry_out


def _their_community(session: Session, actor: Actor, volunteer_id: int) -> int:
    """The community (of the actor's, as secretary) the volunteer serves; NotFoundError for a
    volunteer of none of them, as for nobody at all."""
    community_id = session.scalar(
        sa.select(RoleMembership.area_id)
        .where(
            RoleMembership.user_id == volunteer_id,
            RoleMembership.role == Role.VOLUNTEER,
            RoleMembership.area_id.in_(sorted(actor.communities_as(Role.SECRETARY))),
        )
        .order_by(RoleMembership.area_id)
        .limit(1)
    )
    if community_id is None:
        raise NotFoundError("找不到该志愿者")
    return community_id


def adjust_points(rt: Runtime, actor: Actor, volunteer_id: int, delta: int, reason: str) -> PointsEntryOut:
    """A secretary of the volunteer's community: add ``delta`` (± , not 0) points with ``reason``.

    Raises ForbiddenError (not a secretary), NotFoundError (not a volunteer of their community),
    InvalidInputError (no reason, a delta of 0), ContentRejectedError (a risky reason: the
    volunteer reads it), InsufficientPointsError (a deduction below a zero balance)."""
    if not actor.communities_as(Role.SECRETARY):
        raise ForbiddenError("只有社区书记可以调整积分")
    reason = reason.strip()
    if not reason or delta == 0:
        raise InvalidInputError("请填写调整的积分（不能为 0）和原因", details={"fields": ["delta", "reason"]})
    with rt.db.read() as session:
        _their_community(session, actor, volunteer_id)  # 404 before asking WeChat anything
    check_texts(rt, actor, {"reason": reason})
    with rt.db.write() as session:
        community_id = _their_community(session, actor, volunteer_id)
        if delta < 0:
            lock_account(session, volunteer_id)
            balance = balance_of(session, volunteer_id)
            if balance + delta < 0:
                raise InsufficientPointsError(
                    f"积分不足：当前 {balance} 分，不能扣减 {-delta} 分",
                    details={"balance": balance, "delta": delta},
                )
        entry = credit(session, volunteer_id, delta, reason, kind=PointsKind.ADJUSTED)
        record(
            session,
            AuditKind.POINTS_ADJUSTED,
            area_id=community_id,
            actor_id=actor.user_id,
            subject_id=volunteer_id,
            detail=f"{delta:+d}",
        )
        tell_volunteer(session, rt.settings.notify, entry, about=reason)
        return entry_out(entry)
