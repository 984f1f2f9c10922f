"""Redeeming points for a reward (积分兑换): the code is issued in one transaction that locks the
volunteer's account, checks the balance, takes one from the stock and writes the spending entry;
the volunteer's own list; cancelling an unused code. Verification at the merchant is in
``verification.py``, expiry in ``expiry.py``; both settle through :func:`settle` here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.clock import now_utc
from app.core.errors import ConflictError, ForbiddenError, InsufficientPointsError, NotFoundError
from app.core.idempotency import Keyed, answer_once, replayed, request_hash
from app.core.paging import decode_cursor, encode_cursor
from app.identity.actor import Actor
from app.identity.roles import Role
from app.runtime import Runtime
from app.timebank.codes import new_code
from app.timebank.ledger import PointsKind, balance_of, credit, lock_account
from app.timebank.models import Merchant, Redemption, RedemptionStatus, Reward
from app.timebank.shapes import MerchantRef, RedemptionOut, RedemptionPage, RedemptionReward

#: The ledger's reasons for the entries written here.
SPENT: Final = "redeemed"
REFUNDED: Final = "redemption_refunded"
#: Fresh codes tried before giving up (a collision is a one-in-10^11 event; two in a row, none).
_CODE_TRIES: Final = 5
_ONLY_VOLUNTEERS = "只有志愿者可以兑换积分"


class OutOfStockError(ConflictError):
    code = "out_of_stock"
    default_message = "该兑换项目已兑完"


class RewardWithdrawnError(ConflictError):
    code = "reward_withdrawn"
    default_message = "该兑换项目已下架"


class AlreadyRedeemedError(ConflictError):
    code = "already_redeemed"
    default_message = "该兑换码已使用"


class RedemptionExpiredError(ConflictError):
    code = "redemption_expired"
    default_message = "该兑换码已过期"


class RedemptionCancelledError(ConflictError):
    code = "redemption_cancelled"
    default_message = "该兑换码已取消"


#: Why a code that is no longer ``issued`` cannot be used or cancelled.
NOT_OPEN: Final[dict[RedemptionStatus, type[ConflictError]]] = {
    RedemptionStatus.REDEEMED: AlreadyRedeemedError,
    RedemptionStatus.EXPIRED: RedemptionExpiredError,
    RedemptionStatus.CANCELLED: RedemptionCancelledError,
}


def redeem_reward(rt: Runtime, actor: Actor, reward_id: int, *, idempotency_key: str | None = None) -> RedemptionOut:
    """A volunteer of the reward's community: spend its price for a one-time code.

    With an Idempotency-Key, a replay within ``orders.idempotency_hours`` answers the first code
    and spends nothing. Raises ForbiddenError (not a volunteer), NotFoundError (unknown reward, or
    of another community), RewardWithdrawnError, InsufficientPointsError, OutOfStockError,
    IdempotencyKeyReusedError.
    """
    if not actor.has_role(Role.VOLUNTEER):
        raise ForbiddenError(_ONLY_VOLUNTEERS)
    keyed = None
    if idempotency_key:
        # The endpoint is part of what is hashed: one key sent to POST /orders and here is reused.
        asked = request_hash({"redeem": reward_id})
        keyed = Keyed(actor.user_id, idempotency_key, asked, rt.settings.orders.idempotency_hours)
        replay = replayed(rt.db, keyed, RedemptionOut)
        if replay is not None:
            return replay
    hours = rt.settings.timebank.redemptions.valid_hours
    return answer_once(rt.db, keyed, RedemptionOut, lambda session: _issue(session, actor, reward_id, hours))


def _issue(session: Session, actor: Actor, reward_id: int, valid_hours: float) -> RedemptionOut:
    found = session.execute(
        sa.select(Reward, Merchant).join(Merchant, Merchant.id == Reward.merchant_id).where(Reward.id == reward_id)
    ).first()
    if found is None or found[0].community_id not in actor.communities_as(Role.VOLUNTEER):
        raise NotFoundError("找不到该兑换项目")
    reward, merchant = found
    if not reward.active:
        raise RewardWithdrawnError()
    # Every spender of this volunteer's points waits here for the one before to commit, so the
    # balance read next stays true until this transaction ends.
    lock_account(session, actor.user_id)
    balance = balance_of(session, actor.user_id)
    if balance < reward.points:
        raise InsufficientPointsError(
            f"积分不足：当前余额 {balance} 分，兑换「{reward.name}」需要 {reward.points} 分",
            details={"balance": balance, "points": reward.points},
        )
    if reward.stock is not None:
        # Conditional: of two volunteers taking the last one, the second's UPDATE matches nothing.
        taken = session.execute(
            sa.update(Reward)
            .where(Reward.id == reward.id, Reward.stock > 0)
            .values(stock=Reward.stock - 1)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            raise OutOfStockError(f"「{reward.name}」已兑完", details={"reward_id": reward.id})
    spend = credit(session, actor.user_id, -reward.points, SPENT, kind=PointsKind.REDEEMED)
    now = now_utc()
    redemption = _with_fresh_code(
        session,
        user_id=actor.user_id,
        reward_id=reward.id,
        points=reward.points,
        status=RedemptionStatus.ISSUED,
        expires_at=now + timedelta(hours=valid_hours),
        spend_entry_id=spend.id,
        created_at=now,
    )
    return redemption_out(redemption, reward.name, merchant)


def _with_fresh_code(session: Session, **values: Any) -> Redemption:
    """The redemption inserted under a code nobody holds (a savepoint per try)."""
    for _ in range(_CODE_TRIES):
        redemption = Redemption(code=new_code(), **values)
        try:
            with session.begin_nested():
                session.add(redemption)
            return redemption
        except IntegrityError:
            continue
    raise RuntimeError("no free redemption code after several tries")  # never, with 49 bits


def list_my_redemptions(rt: Runtime, actor: Actor, *, limit: int, cursor: str | None) -> RedemptionPage:
    """Any user: their own redemptions, newest first (an empty list for anyone who never redeemed)."""
    before = decode_cursor(cursor)
    with rt.db.read() as session:
        statement = presented().where(Redemption.user_id == actor.user_id).order_by(Redemption.id.desc())
        if before is not None:
            statement = statement.where(Redemption.id < before)
        rows = session.execute(statement.limit(limit + 1)).all()
    page = rows[:limit]
    return RedemptionPage(
        items=present(page),
        next_cursor=encode_cursor(page[-1][0].id) if len(rows) > limit else None,
    )


def cancel_redemption(rt: Runtime, actor: Actor, redemption_id: int) -> RedemptionOut:
    """The volunteer who holds an unused code: give it up; its points and its stock come back.
    Raises NotFoundError (unknown, or someone else's), AlreadyRedeemedError,
    RedemptionExpiredError, RedemptionCancelledError."""
    now = now_utc()
    with rt.db.write() as session:
        row = session.execute(presented().where(Redemption.id == redemption_id)).first()
        if row is None or row[0].user_id != actor.user_id:
            raise NotFoundError("找不到该兑换记录")
        if not settle(session, redemption_id, RedemptionStatus.CANCELLED, now):
            session.refresh(row[0])
            raise NOT_OPEN[row[0].status]()
        session.refresh(row[0])
        return present([row])[0]


def settle(session: Session, redemption_id: int, status: RedemptionStatus, now: datetime) -> Redemption | None:
    """Helper (flushes only): an issued code becomes ``status`` (expired or cancelled), its points
    are refunded and its stock put back; None, and nothing written, if it was no longer issued.

    The conditional UPDATE decides: of two job processes, or a job and a merchant's verify, that
    reach the same code at once, exactly one changes it."""
    changed = session.execute(
        sa.update(Redemption)
        .where(Redemption.id == redemption_id, Redemption.status == RedemptionStatus.ISSUED)
        .values(status=status, settled_at=now)
        .returning(Redemption.user_id, Redemption.points, Redemption.reward_id)
        .execution_options(synchronize_session=False)
    ).first()
    if changed is None:
        return None
    refund = credit(session, changed.user_id, changed.points, REFUNDED, kind=PointsKind.REFUNDED)
    session.execute(
        sa.update(Redemption)
        .where(Redemption.id == redemption_id)
        .values(refund_entry_id=refund.id)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        sa.update(Reward)
        .where(Reward.id == changed.reward_id, Reward.stock.is_not(None))
        .values(stock=Reward.stock + 1)
        .execution_options(synchronize_session=False)
    )
    return session.get(Redemption, redemption_id, populate_existing=True)


def cancel_open_redemptions(session: Session, user_id: int, now: datetime) -> int:
    """Helper for account deletion (flushes only): the user's unused codes are cancelled and
    refunded, so that no code of a deleted account can still be used at a till."""
    open_ids = session.scalars(
        sa.select(Redemption.id).where(Redemption.user_id == user_id, Redemption.status == RedemptionStatus.ISSUED)
    ).all()
    return sum(settle(session, rid, RedemptionStatus.CANCELLED, now) is not None for rid in open_ids)


# -- presenting -------------------------------------------------------------------------------------


def presented() -> sa.Select[Redemption, str, Merchant]:
    """Redemptions with their reward's name and merchant, as :func:`present` takes them."""
    return (
        sa.select(Redemption, Reward.name, Merchant)
        .join(Reward, Reward.id == Redemption.reward_id)
        .join(Merchant, Merchant.id == Reward.merchant_id)
    )


def present(rows: Sequence[sa.Row[Redemption, str, Merchant]]) -> list[RedemptionOut]:
    return [redemption_out(redemption, reward_name, merchant) for redemption, reward_name, merchant in rows]


def redemption_out(redemption: Redemption, reward_name: str, merchant: Merchant) -> RedemptionOut:
    return RedemptionOut(
        id=redemption.id,
        code=redemption.code,
        points=redemption.points,
        status=redemption.status,
        expires_at=redemption.expires_at,
        redeemed_at=redemption.redeemed_at,
        created_at=redemption.created_at,
        reward=RedemptionReward(
            id=redemption.reward_id, name=reward_name, merchant=MerchantRef(id=merchant.id, name=merchant.name)
        ),
    )
