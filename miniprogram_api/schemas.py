"""Request bodies and query strings (pydantic); the answers are each domain's shapes
(``app/<domain>/shapes.py``)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    field_validator,
)

from app.areas.models import AreaKind
from app.audit.models import AuditKind
from app.care.vocabulary import CareTag, Every, PlanStatus
from app.core.ids import MAX_ID, MIN_ID
from app.identity.roles import Role
from app.orders.workflow import OrderKind, OrderStatus, TriageLevel
from app.volunteers.profiles import MAX_ACTIVE_LIMIT, UNIT_HOURS_MAX

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
AreaCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]
#: A database id in a body: one the database cannot hold is a 400 naming the field, never a driver
#: error. Path ids have the same range through ``IdConverter`` (registry.py), documented as this type.
DbId = Annotated[int, Field(ge=MIN_ID, le=MAX_ID)]


class Body(BaseModel):
    """Unknown fields are refused: a typo should fail loudly, not be ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _example(body: dict[str, Any]) -> ConfigDict:
    """A body's example for /docs (merged with Body's config; tests validate it against the model)."""
    return ConfigDict(json_schema_extra={"examples": [body]})


class LoginIn(Body):
    model_config = _example({"code": "0a3Xk2000sPq1S1xYa300HuSsm3Xk20b"})

    code: Code = Field(description="wx.login 返回的 code")


class PhoneIn(Body):
    model_config = _example({"code": "e31968a7f94cc5ee25fafc2aef2773f0bb8c3937b22520eb8ee345274d00c144"})

    code: Code = Field(description="getPhoneNumber 返回的 code")


class HouseholdIn(Body):
    model_config = _example({"community": "SQ-HP", "grid": "SQ-HP-G1", "building": "3", "unit": "2", "room": "301"})

    community: AreaCode
    grid: AreaCode | None = None
    building: Label = ""
    unit: Label = ""
    room: Label = ""


class InvitationIn(Body):
    model_config = _example({"role": "volunteer", "area": "SQ-HP"})

    role: Role
    area: AreaCode
    #: Required for ``property_company`` (the staff member is linked to it on redeem), else absent.
    property_company_id: DbId | None = None
    #: Required for ``merchant`` (the staff member is linked to it on redeem), else absent.
    merchant_id: DbId | None = None


class RedeemIn(Body):
    model_config = _example({"code": "7KQ2MXRT"})

    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=4, max_length=16)]


Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=50)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^1\d{10}$")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
PhotoIds = Annotated[list[DbId], Field(max_length=9)]
Stars = Annotated[int, Field(ge=1, le=5)]


class AddressIn(Body):
    grid: AreaCode | None = None
    building: Label | None = None
    unit: Label | None = None
    room: Label | None = None


class LocationIn(Body):
    """随手拍: wx.getLocation's answer (type gcj02), in degrees; range checked, kept to 6 places."""

    latitude: Annotated[float, Field(strict=True, ge=-90, le=90, allow_inf_nan=False)]
    longitude: Annotated[float, Field(strict=True, ge=-180, le=180, allow_inf_nan=False)]


class OrderIn(Body):
    model_config = _example(
        {
            "community": "SQ-HP",
            "category": "appliance",
            "kind": "service",
            "title": "台灯不亮",
            "description": "换了灯泡也不亮",
            "address": {"grid": "SQ-HP-G1", "building": "3", "unit": "2", "room": "301"},
            "contact_phone": "13912345678",
            "preferred_start": "2026-12-02T09:00:00+08:00",
            "preferred_end": "2026-12-02T11:00:00+08:00",
            "photos": [1],
        }
    )

    community: AreaCode
    category: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    kind: OrderKind = OrderKind.SERVICE
    title: Title
    description: Description = ""
    address: AddressIn | None = None
    contact_phone: Phone | None = None
    preferred_start: AwareDatetime | None = None
    preferred_end: AwareDatetime | None = None
    photos: PhotoIds = []
    on_behalf_of: DbId | None = Field(default=None, description="代下单：居民的用户编号")
    location: LocationIn | None = Field(
        default=None, description="随手拍：问题所在位置（wx.getLocation，gcj02）；随手拍须附照片，并给出位置或楼栋"
    )


class OrderListQuery(Body):
    scope: Literal["mine", "assigned", "community"] = "mine"
    status: OrderStatus | None = None
    level: TriageLevel | None = Field(default=None, description="三事分流：只列出分流为该级别的工单（任何 scope）")
    community: AreaCode | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str, StringConstraints(max_length=64)] | None = None


