"""Partner merchants (商业合伙人) of a community: registered by its secretary (API) or by operators
(CLI), listed for its staff; their staff join with a ``merchant`` invitation naming the merchant."""

from __future__ import annotations

from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.areas.models import AreaKind
from app.areas.tree import get_area
from app.core.errors import ConflictError, InvalidInputError
from app.core.paging import decode_cursor, encode_cursor
from app.identity.actor import Actor, community_for
from app.identity.roles import STAFF_ROLES, Role
from app.runtime import Runtime
from app.timebank.models import Merchant, MerchantStaff
from app.timebank.shapes import MerchantOut, MerchantPage

#: The longest merchant name (the column's length).
NAME_MAX: Final = 64
_ONLY_STAFF = "只有社区工作人员可以查看商户"
_ONLY_SECRETARY = "只有社区书记可以登记商户"


class MerchantNameTakenError(ConflictError):
    code = "merchant_name_taken"
    default_message = "本社区已有同名商户"


# -- operators (CLI, demo data) ---------------------------------------------------------------------


def add_merchant(rt: Runtime, community: str, name: str) -> Merchant:
    """Operators (CLI): a merchant of ``community`` (a code). Raises NotFoundError (no such
    community), InvalidInputError (a name empty or too long), MerchantNameTakenError."""
    with rt.db.write() as session:
        return create_merchant(session, community, name)


def create_merchant(session: Session, community: str, name: str) -> Merchant:
    """Helper (flushes only): :func:`add_merchant` inside the caller's unit of work."""
    area = get_area(session, community, kinds=[AreaKind.COMMUNITY])
    return _new_merchant(session, area.id, name)


def merchant_of(session: Session, merchant_id: int, community_id: int) -> bool:
    """The merchant exists and belongs to ``community_id`` (checked for invitations and rewards)."""
    found = session.scalar(
        sa.select(Merchant.id).where(Merchant.id == merchant_id, Merchant.community_id == community_id)
    )
    return found is not None


def link_merchant_staff(session: Session, merchant_id: int, user_id: int) -> None:
    """Helper (flushes only): ``user_id`` verifies the merchant's codes (once, however often asked)."""
    if session.get(MerchantStaff, (merchant_id, user_id)) is None:
        session.add(MerchantStaff(merchant_id=merchant_id, user_id=user_id))
        session.flush()


def unlink_merchant_staff_everywhere(session: Session, user_id: int) -> None:
    """Helper (flushes only): ``user_id`` acts for no merchant any more (account deletion)."""
    session.execute(sa.delete(MerchantStaff).where(MerchantStaff.user_id == user_id))
    session.flush()


# -- the API ----------------------------------------------------------------------------------------


def list_merchants(rt: Runtime, actor: Actor, community: str, *, limit: int, cursor: str | None) -> MerchantPage:
    """Secretary, grid worker or street admin of the community: its merchants, oldest first.
    Raises ForbiddenError (not staff anywhere), NotFoundError (unknown or another community)."""
    after = decode_cursor(cursor)
    with rt.db.read() as session:
        area = community_for(session, actor, community, *STAFF_ROLES, refusal=_ONLY_STAFF)
        statement = _with_counts().where(Merchant.community_id == area.id).order_by(Merchant.id).limit(limit + 1)
        if after is not None:
            statement = statement.where(Merchant.id > after)
        rows = session.execute(statement).all()
    page = rows[:limit]
    return MerchantPage(
        items=[_out(row) for row in page],
        next_cursor=encode_cursor(page[-1].id) if len(rows) > limit else None,
    )


def register_merchant(rt: Runtime, actor: Actor, *, community: str, name: str) -> MerchantOut:
    """The secretary of the community: a merchant of it. Its staff join with a ``merchant``
    invitation naming it. Raises ForbiddenError (not a secretary), NotFoundError (unknown or
    another community), InvalidInputError, MerchantNameTakenError."""
    with rt.db.write() as session:
        area = community_for(session, actor, community, Role.SECRETARY, refusal=_ONLY_SECRETARY)
        merchant = _new_merchant(session, area.id, name)
        return _out(session.execute(_with_counts().where(Merchant.id == merchant.id)).one())


# -- helpers ----------------------------------------------------------------------------------------


def _new_merchant(session: Session, community_id: int, name: str) -> Merchant:
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise InvalidInputError(
            f"商户名称须为 1–{NAME_MAX} 个字", details={"fields": [{"field": "name", "problem": "length"}]}
        )
    taken = {"fields": [{"field": "name", "problem": "taken"}]}
    twin = session.scalar(sa.select(Merchant.id).where(Merchant.community_id == community_id, Merchant.name == name))
    if twin is not None:
        raise MerchantNameTakenError(f"本社区已有名为「{name}」的商户", details=taken)
    merchant = Merchant(community_id=community_id, name=name)
    try:
        # A savepoint: a twin registered at the same instant (PostgreSQL) fails on the unique
        # constraint without spoiling the caller's transaction.
        with session.begin_nested():
            session.add(merchant)
    except IntegrityError:
        raise MerchantNameTakenError(f"本社区已有名为「{name}」的商户", details=taken) from None
    return merchant


def _with_counts() -> sa.Select[Any]:
    staff = (
        sa.select(sa.func.count())
        .select_from(MerchantStaff)
        .where(MerchantStaff.merchant_id == Merchant.id)
        .correlate(Merchant)
        .scalar_subquery()
    )
    return sa.select(Merchant.id, Merchant.name, Merchant.created_at, staff.label("staff_count"))


def _out(row: sa.Row[Any]) -> MerchantOut:
    return MerchantOut(id=row.id, name=row.name, staff_count=int(row.staff_count), created_at=row.created_at)
