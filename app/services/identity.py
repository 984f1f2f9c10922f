"""Login, the caller's identity, phone binding, the household and the profile."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from app.clock import now_utc
from app.errors import (
    ForbiddenError,
    InvalidCodeError,
    InvalidInputError,
    NotFoundError,
    UnauthenticatedError,
    WeChatUnavailableServiceError,
)
from app.models import Area, AreaKind, Household, PointsEntry, RoleMembership, User, UserSkill
from app.privacy import mask_phone
from app.runtime import Runtime
from app.services.access import Actor, get_area, load_actor
from app.services.shapes import AreaRef, HouseholdOut, LoginOut, PhoneOut, ProfileOut, RoleOut, UserOut
from app.wechat.errors import WeChatError, WeChatRejectedError
from app.workflow import STAFF_ROLES, Role

log = logging.getLogger(__name__)

#: jscode2session / getuserphonenumber answers that mean "this code is no good".
_BAD_CODE_ERRCODES = frozenset({40029, 40163, 40226})


def _translate_wechat(exc: WeChatError) -> Exception:
    if isinstance(exc, WeChatRejectedError) and exc.errcode in _BAD_CODE_ERRCODES:
        return InvalidCodeError(details={"errcode": exc.errcode})
    log.warning("wechat call failed: %s", exc)
    return WeChatUnavailableServiceError()


def _area_ref(area: Area) -> AreaRef:
    return AreaRef(code=area.code, name=area.name, kind=area.kind.value)


def _roles(user: User) -> list[RoleOut]:
    return [RoleOut(role=m.role.value, area=_area_ref(m.area)) for m in user.memberships]


def _load_user(session: Session, user_id: int) -> User:
    user = session.scalar(
        sa.select(User)
        .where(User.id == user_id)
        .options(selectinload(User.memberships).selectinload(RoleMembership.area), selectinload(User.household))
    )
    if user is None:
        raise UnauthenticatedError("账号不存在，请重新登录")
    return user


def login(rt: Runtime, code: str) -> LoginOut:
    """Anyone: exchange a ``wx.login`` code for our token, creating the user on first login.

    Raises InvalidCodeError (bad or reused code) or WeChatUnavailableServiceError.
    """
    try:
        # Outside any transaction: never hold a database lock while waiting on WeChat.
        wx = rt.wechat.code_to_session(code)
    except WeChatError as exc:
        raise _translate_wechat(exc) from exc
    for attempt in (1, 2):
        try:
            with rt.db.write() as session:
                user = session.scalar(sa.select(User).where(User.openid == wx.openid))
                if user is None:
                    user = User(openid=wx.openid, nickname="")
                    session.add(user)
                user.session_key = wx.session_key
                user.unionid = wx.unionid or user.unionid
                user.last_login_at = now_utc()
                session.flush()
                user = _load_user(session, user.id)
                return LoginOut(
                    token=rt.tokens.issue(user.id, user.token_generation),
                    expires_in=rt.tokens.ttl_seconds,
                    user=UserOut(id=user.id, nickname=user.nickname, roles=_roles(user)),
                )
        except IntegrityError:
            # Two first logins of one person raced on the unique openid; the second finds the row.
            if attempt == 2:  # noqa: PLR2004
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def authenticate(rt: Runtime, token: str) -> Actor:
    """Resolve a bearer token to an Actor; raise UnauthenticatedError / TokenExpiredError."""
    claims = rt.tokens.verify(token)
    with rt.db.read() as session:
        user = session.get(User, claims.user_id)
        if user is None or user.token_generation != claims.generation:
            raise UnauthenticatedError("登录凭证已失效，请重新登录")
        return load_actor(session, user)


def bind_phone(rt: Runtime, actor: Actor, code: str) -> PhoneOut:
    """Any user: bind the phone number behind a ``getPhoneNumber`` code; answer it masked."""
    try:
        phone = rt.wechat.get_phone_number(code)
    except WeChatError as exc:
        raise _translate_wechat(exc) from exc
    with rt.db.write() as session:
        user = _load_user(session, actor.user_id)
        user.phone = phone
    return PhoneOut(phone=mask_phone(phone) or "")


def get_profile(rt: Runtime, actor: Actor) -> ProfileOut:
    """Any user: their own profile, roles, household and points balance."""
    with rt.db.read() as session:
        return _profile(session, actor.user_id)


def _profile(session: Session, user_id: int) -> ProfileOut:
    user = _load_user(session, user_id)
    balance = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(PointsEntry.delta), 0)).where(PointsEntry.user_id == user.id)
    )
    household = _household_out(user.household) if user.household is not None else None
    skills = list(
        session.scalars(sa.select(UserSkill.skill).where(UserSkill.user_id == user.id).order_by(UserSkill.skill))
    )
    return ProfileOut(
        id=user.id,
        nickname=user.nickname,
        roles=_roles(user),
        phone=mask_phone(user.phone),
        household=household,
        points_balance=int(balance or 0),
        skills=skills,
    )


def _household_out(household: Household) -> HouseholdOut:
    return HouseholdOut(
        community=_area_ref(household.community),
        grid=_area_ref(household.grid) if household.grid else None,
        building=household.building,
        unit=household.unit,
        room=household.room,
        verified=household.verified,
    )


def _match_building(session: Session, grid: Area, label: str) -> Area | None:
    """The known building under ``grid`` that residents call ``label`` ("3" for 3栋 / 3号楼)."""
    if not label:
        return None
    names = {label, f"{label}栋", f"{label}号楼", f"{label}幢"}
    return session.scalar(
        sa.select(Area).where(Area.parent_id == grid.id, Area.kind == AreaKind.BUILDING, Area.name.in_(names))
    )


def set_household(
    rt: Runtime, actor: Actor, *, community: str, grid: str | None, building: str, unit: str, room: str
) -> ProfileOut:
    """Any user: say where they live; they become a resident of that community (unverified)."""
    with rt.db.write() as session:
        community_area = get_area(session, community, kinds=[AreaKind.COMMUNITY])
        grid_area = None
        if grid:
            grid_area = get_area(session, grid, kinds=[AreaKind.GRID])
            if grid_area.parent_id != community_area.id:
                raise InvalidInputError("网格不属于该社区", details={"grid": grid})
        known_building = _match_building(session, grid_area, building) if grid_area else None
        user = _load_user(session, actor.user_id)
        household = user.household or Household(user_id=user.id, community_id=community_area.id)
        if household.community_id != community_area.id:
            # Moving out: the resident role follows the household to the new community.
            session.execute(
                sa.delete(RoleMembership).where(
                    RoleMembership.user_id == user.id,
                    RoleMembership.role == Role.RESIDENT,
                    RoleMembership.area_id == household.community_id,
                )
            )
        household.community_id = community_area.id
        household.grid_id = grid_area.id if grid_area else None
        household.building_id = known_building.id if known_building else None
        household.building, household.unit, household.room = building, unit, room
        household.verified = False  # a changed address must be checked again
        session.add(household)
        already = session.scalar(
            sa.select(RoleMembership.id).where(
                RoleMembership.user_id == user.id,
                RoleMembership.role == Role.RESIDENT,
                RoleMembership.area_id == community_area.id,
            )
        )
        if already is None:
            session.add(RoleMembership(user_id=user.id, role=Role.RESIDENT, area_id=community_area.id))
        session.flush()
        session.expire_all()
        return _profile(session, user.id)


def verify_household(rt: Runtime, actor: Actor, user_id: int) -> HouseholdOut:
    """Community staff (secretary, grid worker, street admin): mark a resident's address as checked.

    Raises NotFoundError for an unknown user, one without a household, or one of another
    community (never revealed), ForbiddenError for a resident or volunteer.
    """
    staff_of = actor.communities_as(*STAFF_ROLES)
    if not staff_of:
        raise ForbiddenError("只有社区工作人员可以核实住址")
    with rt.db.write() as session:
        household = session.scalar(sa.select(Household).where(Household.user_id == user_id))
        if household is None or household.community_id not in staff_of:
            raise NotFoundError("找不到该住户")
        household.verified = True
        session.flush()
        return _household_out(household)


def set_skills(rt: Runtime, actor: Actor, skills: list[str]) -> ProfileOut:
    """A volunteer: the skills that make them a good match (replaces the previous list)."""
    if not actor.has_role(Role.VOLUNTEER):
        raise ForbiddenError("只有志愿者可以登记技能")
    with rt.db.write() as session:
        session.execute(sa.delete(UserSkill).where(UserSkill.user_id == actor.user_id))
        for skill in sorted(set(skills)):
            session.add(UserSkill(user_id=actor.user_id, skill=skill))
        session.flush()
        return _profile(session, actor.user_id)
