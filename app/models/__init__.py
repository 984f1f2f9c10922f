"""All models, imported here so that ``Base.metadata`` knows every table."""

from app.models.areas import PARENT_KIND, Area, AreaKind
from app.models.orders import Attachment, Order, OrderEvent, PointsEntry, ServiceCategory
from app.models.users import Household, Invitation, RoleMembership, User

__all__ = [
    "PARENT_KIND",
    "Area",
    "AreaKind",
    "Attachment",
    "Household",
    "Invitation",
    "Order",
    "OrderEvent",
    "PointsEntry",
    "RoleMembership",
    "ServiceCategory",
    "User",
]