class PageQuery(Body):
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str, StringConstraints(max_length=64)] | None = None


class CategoryQuery(Body):
    community: AreaCode


class EmptyIn(Body):
    """Actions that need no input take an empty object."""

    model_config = _example({})


class TriageIn(Body):
    model_config = _example({"level": "minor"})

    level: TriageLevel


class DispatchIn(Body):
    model_config = _example({"volunteer_id": 15, "note": "李师傅住得近"})

    volunteer_id: DbId | None = None
    team_id: DbId | None = None
    property_company_id: DbId | None = None
    pool: bool = False
    note: Note = ""


class ReassignIn(Body):
    """转单: a reason, and exactly one of a volunteer, a team, a property company, the pool or the
    queue (back to 待派单)."""

    model_config = _example({"reason": "志愿者生病，改派他人", "volunteer_id": 12})

    reason: Reason
    volunteer_id: DbId | None = None
    team_id: DbId | None = None
    property_company_id: DbId | None = None
    pool: bool = False
    queue: bool = False


class ReasonIn(Body):
    model_config = _example({"reason": "这个时间段没空"})

    reason: Reason


class OptionalReasonIn(Body):
    model_config = _example({"reason": "灯自己好了"})

    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""


class CompleteIn(Body):
    model_config = _example({"note": "换了开关", "photos": [2]})

    note: Note = ""
    photos: PhotoIds = []


class Aspects(Body):
    speed: Stars | None = None
    attitude: Stars | None = None


class RateIn(Body):
    model_config = _example({"score": 5, "comment": "很及时", "aspects": {"speed": 5, "attitude": 5}})

    score: Stars
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""
    aspects: Aspects | None = None


class EscalateIn(Body):
    model_config = _example({"department": "街道城管科", "note": "楼道堆物需要清理", "due_hours": 48})

    department: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    note: Note = ""
    due_hours: Annotated[int, Field(ge=1, le=24 * 30)]


class ResolveIn(Body):
    model_config = _example({"note": "城管科已清理"})

    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class ReturnVisitQuery(Body):
    community: AreaCode | None = None
    done: bool = False
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str, StringConstraints(max_length=64)] | None = None


class ReturnVisitIn(Body):
    model_config = _example({"note": "已电话回访，居民表示满意", "points": "pay"})

    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    #: Points a low rating held: pay them or withhold them (required exactly when some are held).
    points: Literal["pay", "withhold"] | None = None


class SkillsIn(Body):
    model_config = _example({"skills": ["electrician"]})

    skills: Annotated[
        list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]],
        Field(max_length=20),
    ]


SkillCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
#: HH:MM (24:00 ends a day); whether it is a time of day, and before its end, the domain checks.
Clock = Annotated[str, StringConstraints(strip_whitespace=True, min_length=4, max_length=5)]


class SlotIn(Body):
    weekday: StrictInt = Field(ge=1, le=7, description="1 = 周一 … 7 = 周日")
    start: Clock = Field(description="HH:MM，北京时间")
    end: Clock = Field(description="HH:MM，晚于 start；24:00 为当天结束")


class VolunteerProfileIn(Body):
    model_config = _example(
        {
            "skills": ["electrician", "appliance"],
            "availability": [{"weekday": 3, "start": "09:00", "end": "12:00"}],
            "max_active": 3,
            "party_member": True,
            "in_service": True,
            "employer_unit": "区税务局",
            "unit_hours": 40,
        }
    )

    skills: Annotated[list[SkillCode], Field(max_length=20, description="本社区技能库中的编码")]
    availability: Annotated[list[SlotIn], Field(max_length=28)]
    max_active: StrictInt = Field(ge=1, le=MAX_ACTIVE_LIMIT, description="同时最多手头几单；满了就不再被推荐")
    party_member: StrictBool
    # Optional beyond the contract's body: a client that sends only ``employer_unit`` (as the
    # contract has it) means an in-service party member reporting from that unit.
    in_service: StrictBool | None = Field(
        default=None, description="在职党员双报到（须为党员）；不填时，填了 `employer_unit` 即为双报到"
    )
    employer_unit: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = Field(
        default=None, description="双报到的报到单位；只有在职党员可填，且必填"
    )
    unit_hours: StrictInt | None = Field(
        default=None, ge=1, le=UNIT_HOURS_MAX, description="报到单位要求的每年服务小时数"
    )


