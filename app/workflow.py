"""Order vocabulary: statuses, kinds, triage levels and roles (pure; no database, no Flask)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A role a user holds in one area (DESIGN.md vocabulary)."""

    RESIDENT = "resident"
    VOLUNTEER = "volunteer"
    GRID_WORKER = "grid_worker"
    SECRETARY = "secretary"
    STREET_ADMIN = "street_admin"
    PROPERTY_COMPANY = "property_company"
    MERCHANT = "merchant"


#: Roles that run a community's work and may see its residents' details.
STAFF_ROLES = frozenset({Role.GRID_WORKER, Role.SECRETARY, Role.STREET_ADMIN})


class OrderKind(StrEnum):
    SERVICE = "service"
    WISH = "wish"  # 微心愿
    REPORT = "report"  # 随手拍: a problem in a public space


class TriageLevel(StrEnum):
    """三事分流."""

    MAJOR = "major"
    MINOR = "minor"
    ROUTINE = "routine"


class OrderStatus(StrEnum):
    SUBMITTED = "submitted"
    ASSIGNED = "assigned"
    POOLED = "pooled"
    ACCEPTED = "accepted"
    IN_SERVICE = "in_service"
    COMPLETED = "completed"
    CLOSED = "closed"
    REJECTED = "rejected"
    ESCALATED = "escalated"
    CANCELLED = "cancelled"
