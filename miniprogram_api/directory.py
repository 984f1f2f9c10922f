"""The pickers a dispatcher needs, and setting up what they pick from: the volunteer directory,
teams and their members, property companies (thin views over app.orders.directory,
app.volunteers.teams and app.property.companies)."""

from __future__ import annotations

from flask import Blueprint, Response

from app.identity.actor import Actor
from app.orders import directory
from app.orders.shapes import VolunteerPage
from app.property import companies
from app.property.shapes import PropertyCompanyEnvelope, PropertyCompanyPage
from app.volunteers import catalogue, teams
from app.volunteers.shapes import SkillEnvelope, SkillList, TeamEnvelope, TeamPage
from miniprogram_api import examples
from miniprogram_api.auth import runtime
from miniprogram_api.registry import endpoint
from miniprogram_api.schemas import (
    CategoryQuery,
    CommunityPageQuery,
    PropertyCompanyIn,
    SkillIn,
    TeamIn,
    TeamMemberIn,
    VolunteerQuery,
)

bp = Blueprint("directory", __name__, url_prefix="/api/v1")


@endpoint(
    bp,
    "/volunteers",
    method="GET",
    summary="社区志愿者（派单选人：技能、服务队、手头工单、评分）",
    description=(
        "社区书记、本社区网格员（含只负责某个网格的）。按用户编号排序分页；`skill` 按技能、`q` 按姓名、"
        "`team` 按本社区服务队筛选。不返回手机号。"
    ),
    example=examples.VOLUNTEERS,
    query=VolunteerQuery,
    response=VolunteerPage,
    errors=(400, 401, 403, 404),
)
def list_volunteers(actor: Actor, query: VolunteerQuery) -> VolunteerPage:
    return directory.list_volunteers(
        runtime(),
        actor,
        query.community,
        skill=query.skill or None,
        q=query.q or None,
        team_id=query.team,
        limit=query.limit,
        cursor=query.cursor,
    )


@endpoint(
    bp,
    "/skills",
    method="GET",
    summary="社区技能库（志愿者登记技能、服务类别要求的技能都从中选）",
    description="登录用户均可查看；只列出启用的技能。",
    example=examples.SKILLS,
    query=CategoryQuery,
    response=SkillList,
    errors=(400, 401, 404),
)
def list_skills(actor: Actor, query: CategoryQuery) -> SkillList:
    del actor  # any logged-in user may read a catalogue
    return catalogue.list_skills(runtime(), query.community)


@endpoint(
    bp,
    "/skills",
    method="POST",
    summary="向社区技能库添加技能（社区书记）",
    description="编码在本社区已存在答复 409；其他社区答复 404。",
    example=examples.SKILL_ENVELOPE,
    body=SkillIn,
    response=SkillEnvelope,
    status=201,
    errors=(400, 401, 403, 404, 409),
)
def create_skill(actor: Actor, body: SkillIn) -> SkillEnvelope:
    skill = catalogue.register_skill(runtime(), actor, community=body.community, code=body.code, name=body.name)
    return SkillEnvelope(skill=skill)


@endpoint(
    bp,
    "/teams",
    method="GET",
    summary="社区的志愿服务队",
    description="本社区书记、网格员，所属街道管理员。",
    example=examples.TEAMS,
    query=CommunityPageQuery,
    response=TeamPage,
    errors=(400, 401, 403, 404),
)
def list_teams(actor: Actor, query: CommunityPageQuery) -> TeamPage:
    return teams.list_teams(runtime(), actor, query.community, limit=query.limit, cursor=query.cursor)


@endpoint(
    bp,
    "/teams",
    method="POST",
    summary="新建志愿服务队（社区书记）",
    description="队长须是本社区志愿者（否则 400 指明 `leader_id`），并自动成为队员；同一社区队名重复答复 409。",
    example=examples.TEAM_ENVELOPE,
    body=TeamIn,
    response=TeamEnvelope,
    status=201,
    errors=(400, 401, 403, 404, 409),
)
def create_team(actor: Actor, body: TeamIn) -> TeamEnvelope:
    team = teams.register_team(runtime(), actor, community=body.community, name=body.name, leader_id=body.leader_id)
    return TeamEnvelope(team=team)


@endpoint(
    bp,
    "/teams/<id:team_id>/members",
    method="POST",
    summary="把志愿者加入服务队（社区书记）",
    description="须是本社区志愿者（否则 400 指明 `volunteer_id`）。已是队员：同样答复 200，不重复添加。",
    example=examples.TEAM_ENVELOPE,
    body=TeamMemberIn,
    response=TeamEnvelope,
    errors=(400, 401, 403, 404),
)
def add_team_member(actor: Actor, team_id: int, body: TeamMemberIn) -> TeamEnvelope:
    return TeamEnvelope(team=teams.add_member(runtime(), actor, team_id, body.volunteer_id))


@endpoint(
    bp,
    "/teams/<id:team_id>/leader",
    method="PUT",
    summary="指定服务队队长（社区书记）",
    description="须是本队队员（否则 400 指明 `volunteer_id`）；原队长仍是队员。",
    example=examples.TEAM_ENVELOPE,
    body=TeamMemberIn,
    response=TeamEnvelope,
    errors=(400, 401, 403, 404),
)
def set_team_leader(actor: Actor, team_id: int, body: TeamMemberIn) -> TeamEnvelope:
    return TeamEnvelope(team=teams.set_leader(runtime(), actor, team_id, body.volunteer_id))


@endpoint(
    bp,
    "/teams/<id:team_id>/members/<id:volunteer_id>",
    method="DELETE",
    summary="把志愿者移出服务队（社区书记）",
    description="答复 204；本来就不是队员也是 204。移出的是队长时，服务队不再有队长。",
    status=204,
    errors=(401, 403, 404),
)
def remove_team_member(actor: Actor, team_id: int, volunteer_id: int) -> Response:
    teams.remove_member(runtime(), actor, team_id, volunteer_id)
    return Response(status=204)


@endpoint(
    bp,
    "/property-companies",
    method="GET",
    summary="服务本社区的物业企业",
    description="本社区书记、网格员（派单给物业时要选），所属街道管理员。每家只列出调用者所在的社区。",
    example=examples.PROPERTY_COMPANIES,
    query=CommunityPageQuery,
    response=PropertyCompanyPage,
    errors=(400, 401, 403, 404),
)
def list_property_companies(actor: Actor, query: CommunityPageQuery) -> PropertyCompanyPage:
    return companies.list_property_companies(runtime(), actor, query.community, limit=query.limit, cursor=query.cursor)


@endpoint(
    bp,
    "/property-companies",
    method="POST",
    summary="登记物业企业（社区书记、街道管理员）",
    description=(
        "社区书记只能登记服务本社区的，街道管理员只能登记服务本街道社区的；其他社区答复 404。"
        "所选社区已有同名物业企业答复 409。物业人员用带 `property_company_id` 的邀请码加入。"
    ),
    example=examples.PROPERTY_COMPANY_ENVELOPE,
    body=PropertyCompanyIn,
    response=PropertyCompanyEnvelope,
    status=201,
    errors=(400, 401, 403, 404, 409),
)
def create_property_company(actor: Actor, body: PropertyCompanyIn) -> PropertyCompanyEnvelope:
    company = companies.register_property_company(runtime(), actor, name=body.name, communities=body.communities)
    return PropertyCompanyEnvelope(property_company=company)
