"""What the care use cases answer: staff-only shapes (no resident or volunteer answer uses them)."""

from __future__ import annotations

from datetime import date

from app.care.vocabulary import CareTag, Every, PlanStatus, VisitState
from app.core.shapes import ShanghaiTime, Shape
from app.identity.shapes import AreaRef


class CareTagOut(Shape):
    tag: CareTag
    #: 独居老人 / 高龄 …
    label: str
    note: str
    set_at: ShanghaiTime


class CareTagDefinition(Shape):
    tag: CareTag
    label: str


class CareTagVocabulary(Shape):
    items: list[CareTagDefinition]


class CareHouseholdOut(Shape):
    #: The resident's user id: what /households/{id}/… and care plans name the household by.
    household: int
    name: str
    community: AreaRef
    grid: AreaRef | None
    building: str
    unit: str
    room: str
    #: False for a resident imported from the community's sheet who never used the mini-program.
    has_wechat: bool
    tags: list[CareTagOut]


class CareHouseholdPage(Shape):
    items: list[CareHouseholdOut]
    next_cursor: str | None


class CareHouseholdTags(Shape):
    household: int
    tags: list[CareTagOut]


class CarePerson(Shape):
    id: int
    name: str


class CareVisitOut(Shape):
    id: int
    on_date: date
    due_start: ShanghaiTime
    due_end: ShanghaiTime
    #: The order the visit was placed as (null once the order was removed).
    order_id: int | None
    order_number: str | None
    state: VisitState
    state_label: str
    missed_alerted_at: ShanghaiTime | None
    late_at: ShanghaiTime | None


class CareVisitPage(Shape):
    items: list[CareVisitOut]
    next_cursor: str | None


class CarePlanOut(Shape):
    id: int
    household: CarePerson
    community: AreaRef
    volunteer: CarePerson
    category: str
    category_name: str
    every: Every
    every_label: str
    #: ISO weekday (1 = Monday … 7 = Sunday) for week / two_weeks, null for month.
    weekday: int | None
    #: Day of the month for month (the last day in a shorter month), null otherwise.
    day: int | None
    #: Shanghai time of the visit, HH:MM.
    time: str
    starts_on: date
    ends_on: date | None
    note: str
    status: PlanStatus
    status_label: str
    created_at: ShanghaiTime


class CarePlanEnvelope(Shape):
    plan: CarePlanOut


class CarePlanPage(Shape):
    items: list[CarePlanOut]
    next_cursor: str | None
