"""Login, the caller's profile and household, invitations (thin views over app.identity and app.account)."""

from __future__ import annotations

from flask import Blueprint

from app.account import profile
from app.account.shapes import ProfileOut
from app.identity import households, invitations
from app.identity import login as auth
from app.identity.actor import Actor
from app.identity.shapes import HouseholdOut, InvitationOut, LoginOut, PhoneOut
from app.property import companies
from miniprogram_api import examples
from miniprogram_api.auth import runtime
from miniprogram_api.registry import Limit, endpoint
from miniprogram_api.schemas import HouseholdIn, InvitationIn, LoginIn, PhoneIn, RedeemIn, SkillsIn

bp = Blueprint("identity", __name__, url_prefix="/api/v1")


@endpoint(
    bp,
    "/auth/login",
    method="POST",
    summary="用 wx.login 的 code 登录",
    example=examples.LOGIN,
    body=LoginIn,
    response=LoginOut,
    auth=False,
    errors=(400, 503),
    limits=(Limit("login_per_ip", "ip"), Limit("login_per_openid", "openid")),
)
def login(body: LoginIn) -> LoginOut:
    return auth.login(runtime(), body.code)


@endpoint(
    bp,
    "/auth/phone",
    method="POST",
    summary="绑定手机号",
    body=PhoneIn,
    response=PhoneOut,
    errors=(400, 401, 503),
    example=examples.PHONE,
)
def bind_phone(actor: Actor, body: PhoneIn) -> PhoneOut:
    return auth.bind_phone(runtime(), actor, body.code)


@endpoint(
    bp,
    "/me",
    method="GET",
    summary="我的资料、角色、住户信息和积分",
    example=examples.PROFILE,
    response=ProfileOut,
    errors=(401,),
    operation_id="getMe",
)
def me(actor: Actor) -> ProfileOut:
    return profile.get_profile(runtime(), actor)


@endpoint(
    bp,
    "/me/household",
    method="PUT",
    summary="登记住址，成为该社区居民",
    example=examples.PROFILE,
    body=HouseholdIn,
    response=ProfileOut,
    errors=(400, 401, 404),
)
def set_household(actor: Actor, body: HouseholdIn) -> ProfileOut:
    return profile.set_household(
        runtime(),
        actor,
        community=body.community,
        grid=body.grid,
        building=body.building,
        unit=body.unit,
        room=body.room,
    )


@endpoint(
    bp,
    "/households/<id:user_id>/verify",
    method="POST",
    summary="社区工作人员核实居民住址",
    example=examples.HOUSEHOLD,
    response=HouseholdOut,
    errors=(401, 403, 404),
)
def verify_household(actor: Actor, user_id: int) -> HouseholdOut:
    return households.verify_household(runtime(), actor, user_id)


@endpoint(
    bp,
    "/invitations",
    method="POST",
    summary="发放角色邀请码（社区书记、街道管理员）",
    example=examples.INVITATION,
    body=InvitationIn,
    response=InvitationOut,
    status=201,
    errors=(400, 401, 403, 404),
)
def create_invitation(actor: Actor, body: InvitationIn) -> InvitationOut:
    return invitations.create_invitation(
        runtime(),
        actor,
        role=body.role,
        area_code=body.area,
        property_company_id=body.property_company_id,
        company_serves=companies.serves,
    )


@endpoint(
    bp,
    "/invitations/redeem",
    method="POST",
    summary="使用邀请码获得角色",
    example=examples.VOLUNTEER_PROFILE,
    body=RedeemIn,
    response=ProfileOut,
    errors=(400, 401, 404, 409),
    limits=(Limit("redeem_per_ip", "ip"), Limit("redeem_per_user", "user")),
)
def redeem_invitation(actor: Actor, body: RedeemIn) -> ProfileOut:
    return profile.redeem_invitation(runtime(), actor, body.code)


@endpoint(
    bp,
    "/me/skills",
    method="PUT",
    summary="志愿者登记技能",
    body=SkillsIn,
    response=ProfileOut,
    errors=(400, 401, 403),
    example=examples.VOLUNTEER_PROFILE,
)
def set_skills(actor: Actor, body: SkillsIn) -> ProfileOut:
    return profile.set_skills(runtime(), actor, body.skills)
