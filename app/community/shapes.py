"""What the community's own records answer (the audit trail so far)."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from app.audit.models import AuditKind
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
