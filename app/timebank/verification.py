"""Verifying a redemption code at the merchant's till (核销): exactly once, by the staff of the
reward's merchant; the volunteer is told."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.core.clock import now_utc
from app.core.config import NotifySection
from app.core.errors import ForbiddenError, NotFoundError
from app.identity.actor import Actor
from app.identity.models import User
from app.identity.roles import Role
from app.notify.chains import Addressee
from app.notify.outbox import notify_user
from app.runtime import Runtime
from app.timebank import texts
from app.timebank.codes import looks_like_code, normalise
from app.timebank.models import Merchant, MerchantStaff, Redemption, RedemptionStatus
from app.timebank.redemptions import NOT_OPEN, RedemptionExpiredError, present, presented
from app.timebank.shapes import RedemptionOut

_ONLY_MERCHANTS = "只有商户工作人员可以核销兑换码"


def verify_redemption(rt: Runtime, actor: Actor, typed_code: str) -> RedemptionOut:
    """Staff of the reward's merchant (holding the ``merchant`` role in its community): the code
    is used, now. Raises ForbiddenError (not merchant staff anywhere), NotFoundError (no such
    code, or one of another merchant: nobody learns that it exists), AlreadyRedeemedError,
    RedemptionExpiredError, RedemptionCancelledError."""
    if not actor.has_role(Role.MERCHANT):
        raise ForbiddenError(_ONLY_MERCHANTS)
    code = normalise(typed_code)
    if not looks_like_code(code):
        raise NotFoundError("兑换码不存在")
    now = now_utc()
    with rt.db.write() as session:
        row = session.execute(
            presented()
            .join(
                MerchantStaff,
                sa.and_(MerchantStaff.merchant_id == Merchant.id, MerchantStaff.user_id == actor.user_id),
            )
            .where(Redemption.code == code)
        ).first()
        if row is None or row[2].community_id not in actor.communities_as(Role.MERCHANT):
            raise NotFoundError("兑换码不存在")
        redemption: Redemption = row[0]
        if redemption.status is not RedemptionStatus.ISSUED:
            raise NOT_OPEN[redemption.status]()
        if redemption.expires_at <= now:
            raise RedemptionExpiredError()  # the job has not come by yet; it will refund it
        # Conditional: of two tills scanning one code at once, exactly one matches.
        used = session.execute(
            sa.update(Redemption)
            .where(
                Redemption.id == redemption.id,
                Redemption.status == RedemptionStatus.ISSUED,
                Redemption.expires_at > now,
            )
            .values(status=RedemptionStatus.REDEEMED, redeemed_at=now, redeemed_by_id=actor.user_id)
            .execution_options(synchronize_session=False)
        )
        session.refresh(redemption)
        if used.rowcount != 1:  # type: ignore[attr-defined]
            raise NOT_OPEN.get(redemption.status, RedemptionExpiredError)()
        _tell_volunteer(session, rt.settings.notify, redemption, reward=row[1], merchant=row[2].name)
        return present([row])[0]


def _tell_volunteer(
    session: Session, cfg: NotifySection, redemption: Redemption, *, reward: str, merchant: str
) -> None:
    user = session.get(User, redemption.user_id)
    if user is None:
        return
    assert redemption.redeemed_at is not None  # noqa: S101 - just set
    notify_user(
        session,
        cfg,
        user=user,
        template_key=texts.VERIFIED_KEY,
        rendered=texts.verified(redemption.code, reward, merchant, redemption.redeemed_at),
        dedupe_key=f"redemption:{redemption.id}:verified",
        addressee=Addressee.MEMBER,
    )
