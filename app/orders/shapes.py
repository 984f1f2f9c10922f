"""What order use cases answer; times in +08:00."""

from __future__ import annotations

from app.core.shapes import ShanghaiTime, Shape
from app.orders.workflow import Action, Lane, OrderKind, OrderStatus, TriageLevel
from app.uploads.shapes import PhotoRef


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


class PhotoOut(PhotoRef):
    """A photo of an order (the resident's, or the volunteer's proof of work)."""


class EventOut(Shape):
    action: Action
    action_label: str
    from_status: OrderStatus | None
    to_status: OrderStatus
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


class LaneOut(Shape):
    """三事分流: the level an order was triaged to and the lane it suggests. Only a suggestion:
    nothing is dispatched until the secretary or a grid worker does it."""

    level: TriageLevel
    #: 大事 / 小事 / 一般事
    level_label: str
    suggested: Lane
    #: What to do, in Chinese, to show beside the order (建议上报街道（吹哨报到）…).
    label: str


class LocationOut(Shape):
    """A 随手拍's coordinates (GCJ-02 degrees, as wx.getLocation gave them)."""

    latitude: float
    longitude: float


class DuplicateOut(Shape):
    """An earlier open 随手拍 that may report the same problem (app/orders/duplicate_rules.py)."""

    id: int
    number: str
    title: str
    #: 0–1: how alike the texts are, and how near, when both carry coordinates.
    similarity: float


class OriginalRef(Shape):
    """The report a duplicate was merged into."""

    id: int
    number: str


class OrderOut(Shape):
    id: int
    number: str
    community: NamedCode
    category: NamedCode
    kind: OrderKind
    status: OrderStatus
    status_label: str
    level: TriageLevel | None
    #: What the level suggests (null until triaged). Optional so that answers stored for an
    #: Idempotency-Key before lanes existed still read back.
    lane: LaneOut | None = None
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
    #: A 随手拍's coordinates: null when it has none, and for viewers who may not see them
    #: (app/orders/location.py: staff, the owner and the holder at work see them).
    location: LocationOut | None = None
    #: 合并重复: the report this one was merged into (it is then cancelled), else null.
    duplicate_of: OriginalRef | None = None
    #: Only in the answer to posting a 随手拍: earlier open reports that may be the same problem
    #: (empty when none); null elsewhere.
    likely_duplicates: list[DuplicateOut] | None = None


class OrderEnvelope(Shape):
    order: OrderOut


class OrderPage(Shape):
    items: list[OrderOut]
    next_cursor: str | None


class DuplicateList(Shape):
    """What staff see of a report's duplicates."""

    #: Open reports that may be the same problem, most similar first (the rule of posting).
    likely: list[DuplicateOut]
    #: The reports already merged into this one, oldest first.
    merged: list[OriginalRef]


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
    #: ``low_rating`` or ``dispute``; ``reason_label`` says it in Chinese.
    reason: str
    reason_label: str
    #: The stars given, for a low rating (null before any rating).
    score: int | None
    #: What the resident wrote: the rating's comment or the dispute's reason.
    comment: str
    done: bool
    #: What the resident said on the phone (empty until the call is recorded).
    note: str
    #: Points a low rating held for the volunteer, still waiting for this call's decision
    #: (``"points": "pay"|"withhold"`` when recording it); null when none are held.
    held_points: int | None
    called_at: ShanghaiTime | None
    created_at: ShanghaiTime


class ReturnVisitPage(Shape):
    items: list[ReturnVisitOut]
    next_cursor: str | None


class ContactOut(Shape):
    """A resident's contact details in full, as POST /orders/{id}/contact reveals them."""

    #: None when the order carries no number (a resident who never bound a phone).
    phone: str | None
    address: AddressOut


# -- the volunteer picker (app/orders/directory.py) -------------------------------------------------


class RatingSummary(Shape):
    """A volunteer's ratings so far: the average of their scores (null before the first), and how many."""

    average: float | None
    count: int


class VolunteerOut(Shape):
    """A volunteer as a dispatcher picks them. No phone: staff never see volunteers' numbers in a
    list (PIPL minimum scope), and the picker is found by name."""

    id: int
    name: str
    skills: list[str]
    #: The community's teams they belong to.
    teams: list[Ref]
    #: The community's orders they hold now (assigned to them, accepted or in service).
    current_load: int
    rating: RatingSummary
    #: Orders they take at once at most (their profile, else the default).
    max_active: int = 3
    #: Their mean minutes from a dispatch to accepting it; null before their first.
    response_minutes: float | None = None
    party_member: bool = False
    #: 在职党员双报到, from ``employer_unit``.
    in_service: bool = False
    employer_unit: str | None = None


class VolunteerPage(Shape):
    items: list[VolunteerOut]
    next_cursor: str | None