class SkillIn(Body):
    model_config = _example({"community": "SQ-HP", "code": "sewing", "name": "缝补"})

    community: AreaCode
    code: SkillCode
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]


class SubscriptionsIn(Body):
    model_config = _example({"accepted": ["order_claimed", "order_completed"]})

    accepted: Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=32)]], Field(max_length=20)]


class MarkReadIn(Body):
    model_config = _example({"ids": [1, 2]})

    ids: Annotated[list[DbId], Field(min_length=1, max_length=100)]


# -- privacy and the audit trail ---------------------------------------------------------------------


class RevealsQuery(PageQuery):
    area: AreaCode


class AuditQuery(RevealsQuery):
    kind: AuditKind | None = None


class StatsQuery(Body):
    area: AreaCode = Field(description="社区（社区书记）或街道（街道管理员）的编码")
    # "from" is a Python keyword: the field is from_, read (and documented) as "from".
    from_: date = Field(alias="from", description="开始日期（上海时间），含当天")
    to: date = Field(description="结束日期（上海时间），含当天；不早于开始日期，最多 366 天")


class ExportRequestIn(Body):
    """A background work ledger (POST /exports/orders): the same area and range as the GET's query."""

    model_config = _example({"area": "JD-XH", "from": "2026-11-01", "to": "2026-11-30"})

    area: AreaCode = Field(description="社区（社区书记）或街道（街道管理员）的编码")
    from_: date = Field(alias="from", description="开始日期（上海时间），含当天")
    to: date = Field(description="结束日期（上海时间），含当天；不早于开始日期，最多 366 天")


# -- pickers: the volunteer directory, teams and property companies (miniprogram_api/directory.py) --

#: A team's or a company's name, as the columns hold it.
GroupName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
#: An optional filter: empty (``?skill=&q=``, what a form sends when nothing is typed) means none.
Filter = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]


class VolunteerQuery(Body):
    community: AreaCode
    skill: Filter = Field(default="", description="只列出有该技能的志愿者")
    q: Filter = Field(default="", description="按姓名（昵称）查找；不按手机号")
    team: DbId | None = Field(default=None, description="只列出本社区该服务队的成员")
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str, StringConstraints(max_length=64)] | None = None


class CommunityPageQuery(Body):
    community: AreaCode
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str, StringConstraints(max_length=64)] | None = None


class TeamIn(Body):
    model_config = _example({"community": "SQ-HP", "name": "和平党员先锋队", "leader_id": 15})

    community: AreaCode
    name: GroupName
    leader_id: DbId | None = Field(default=None, description="队长：本社区的志愿者，同时成为队员")


class PointsAdjustmentIn(Body):
    model_config = _example({"volunteer_id": 16, "delta": -5, "reason": "重复登记的服务，扣回积分"})

    volunteer_id: DbId
    #: Points to add (+) or take away (−); not 0.
    delta: Annotated[int, Field(ge=-10_000, le=10_000)]
    #: Why, in words the volunteer reads (kept as the entry's reason).
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]

    @field_validator("delta")
    @classmethod
    def _not_zero(cls, delta: int) -> int:
        if delta == 0:
            raise ValueError("delta must not be 0")
        return delta


class TeamMemberIn(Body):
    model_config = _example({"volunteer_id": 16})

    volunteer_id: DbId


class PropertyCompanyIn(Body):
    model_config = _example({"name": "阳光物业", "communities": ["SQ-HP", "SQ-YL"]})

    name: GroupName
    communities: Annotated[
        list[AreaCode],
        Field(min_length=1, max_length=50, description="服务的社区编码：社区书记选本社区，街道管理员选本街道的社区"),
    ]


# -- the time bank: merchants, rewards, redemptions --------------------------------------------------

#: Points and stock are small counts; the bound keeps them in a 32-bit column.
Count = Annotated[int, Field(ge=1, le=1_000_000)]


class MerchantIn(Body):
    model_config = _example({"community": "SQ-HP", "name": "惠民超市"})

    community: AreaCode
    name: GroupName


class RewardIn(Body):
    model_config = _example({"community": "SQ-HP", "name": "洗衣液一瓶", "points": 30, "merchant_id": 4, "stock": 20})

    community: AreaCode
    name: GroupName
    points: Count = Field(description="兑换所需积分，大于 0")
    merchant_id: DbId = Field(description="本社区的商户")
    stock: Count | None = Field(default=None, description="库存；不填为不限量")


