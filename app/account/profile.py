"""The caller's own profile (GET /me) and the changes answered with it: the household, skills, an
invitation redeemed. The profile gathers identity, volunteer skills and time-bank points, so it sits
above those domains instead of inside identity (which they all build on)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.account.shapes import ProfileOut
from app.areas.skills import require_skills
from app.core.errors import ForbiddenError
from app.core.privacy import mask_phone
from app.identity.actor import Actor, load_user
from app.identity.households import household_out, place_household
from app.identity.invitations import take_invitation
from app.identity.models import User
from app.identity.roles import Role
from app.identity.shapes import roles_out
from app.property.companies import link_staff
from app.runtime import Runtime
from app.timebank.ledger import balance_of
from app.timebank.merchants import link_merchant_staff
from app.volunteers.profiles import profile_of
from app.volunteers.skills import replace_skills, skills_of


def get_profile(rt: Runtime, actor: Actor) -> ProfileOut:
    """Any user: their own profile, roles, household, skills and points balance."""
    with rt.db.read() as session:
        return _profile(session, actor.user_id)


def _profile(session: Session, user_id: int) -> ProfileOut:
    user = load_user(session, user_id)
    return ProfileOut(
        id=user.id,
        nickname=user.nickname,
        roles=roles_out(user),
        phone=mask_phone(user.phone),
        household=household_out(user.household) if user.household is not None else None,
        points_balance=balance_of(session, user.id),
        skills=skills_of(session, user.id),
        volunteer=profile_of(session, user.id, volunteering) if (volunteering := _volunteering(user)) else None,
    )


def _volunteering(user: User) -> set[int]:
    return {m.area_id for m in user.memberships if m.role is Role.VOLUNTEER}


def set_household(
    rt: Runtime, actor: Actor, *, community: str, grid: str | None, building: str, unit: str, room: str
) -> ProfileOut:
    """Any user: say where they live; they become a resident of that community (unverified).

    Raises NotFoundError (unknown community or grid), InvalidInputError (grid of another community).
    """
    with rt.db.write() as session:
        place_household(session, actor.user_id, community=community, grid=grid, building=building, unit=unit, room=room)
        # The user's household and roles were loaded before the change: load them afresh.
        session.expire_all()
        return _profile(session, actor.user_id)


def set_skills(rt: Runtime, actor: Actor, skills: list[str]) -> ProfileOut:
    """A volunteer: the skills that make them a good match (replaces the previous list).

    Raises ForbiddenError for anyone who is not a volunteer, InvalidInputError for a skill not in
    the catalogue of one of their communities.
    """
    if not actor.has_role(Role.VOLUNTEER):
        raise ForbiddenError("只有志愿者可以登记技能")
    with rt.db.write() as session:
        require_skills(
            session, actor.communities_as(Role.VOLUNTEER), skills, "skills", kept=skills_of(session, actor.user_id)
        )
        replace_skills(session, actor.user_id, skills)
        return _profile(session, actor.user_id)


def redeem_invitation(rt: Runtime, actor: Actor, code: str) -> ProfileOut:
    """Any user: take the role an invitation grants. Each code works once, before it expires.

    Raises NotFoundError (unknown code), InvitationUsedError, InvitationExpiredError.
    """
    with rt.db.write() as session:
        invitation = take_invitation(session, actor, code)
        if invitation.property_company_id is not None:
            # Property staff act on their company's orders from the moment they join.
            link_staff(session, invitation.property_company_id, actor.user_id)
        if invitation.merchant_id is not None:
            # Merchant staff verify their merchant's codes from the moment they join.
            link_merchant_staff(session, invitation.merchant_id, actor.user_id)
        return _profile(session, actor.user_id)
