"""Login, the caller's profile and household, invitations (thin views over app.identity and app.account)."""

from __future__ import annotations

from flask import Blueprint, Response, stream_with_context

from app.account import erasure, export, profile, volunteer
from app.account.shapes import AccountExport, ProfileOut
from app.bot import binding
from app.identity import households, invitations, revocation
from app.identity import login as auth
from app.identity.actor import Actor
from app.identity.shapes import HouseholdOut, InvitationOut, LoginOut, PhoneOut
from app.property import companies
from app.timebank import merchants
from app.volunteers.profiles import ProfileIn
from app.volunteers.shapes import VolunteerProfileOut
from miniprogram_api import examples
from miniprogram_api.auth import bearer_token, runtime
from miniprogram_api.registry import ANSWER_CONTEXT, Limit, endpoint
from miniprogram_api.schemas import (
    HouseholdIn,
    InvitationIn,
    LoginIn,
    LogoutIn,
    PhoneIn,
    RedeemIn,
    SkillsIn,
    VolunteerProfileIn,
)

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
        merchant_id=body.merchant_id,
        merchant_of=merchants.merchant_of,
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
    "/me/volunteer",
    method="GET",
    summary="我的志愿者信息（技能、服务时段、同时接单上限、党员/双报到）",
    description="志愿者本人；从未填写的项答复默认值（上限 3 单）。",
    response=VolunteerProfileOut,
    errors=(401, 403),
    example=examples.VOLUNTEER_REGISTRY,
)
def get_volunteer_profile(actor: Actor) -> VolunteerProfileOut:
    return volunteer.get_volunteer_profile(runtime(), actor)


@endpoint(
    bp,
    "/me/volunteer",
    method="PUT",
    summary="登记志愿者信息（整体替换）",
    description=(
        "技能须在本社区技能库中；时段按周（1 = 周一），开始早于结束，同一天的时段不能重叠；`max_active` 为 1–10；"
        "`in_service`（在职党员双报到）须是党员，且须填 `employer_unit`，只有双报到才能填单位与 `unit_hours`。"
        "任何一项有误答复 400（`details.fields` 指明），什么也不写。报到单位名称经内容安全检测（422）。"
    ),
    body=VolunteerProfileIn,
    response=VolunteerProfileOut,
    errors=(400, 401, 403, 422),
    example=examples.VOLUNTEER_REGISTRY,
)
def set_volunteer_profile(actor: Actor, body: VolunteerProfileIn) -> VolunteerProfileOut:
    wanted = ProfileIn(
        skills=list(body.skills),
        availability=[(slot.weekday, slot.start, slot.end) for slot in body.availability],
        max_active=body.max_active,
        party_member=body.party_member,
        in_service=body.in_service if body.in_service is not None else bool(body.employer_unit),
        employer_unit=body.employer_unit,
        unit_hours=body.unit_hours,
    )
    return volunteer.set_volunteer_profile(runtime(), actor, wanted)


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


# -- a user's rights (PIPL): logging out, the export, deleting the account ---------------------------


@endpoint(
    bp,
    "/auth/logout",
    method="POST",
    summary="退出登录（all: true 时退出所有设备）",
    description='本次请求所用的登录凭证失效，此后用它的请求答 401；`{"all": true}` 时本账号的全部凭证失效。'
    "请求体为 JSON 对象，可为 `{}`。",
    body=LogoutIn,
    status=204,
    errors=(400, 401),
)
def logout(actor: Actor, body: LogoutIn) -> Response:
    revocation.logout(runtime(), actor, bearer_token(), everywhere=body.all)
    return Response(status=204)


@endpoint(
    bp,
    "/me/export",
    method="GET",
    summary="下载我的全部数据（JSON 文件）",
    description="Linli 保存的关于本人的全部数据，作为附件 `linli-export-<id>.json` 下载；"
    "按节流式输出，不分页、不截断。照片只给出编号与链接，不含文件内容。",
    response=AccountExport,
    example=examples.EXPORT,
    errors=(401,),
    operation_id="exportMyData",
)
def export_my_data(actor: Actor) -> Response:
    # Streamed: the request context stays for the whole download (photo links are minted for the
    # caller as the sections are written).
    pieces = export.export_account(runtime(), actor, context=ANSWER_CONTEXT)
    response = Response(stream_with_context(pieces), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="linli-export-{actor.user_id}.json"'
    response.headers["Cache-Control"] = "no-store"  # personal data: no cache along the way keeps a copy
    return response


@endpoint(
    bp,
    "/me",
    method="DELETE",
    summary="注销账号（匿名化；工单保留但不含姓名、电话、门牌）",
    description="注销后本账号的全部登录凭证失效；同一微信再次登录将成为新用户。"
    "尚无人接手的工单自动取消；有人正在服务的工单（已接单、服务中、已上报）或本人作为志愿者持有的工单"
    "未处理完时答 409 `account_busy`，`details.orders` 列出单号。",
    status=204,
    errors=(401, 409),
    operation_id="deleteMe",
)
def delete_me(actor: Actor) -> Response:
    # The bot sits above the account's layer: its part of the forgetting is handed in from here.
    erasure.delete_account(runtime(), actor, forget_elsewhere=(binding.forget_chat,))
    return Response(status=204)
