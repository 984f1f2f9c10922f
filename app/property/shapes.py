"""What property-company use cases answer; times in +08:00."""

from __future__ import annotations

from app.core.shapes import ShanghaiTime, Shape
from app.identity.shapes import AreaRef


class PropertyCompanyOut(Shape):
    id: int
    name: str
    #: The communities it serves among those the caller works in: a company that also serves
    #: another street's community does not reveal that community to this one's staff.
    communities: list[AreaRef]
    #: How many people act for it (accept its orders).
    staff_count: int
    created_at: ShanghaiTime


class PropertyCompanyEnvelope(Shape):
    property_company: PropertyCompanyOut


class PropertyCompanyPage(Shape):
    items: list[PropertyCompanyOut]
    next_cursor: str | None