class RedemptionIn(Body):
    model_config = _example({"reward_id": 9})

    reward_id: DbId


# -- a user's rights: logout (export and DELETE /me take no body) ------------------------------------


class LogoutIn(Body):
    model_config = _example({"all": True})

    #: Strict: logging out every device is not something a "yes" or a 1 should do by accident.
    all: StrictBool = Field(default=False, description="true：退出所有设备（本账号的全部登录凭证失效）")


def _plain_day(value: object) -> object:
    # pydantic would take "2026-11-01T00:00:00+08:00" for a day too: a report's day is a day.
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("expected a day as YYYY-MM-DD")
    return value


#: A day in Asia/Shanghai, as YYYY-MM-DD and nothing else.
Day = Annotated[date, BeforeValidator(_plain_day)]


class VolunteerHoursQuery(Body):
    area: AreaCode = Field(description="社区编码（本社区书记），或街道编码（本街道管理员：所辖全部社区）")
    date_from: Day = Field(alias="from", description="开始日期（上海时间，YYYY-MM-DD）")
    date_to: Day = Field(alias="to", description="结束日期（含当天）；区间最长 366 天")
    by: Literal["volunteer", "team", "employer_unit"] = "volunteer"
    format: Literal["json", "xlsx"] = "json"


class DayRangeQuery(Body):
    date_from: Day = Field(alias="from", description="开始日期（上海时间，YYYY-MM-DD）")
    date_to: Day = Field(alias="to", description="结束日期（含当天）；区间最长 366 天")


# -- the area tree (miniprogram_api/areas.py) --------------------------------------------------------

#: A new area's code: letters, digits, "-" and "_", starting with a letter or digit (what the CLI,
#: Excel sheets and URLs carry unchanged).
NewAreaCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$")]
AreaName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]


class AreaListQuery(Body):
    parent: AreaCode | None = Field(default=None, description="列出该区域的下级；不填则列出本人负责的区域")


class AreaIn(Body):
    model_config = _example({"kind": "grid", "code": "WG-HP-03", "name": "和平三网格", "parent": "SQ-HP"})

    kind: AreaKind
    code: NewAreaCode
    name: AreaName
    parent: AreaCode


class AreaRenameIn(Body):
    model_config = _example({"name": "和平东网格"})

    name: AreaName


# -- care (关爱): tags on households and care plans (miniprogram_api/care.py) -------------------------

CareNote = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
#: A Shanghai wall-clock time, HH:MM (24-hour).
ClockTime = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class CareTagIn(Body):
    tag: CareTag
    note: CareNote = ""


class CareTagsIn(Body):
    model_config = _example({"tags": [{"tag": "living_alone", "note": "子女在外地，每周通话一次"}]})

    tags: Annotated[list[CareTagIn], Field(max_length=len(CareTag), description="住户的全部标签；空列表即全部清除")]


class CareHouseholdQuery(PageQuery):
    area: AreaCode = Field(description="社区或网格的编码")
    tag: CareTag | None = None


class CarePlanIn(Body):
    model_config = _example(
        {
            "household": 8,
            "volunteer": 15,
            "category": "visit",
            "every": "week",
            "weekday": 2,
            "time": "09:30",
            "starts_on": "2026-12-08",
            "note": "陪张阿姨聊聊天，看看药够不够",
        }
    )

    household: DbId = Field(description="住户（居民的用户编号）")
    volunteer: DbId = Field(description="本社区志愿者的用户编号")
    category: Code = Field(description="本社区的服务类别编码")
    every: Every
    weekday: Annotated[int, Field(ge=1, le=7)] | None = Field(default=None, description="每周、每两周：1 周一…7 周日")
    day: Annotated[int, Field(ge=1, le=31)] | None = Field(default=None, description="每月：几号（小月取月末）")
    time: ClockTime = Field(description="探访时间（上海时间），HH:MM")
    starts_on: date
    ends_on: date | None = None
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""


class CarePlanPatchIn(Body):
    model_config = _example({"status": "paused"})

    status: Literal["active", "paused"] | None = Field(default=None, description="paused 暂停，active 恢复")
    volunteer: DbId | None = Field(default=None, description="改由本社区的另一位志愿者探访")


class CarePlanQuery(PageQuery):
    area: AreaCode = Field(description="社区或网格的编码")
    status: PlanStatus | None = None


