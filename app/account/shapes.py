"""The profile a user sees of themselves, and the export of everything Linli holds about them."""

from __future__ import annotations

from pydantic import Field

from app.audit.models import AuditKind
from app.care.shapes import CareTagOut
from app.core.shapes import ShanghaiTime, Shape
from app.identity.shapes import HouseholdOut, RoleOut, UserOut
from app.notify.shapes import NotificationOut
from app.orders.shapes import OrderOut, Ref
from app.timebank.shapes import PointsEntryOut, RedemptionOut
from app.uploads.shapes import PhotoRef
from app.volunteers.shapes import VolunteerProfileOut


class ProfileOut(UserOut):
    phone: str | None
    household: HouseholdOut | None
    points_balance: int
    skills: list[str]
    #: A volunteer's registry entry (as ``GET /me/volunteer``); null for anyone not a volunteer.
    volunteer: VolunteerProfileOut | None = None


# -- the export (GET /me/export) -------------------------------------------------------------------
# Every section of what Linli holds about the caller. The answer is streamed (app/account/export.py)
# in the field order below; AccountExport documents it whole and the tests validate streams with it.


class ExportProfile(Shape):
    id: int
    nickname: str
    #: In full: it is the caller's own.
    phone: str | None
    #: The caller's identifiers at WeChat: mini-program openid and unionid.
    openid: str | None
    unionid: str | None
    created_at: ShanghaiTime
    last_login_at: ShanghaiTime | None


class ExportFollower(Shape):
    oa_openid: str
    unionid: str | None
    following: bool
    updated_at: ShanghaiTime


class ExportBot(Shape):
    """The Official Account binding (the bot, template messages)."""

    oa_openid: str | None
    following: bool
    #: When WeChat reported that they turned off this account's template messages.
    blocked_at: ShanghaiTime | None
    #: What ``user/info`` told us of their Official Account follower, matched by openid or unionid.
    followers: list[ExportFollower]


class ExportGroup(Shape):
    """A volunteer team, a property company or a merchant the caller belongs to."""

    id: int
    name: str
    #: The community's code.
    community: str


class ExportRating(Shape):
    order_id: int
    score: int
    speed: int | None
    attitude: int | None
    comment: str
    at: ShanghaiTime


class ExportUpload(PhotoRef):
    """A photo the caller uploaded: its metadata and where to fetch it, not its bytes."""

    purpose: str
    order_id: int | None
    content_type: str
    byte_size: int
    created_at: ShanghaiTime


class ExportAuditEntry(Shape):
    """An act on the caller's data: who saw their contact, who granted them a role, who verified
    their household (PIPL: a right to know who processed it)."""

    id: int
    kind: AuditKind
    #: The community (or street) it was filed under, by code.
    area: str
    actor: Ref | None
    order_id: int | None
    #: The role granted, or the capacity the contact was seen in, as stored (``secretary``, ``assignee`` …).
    detail: str
    at: ShanghaiTime


class ExportHead(Shape):
    """The export's sections of bounded size, written first."""

    #: The layout's name and version: ``linli-export/1``.
    format: str
    generated_at: ShanghaiTime
    profile: ExportProfile
    roles: list[RoleOut]
    #: In full (the room too): the caller's own address.
    household: HouseholdOut | None
    skills: list[str]
    #: The volunteer registry entry (slots, capacity, party membership, employer unit); null for
    #: someone who never was a volunteer.
    volunteer: VolunteerProfileOut | None = None
    teams: list[ExportGroup]
    property_companies: list[ExportGroup]
    #: Merchants whose redemption codes the caller verifies.
    merchants: list[ExportGroup]
    bot: ExportBot
    #: Subscribe-message grants left, by template key.
    subscriptions: dict[str, int]
    points_balance: int
    #: The care tags staff put on the caller's household (独居老人 …), with their notes: the right
    #: of access. Nobody else but the community's staff sees them.
    care_tags: list[CareTagOut] = Field(default_factory=list)


class AccountExport(ExportHead):
    """Everything Linli holds about the caller. The lists after the head are streamed in id order."""

    #: Orders the caller owns or posted (代下单), with their audit trails, as the caller may see
    #: them: their own in full, others' residents' phone and room masked.
    orders: list[OrderOut]
    ratings_given: list[ExportRating]
    #: Ratings of the caller's work as a volunteer (the rater is not named).
    ratings_received: list[ExportRating]
    notifications: list[NotificationOut]
    #: Each entry as ``GET /points`` shows it.
    points: list[PointsEntryOut]
    #: Rewards the caller took for points, with their codes (used, expired and cancelled ones too).
    redemptions: list[RedemptionOut]
    uploads: list[ExportUpload]
    audit: list[ExportAuditEntry]


# -- the service record (GET /me/service-record) ------------------------------------------------------


class ServedOrder(Shape):
    order_id: int
    number: str
    category: str
    #: The Shanghai day the service was recorded (its first counting ledger entry in the range).
    date: str
    minutes: int
    hours: float
    #: Earned + released − reversed in the range.
    points: int


class ServiceRecordOut(Shape):
    """服务证明: what a volunteer served in a range, to print or show an employer unit."""

    name: str
    communities: list[str]
    teams: list[str]
    #: The 双报到 unit (null when not 双报到) and the hours a year it asks.
    employer_unit: str | None
    unit_hours: int | None
    date_from: str
    date_to: str
    orders: list[ServedOrder]
    total_orders: int
    total_minutes: int
    total_hours: float
    total_points: int
    #: The Shanghai day the record was made.
    issued: str
