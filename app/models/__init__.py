"""All models, imported here so that ``Base.metadata`` knows every table."""

from app.models.areas import PARENT_KIND, Area, AreaKind
from app.models.bot import BotBindCode, BotBindFailure, BotInbound
from app.models.notify import (
    Channel,
    ChannelPause,
    DeliveryStatus,
    JobRun,
    Notification,
    OutboxMessage,
    SubscriptionGrant,
)
from app.models.orders import (
    Attachment,
    IdempotencyKey,
    Order,
    OrderEvent,
    OrderNumberCounter,
    PointsEntry,
    Rating,
    ReturnVisit,
    ServiceCategory,
)
from app.models.teams import PropertyCompany, PropertyCompanyStaff, Team, TeamMember, UserSkill
from app.models.users import Household, Invitation, RoleMembership, User

__all__ = [
    "PARENT_KIND",
    "Area",
    "AreaKind",
    "Attachment",
    "BotBindCode",
    "BotBindFailure",
    "BotInbound",
    "Channel",
    "ChannelPause",
    "DeliveryStatus",
    "Household",
    "IdempotencyKey",
    "Invitation",
    "JobRun",
    "Notification",
    "Order",
    "OrderEvent",
    "OrderNumberCounter",
    "OutboxMessage",
    "PointsEntry",
    "PropertyCompany",
    "PropertyCompanyStaff",
    "Rating",
    "ReturnVisit",
    "RoleMembership",
    "ServiceCategory",
    "SubscriptionGrant",
    "Team",
    "TeamMember",
    "User",
    "UserSkill",
]