# -- 民情收集 (miniprogram_api/opinions.py) ----------------------------------------------------------

#: What a resident said, as staff wrote it down.
OpinionText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
StaffIds = Annotated[list[DbId], Field(min_length=1, max_length=30)]
HouseholdIds = Annotated[list[DbId], Field(max_length=200)]


class OpinionItemIn(Body):
    text: OpinionText
    category: Label = Field(default="", description="议题分类（自由填写，如 环境卫生），不是服务类别")


def _distinct(ids: list[int]) -> list[int]:
    if len(set(ids)) != len(ids):
        raise ValueError("编号不能重复")
    return ids


class OpinionVisitIn(Body):
    model_config = _example(
        {
            "community": "SQ-HP",
            "grid": "SQ-HP-G1",
            "kind": "home_visit",
            "held_at": "2026-12-01T15:00:00+08:00",
            "place": "阳光小区 3 栋",
            "staff": [3, 5],
            "households": [8],
            "residents_met": 2,
            "items": [
                {"text": "楼道灯坏了一个月，晚上上下楼看不见", "category": "设施维修"},
                {"text": "希望小区多设几张休息长椅", "category": "环境"},
            ],
        }
    )

    community: AreaCode
    grid: AreaCode | None = None
    kind: Literal["home_visit", "tea_talk", "reception_day"] = Field(
        description="home_visit 三访三问、tea_talk 吃茶话事、reception_day 接待日"
    )
    held_at: AwareDatetime = Field(description="走访时间，不能晚于现在")
    place: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    staff: StaffIds = Field(description="在场的社区工作人员（用户编号），须在本社区任职")
    households: HouseholdIds = Field(default=[], description="走访的住户编号，须属于本社区")
    residents_met: Annotated[int, Field(ge=1, le=10000)] = Field(description="见到的居民人数（至少 1：民情总有人说）")
    items: Annotated[list[OpinionItemIn], Field(min_length=1, max_length=50)]

    _staff_distinct = field_validator("staff", "households")(_distinct)


class OpinionVisitQuery(Body):
    area: AreaCode = Field(description="社区、网格或街道（街道管理员）的编码")
    # "from" is a Python keyword: the field is from_, read (and documented) as "from".
    from_: date | None = Field(default=None, alias="from", description="开始日期（上海时间），含当天")
    to: date | None = Field(default=None, description="结束日期（上海时间），含当天")
    kind: Literal["home_visit", "tea_talk", "reception_day"] | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str, StringConstraints(max_length=64)] | None = None


class OpinionOrderIn(Body):
    model_config = _example({"category": "repair", "on_behalf_of": 8, "title": "楼道灯不亮"})

    category: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    kind: OrderKind = OrderKind.SERVICE
    on_behalf_of: DbId | None = Field(default=None, description="代下单：居民的用户编号")
    title: Title | None = Field(default=None, description="不填则取这条民情的开头")


class DuplicateOfIn(Body):
    """合并重复: the report this one repeats."""

    model_config = _example({"original": 41, "note": "同一盏路灯"})

    original: DbId
    note: Note = ""


# -- property surveys (miniprogram_api/surveys.py) -----------------------------------------------

#: A survey score: an integer 1–5, never "5" or 4.5 (a slider sends a number).
SurveyScore = Annotated[StrictInt, Field(ge=1, le=5)]
#: The month evaluated, as the survey rows hold it.
Month = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]


class SurveyScores(Body):
    """One score per question of app/surveys/questions.py (a test keeps the fields equal)."""

    cleaning: SurveyScore = Field(description="保洁卫生")
    greening: SurveyScore = Field(description="绿化养护")
    security: SurveyScore = Field(description="秩序安保")
    repairs: SurveyScore = Field(description="维修响应")
    attitude: SurveyScore = Field(description="服务态度")


class SurveyResponseIn(Body):
    model_config = _example(
        {"scores": {"cleaning": 5, "greening": 4, "security": 4, "repairs": 3, "attitude": 5}, "comment": "电梯修得慢"}
    )

    scores: SurveyScores
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""


class EvaluationQuery(Body):
    area: AreaCode = Field(description="社区（社区书记）或街道（街道管理员）的编码")
    month: Month = Field(description="测评月份 YYYY-MM（上海时间）")


class StreetQuery(Body):
    area: AreaCode = Field(description="街道编码（该街道的管理员）")
