"""Invitations: a secretary hands out a one-time code that grants a role in an area."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import Area, AreaKind
from app.areas.tree import get_area
from app.core.clock import now_utc
from app.core.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from app.identity.actor import Actor
from app.identity.grants import record_grant
from app.identity.models import Invitation, RoleMembership
from app.identity.roles import Role
from app.identity.shapes import AreaRef, InvitationOut
from app.runtime import Runtime

#: No 0/O, 1/I/L: codes are read aloud and typed on phones.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8

#: The kinds of area each invitable role is held in.
ROLE_AREA_KINDS: dict[Role, frozenset[AreaKind]] = {
    Role.VOLUNTEER: frozenset({AreaKind.COMMUNITY}),
    Role.GRID_WORKER: frozenset({AreaKind.COMMUNITY, AreaKind.GRID}),
    Role.SECRETARY: frozenset({AreaKind.COMMUNITY}),
    Role.PROPERTY_COMPANY: frozenset({AreaKind.COMMUNITY}),
    Role.MERCHANT: frozenset({AreaKind.COMMUNITY}),
    Role.STREET_ADMIN: frozenset({AreaKind.STREET}),
}


class InvitationUsedError(ConflictError):
    code = "invitation_used"
    default_message = "邀请码已被使用"


class InvitationExpiredError(ConflictError):
    code = "invitation_expired"
    default_message = "邀请码已过期，请联系社区重新获取"


#: Who invites whom: street admins appoint the secretaries of their communities; secretaries the
#: other people of their community. Street admins are appointed by operators (``linli grant``).
INVITED_BY: dict[Role, Role] = {
    Role.SECRETARY: Role.STREET_ADMIN,
    Role.GRID_WORKER: Role.SECRETARY,
    Role.VOLUNTEER: Role.SECRETARY,
    Role.PROPERTY_COMPANY: Role.SECRETARY,
    Role.MERCHANT: Role.SECRETARY,
}


def _may_invite(actor: Actor, area: Area, role: Role) -> bool:
    inviter = INVITED_BY.get(role)
    if inviter is None or area.community_id is None:
        return False
    return area.community_id in actor.communities_as(inviter)


def _refusal(role: Role) -> str:
    """Why the caller may not invite ``role``, in the words of the hierarchy."""
    inviter = INVITED_BY.get(role)
    if inviter is Role.STREET_ADMIN:
        return "社区书记由街道管理员邀请"
    if inviter is Role.SECRETARY:
        return "该角色由本社区书记邀请"
    return "该角色不能通过邀请码发放，请联系系统管理员"


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


#: Is this property company one that serves this community? Is this merchant one of this
#: community? (asked of the layers that know companies and merchants)
CompanyCheck = Callable[[Session, int, int], bool]
MerchantCheck = Callable[[Session, int, int], bool]


def create_invitation(
    rt: Runtime,
    actor: Actor,
    *,
    role: Role,
    area_code: str,
    property_company_id: int | None = None,
    company_serves: CompanyCheck | None = None,
    merchant_id: int | None = None,
    merchant_of: MerchantCheck | None = None,
) -> InvitationOut:
    """A one-time code, by the hierarchy of ``INVITED_BY``: a street admin for the secretaries of
    the street's communities, a secretary for the other roles of their community.
    Property staff are invited for one company (``property_company_id``, checked with
    ``company_serves``), and are linked to it when they redeem the code; merchant staff likewise
    for one merchant of the community (``merchant_id``, checked with ``merchant_of``).

    Raises InvalidInputError (role not invitable there, company missing or not of the community),
    NotFoundError, ForbiddenError.
    """
    kinds = ROLE_AREA_KINDS.get(role)
    if kinds is None:
        raise InvalidInputError("该角色不能通过邀请获得", details={"role": role.value})
    if (role is Role.PROPERTY_COMPANY) != (property_company_id is not None):
        raise InvalidInputError(
            "邀请物业人员时须选择物业企业，其他角色不能选择", details={"fields": ["property_company_id"]}
        )
    if (role is Role.MERCHANT) != (merchant_id is not None):
        raise InvalidInputError("邀请商户人员时须选择商户，其他角色不能选择", details={"fields": ["merchant_id"]})
    with rt.db.write() as session:
        area = get_area(session, area_code)
        if not _may_invite(actor, area, role):
            # Another community's area looks the same as an unknown one.
            if area.community_id is not None and area.community_id not in actor.communities_as(*Role):
                raise NotFoundError(f"找不到区域 {area_code}", details={"area": area_code})
            raise ForbiddenError(_refusal(role))
        if area.kind not in kinds:
            raise InvalidInputError(
                "该角色不能设在这一级区域", details={"area": area_code, "allowed": sorted(k.value for k in kinds)}
            )
        if property_company_id is not None and (
            company_serves is None
            or area.community_id is None
            or not company_serves(session, property_company_id, area.community_id)
        ):
            raise InvalidInputError("物业企业不存在或不服务本社区", details={"fields": ["property_company_id"]})
        if merchant_id is not None and (
            merchant_of is None or area.community_id is None or not merchant_of(session, merchant_id, area.community_id)
        ):
            raise InvalidInputError("商户不存在或不属于本社区", details={"fields": ["merchant_id"]})
        invitation = Invitation(
            code=_new_code(),
            role=role,
            area_id=area.id,
            property_company_id=property_company_id,
            merchant_id=merchant_id,
            created_by_id=actor.user_id,
            expires_at=now_utc() + timedelta(hours=rt.settings.auth.invitation_ttl_hours),
        )
        session.add(invitation)
        session.flush()
        return InvitationOut(
            code=invitation.code,
            role=role,
            area=AreaRef(code=area.code, name=area.name, kind=area.kind),
            expires_at=invitation.expires_at,
        )


def take_invitation(session: Session, actor: Actor, code: str) -> Invitation:
    """Helper for the redeem use case (flushes only): the actor takes the role the code grants;
    answers the invitation (its company, for the caller to link the new staff member).

    Raises NotFoundError (unknown code), InvitationUsedError, InvitationExpiredError.
    """
    normalised = code.strip().upper()
    now = now_utc()
    invitation = session.scalar(sa.select(Invitation).where(Invitation.code == normalised))
    if invitation is None:
        raise NotFoundError("邀请码不存在", details={"code": code})
    if invitation.redeemed_at is not None:
        raise InvitationUsedError()
    if invitation.expires_at <= now:
        raise InvitationExpiredError()
    # Conditional update: two people redeeming the same code at once cannot both win.
    taken = session.execute(
        sa.update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.redeemed_at.is_(None))
        .values(redeemed_at=now, redeemed_by_id=actor.user_id)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise InvitationUsedError()
    exists = session.scalar(
        sa.select(RoleMembership.id).where(
            RoleMembership.user_id == actor.user_id,
            RoleMembership.role == invitation.role,
            RoleMembership.area_id == invitation.area_id,
        )
    )
    if exists is None:
        session.add(
            RoleMembership(
                user_id=actor.user_id,
                role=invitation.role,
                area_id=invitation.area_id,
                granted_by_id=invitation.created_by_id,
            )
        )
        record_grant(session, invitation.area, actor.user_id, invitation.role, granted_by_id=invitation.created_by_id)
    session.flush()
    return invitation
