"""The roles a user can hold in an area (docs/architecture.md, Vocabulary)."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Role(StrEnum):
    """A role a user holds in one area (docs/architecture.md, Vocabulary)."""

    RESIDENT = "resident"
    VOLUNTEER = "volunteer"
    GRID_WORKER = "grid_worker"
    SECRETARY = "secretary"
    STREET_ADMIN = "street_admin"
    PROPERTY_COMPANY = "property_company"
    MERCHANT = "merchant"


#: Roles that run a community's work and may see its residents' details.
STAFF_ROLES: Final = frozenset({Role.GRID_WORKER, Role.SECRETARY, Role.STREET_ADMIN})


ROLE_LABELS: dict[Role, str] = {
    Role.RESIDENT: "居民",
    Role.VOLUNTEER: "志愿者",
    Role.GRID_WORKER: "网格员",
    Role.SECRETARY: "社区书记",
    Role.STREET_ADMIN: "街道管理员",
    Role.PROPERTY_COMPANY: "物业",
    Role.MERCHANT: "商户",
}
