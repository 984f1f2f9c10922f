"""What the community's own records answer (the audit trail so far)."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from app.areas.models import AreaKind
from app.audit.models import AuditKind
from app.community.opinions.shapes import OpinionStats
from app.core.shapes import ShanghaiTime, Shape


class AuditPerson(Shape):
    id: int
    name: str


class AuditOrder(Shape):
    id: int
    number: str


class AuditEntryOut(Shape):
    id: int
    kind: AuditKind
    #: 查看联系方式 / 授予角色 / 核实住址
    kind_label: str
    #: The community (or street) the act concerns, by code.
    area: str
    #: Who did it; null for an operator at the command line.
    actor: AuditPerson | None
    #: Whose contact details, whose role, whose household.
    subject: AuditPerson | None
    order: AuditOrder | None
    #: The role granted, or the capacity the contact was seen in, in Chinese (社区书记 …).
    detail: str
    at: ShanghaiTime


class AuditPage(Shape):
    items: list[AuditEntryOut]
    next_cursor: str | None


class HoursFigures(Shape):
    #: Service minutes from the ledger (what adds up exactly) and the same as hours, to 0.1.
    minutes: int
    hours: float
    #: Orders whose service minutes in the range still count (a reversed one does not).
    orders: int
    #: Points earned by service: earned + released − reversed.
    service_points: int
    #: Secretaries' adjustments (积分调整), apart.
    adjusted_points: int


class BelowUnitHours(Shape):
    volunteer_id: int
    name: str
    hours: float
    required_hours: float


class HoursRow(HoursFigures):
    #: The volunteer's name, the team's, the unit's, or 不在服务队 / 非双报到.
    key: str
    #: by=volunteer: whose row it is.
    volunteer_id: int | None
    #: How many volunteers the row counts.
    volunteers: int
    #: by=employer_unit: the hours the unit asks of each member over the range (yearly hours ×
    #: days / 365), and who did fewer.
    required_hours: float | None
    below: list[BelowUnitHours] | None


class HoursTotals(HoursFigures):
    volunteers: int


class VolunteerHoursOut(Shape):
    area: str
    area_name: str
    #: The range, Shanghai days, ``to`` included.
    date_from: str
    date_to: str
    days: int
    by: str
    rows: list[HoursRow]
    #: Each volunteer once. by=team: a volunteer in two teams is in both rows (see ``rule``).
    totals: HoursTotals
    #: How the rows relate to the totals, in Chinese.
    rule: str


class AreaRef(Shape):
    code: str
    name: str
    kind: AreaKind


class AreaOut(AreaRef):
    #: The parent's code; null for a street.
    parent: str | None
    #: A retired area takes no new households or orders; it stays for what points at it.
    retired: bool
    #: From the street down to this area's parent.
    path: list[AreaRef]


class AreaEnvelope(Shape):
    area: AreaOut


class AreaCounts(AreaRef):
    retired: bool
    #: Households living in it.
    households: int
    #: Volunteers of its community living in it (for a community: all its volunteers).
    volunteers: int
    #: Orders in it not yet closed, rejected or cancelled.
    open_orders: int


class AreaList(Shape):
    #: The area whose children these are; null for the list of the caller's own areas.
    parent: AreaRef | None
    items: list[AreaCounts]


# -- statistics (app/community/stats.py) ---------------------------------------------------------


class Spread(Shape):
    """A duration's nearest-rank median and 90th percentile."""

    median: float
    p90: float


class Figures(Shape):
    """The figures of one group of orders: those created in the range (see docs/api.md)."""

    orders: int
    by_status: dict[str, int]
    by_category: dict[str, int]
    dispatch_minutes: Spread | None
    accept_minutes: Spread | None
    finish_hours: Spread | None
    sla_breaches: int
    #: 随手拍 merged into another report (合并重复). They stay in ``orders`` and in
    #: ``by_status.cancelled`` (each is a post a resident made); ``orders − merged_duplicates`` is
    #: the number of distinct problems. Optional so that older answers still read back.
    merged_duplicates: int = 0
    ratings: int
    satisfaction: float | None


class Totals(Figures):
    #: The same figures for the as-long period just before the range (环比).
    previous: Figures


class AreaFigures(Figures):
    #: The grid's (or community's) code; null for the orders of no grid.
    area: str | None


class VolunteerFigures(Figures):
    volunteer_id: int
    name: str


class StatsOut(Shape):
    # "from" is a Python keyword: the field is from_, answered (and documented) as "from".
    model_config = ConfigDict(frozen=True, serialize_by_alias=True)

    area: str
    #: The range as asked, Shanghai dates, ``to`` included.
    from_: str = Field(alias="from")
    to: str
    totals: Totals
    by_grid: list[AreaFigures]
    #: Only for a street: each of its communities.
    by_community: list[AreaFigures] | None
    by_volunteer: list[VolunteerFigures]
    #: 民情收集: the visits held in the range (docs/api.md, 民情收集).
    opinions: OpinionStats
