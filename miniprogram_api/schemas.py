"""Request bodies and query strings (pydantic); the answers are each domain's shapes
(``app/<domain>/shapes.py``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from app.core.ids import MAX_ID, MIN_ID
from app.identity.roles import Role
from app.orders.workflow import OrderKind, OrderStatus, TriageLevel

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
AreaCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]
#: A database id in a body: one the database cannot hold is a 400 naming the field, never a driver
#: error. Path ids have the same range through ``IdConverter`` (registry.py), documented as this type.
DbId = Annotated[int, Field(ge=MIN_ID, le=MAX_ID)]


class Body(BaseModel):
    """Unknown fields are refused: a typo should fail loudly, not be ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LoginIn(Body):
    code: Code = Field(description="wx.login 返回的 code")


class PhoneIn(Body):
    code: Code = Field(description="getPhoneNumber 返回的 code")


class HouseholdIn(Body):
    community: AreaCode
    grid: AreaCode | None = None
    building: Label = ""
    unit: Label = ""
    room: Label = ""


class InvitationIn(Body):
    role: Role
    area: AreaCode


class RedeemIn(Body):
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


class OrderIn(Body):
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


class OrderListQuery(Body):
    scope: Literal["mine", "assigned", "community"] = "mine"
    status: OrderStatus | None = None
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


class TriageIn(Body):
    level: TriageLevel


class DispatchIn(Body):
    volunteer_id: DbId | None = None
    team_id: DbId | None = None
    property_company_id: DbId | None = None
    pool: bool = False
    note: Note = ""


class ReasonIn(Body):
    reason: Reason


class OptionalReasonIn(Body):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""


class CompleteIn(Body):
    note: Note = ""
    photos: PhotoIds = []


class Aspects(Body):
    speed: Stars | None = None
    attitude: Stars | None = None


class RateIn(Body):
    score: Stars
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""
    aspects: Aspects | None = None


class EscalateIn(Body):
    department: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    note: Note = ""
    due_hours: Annotated[int, Field(ge=1, le=24 * 30)]


class ResolveIn(Body):
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class ReturnVisitQuery(Body):
    community: AreaCode | None = None
    done: bool = False
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str, StringConstraints(max_length=64)] | None = None


class ReturnVisitIn(Body):
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class SkillsIn(Body):
    skills: Annotated[
        list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]],
        Field(max_length=20),
    ]


class SubscriptionsIn(Body):
    accepted: Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=32)]], Field(max_length=20)]


class MarkReadIn(Body):
    ids: Annotated[list[DbId], Field(min_length=1, max_length=100)]
