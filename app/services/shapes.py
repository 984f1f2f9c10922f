"""What services hand back: pydantic models that the API serialises as they are.

Times are answered in Asia/Shanghai (+08:00), as API.md fixes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer

from app.clock import to_shanghai

#: A datetime answered with a +08:00 offset.
ShanghaiTime = Annotated[datetime, PlainSerializer(lambda moment: to_shanghai(moment).isoformat(), return_type=str)]


class Shape(BaseModel):
    model_config = ConfigDict(frozen=True)


class AreaRef(Shape):
    code: str
    name: str
    kind: str


class RoleOut(Shape):
    role: str
    area: AreaRef


class HouseholdOut(Shape):
    community: AreaRef
    grid: AreaRef | None
    building: str
    unit: str
    room: str
    verified: bool


class UserOut(Shape):
    id: int
    nickname: str
    roles: list[RoleOut]


class ProfileOut(UserOut):
    phone: str | None
    household: HouseholdOut | None
    points_balance: int
    skills: list[str] = []


class LoginOut(Shape):
    token: str
    expires_in: int
    user: UserOut


class PhoneOut(Shape):
    phone: str


class InvitationOut(Shape):
    code: str
    role: str
    area: AreaRef
    expires_at: ShanghaiTime


class Ref(Shape):
    """A person, team or company as shown on an order."""

    id: int
    name: str


class NamedCode(Shape):
    code: str
    name: str


class AddressOut(Shape):
    grid: NamedCode | None
    building: str
    unit: str
    #: "***" for viewers who may not know where the resident lives.
    room: str


class PhotoOut(Shape):
    id: int
    url: str


class EventOut(Shape):
    action: str
    action_label: str
    from_status: str | None
    to_status: str
    actor: Ref | None
    channel: str
    note: str
    at: ShanghaiTime


class RatingOut(Shape):
    score: int
    speed: int | None
    attitude: int | None
    comment: str


class EscalationOut(Shape):
    department: str
    due_at: ShanghaiTime | None


class OrderOut(Shape):
    id: int
    number: str
    community: NamedCode
    category: NamedCode
    kind: str
    status: str
    status_label: str
    level: str | None
    title: str
    description: str
    address: AddressOut
    #: Masked (138****5678) for viewers who may not see it in full.
    contact_phone: str | None
    resident: Ref
    #: Who posted it: differs from ``resident`` when a grid worker posted on their behalf (代下单).
    posted_by: Ref
    assignee: Ref | None
    team: Ref | None
    property_company: Ref | None
    photos: list[PhotoOut]
    completion_photos: list[PhotoOut]
    completion_note: str
    needs_review: bool
    preferred_start: ShanghaiTime | None
    preferred_end: ShanghaiTime | None
    escalation: EscalationOut | None
    rating: RatingOut | None
    created_at: ShanghaiTime
    updated_at: ShanghaiTime
    #: The audit trail, oldest first; only in the detail view.
    events: list[EventOut] | None = None


class OrderEnvelope(Shape):
    order: OrderOut


class OrderPage(Shape):
    items: list[OrderOut]
    next_cursor: str | None


class CategoryOut(Shape):
    code: str
    name: str
    points: int
    sla_hours: int
    skill: str | None


class CategoryList(Shape):
    items: list[CategoryOut]


class CandidateOut(Shape):
    volunteer_id: int
    name: str
    score: float
    reasons: list[str]


class CandidateList(Shape):
    items: list[CandidateOut]


class ReturnVisitOut(Shape):
    id: int
    order_id: int
    order_number: str
    reason: str
    done: bool
    note: str
    called_at: ShanghaiTime | None
    created_at: ShanghaiTime


class ReturnVisitPage(Shape):
    items: list[ReturnVisitOut]
    next_cursor: str | None


class GrantsOut(Shape):
    #: template key → one-time messages still allowed
    remaining: dict[str, int]


class NotificationOut(Shape):
    id: int
    template_key: str
    title: str
    body: str
    order_id: int | None
    read: bool
    created_at: ShanghaiTime


class NotificationPage(Shape):
    items: list[NotificationOut]
    next_cursor: str | None
    unread: int


class MarkedOut(Shape):
    marked: int
