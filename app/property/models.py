"""Property companies, the communities each serves, and the users who act for them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.columns import ID_TYPE, created_at, intpk
from app.core.db import Base


class PropertyCompany(Base):
    """物业企业; property matters of the communities it serves can be dispatched to it.

    A company serves one or more communities (``PropertyCompanyCommunity``): one firm often looks
    after estates in several communities of a street, and is one company to dispatch to in each.
    """

    __tablename__ = "property_companies"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[created_at]


class PropertyCompanyCommunity(Base):
    """A community the company serves: its orders may be dispatched to the company."""

    __tablename__ = "property_company_communities"

    company_id: Mapped[int] = mapped_column(
        ID_TYPE, sa.ForeignKey("property_companies.id", ondelete="CASCADE"), primary_key=True
    )
    # The primary key answers "does this company serve C" (every dispatch); the picker asks "which
    # companies serve C", which needs the community first.
    community_id: Mapped[int] = mapped_column(
        ID_TYPE, sa.ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True, index=True
    )


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
