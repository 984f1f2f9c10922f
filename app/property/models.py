"""Property companies serving a community and the users who act for them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.columns import ID_TYPE, created_at, fk, intpk
from app.core.db import Base


class PropertyCompany(Base):
    """物业企业 serving a community; property matters can be dispatched to it."""

    __tablename__ = "property_companies"

    id: Mapped[intpk]
    community_id: Mapped[int] = fk("areas.id", ondelete="CASCADE")
    name: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[created_at]


class PropertyCompanyStaff(Base):
    __tablename__ = "property_company_staff"

    company_id: Mapped[int] = mapped_column(
        ID_TYPE, sa.ForeignKey("property_companies.id", ondelete="CASCADE"), primary_key=True
    )
    # The primary key leads with the group; "which groups is this person in" (asked on every order
    # read by a member) needs an index of its own, or it scans the table.
    user_id: Mapped[int] = mapped_column(
        ID_TYPE, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
