"""Partner merchants (商业合伙人) of a community, the rewards they give for points, and the
redemptions: a one-time code a volunteer shows at the merchant's till. (The ledger itself is in
``ledger.py``.)"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.columns import ID_TYPE, created_at, fk, intpk
from app.core.db import Base


class Merchant(Base):
    """A shop or service of one community that takes points for its rewards."""

    __tablename__ = "merchants"
    # Two merchants of one name in a community would be one double tap, and nobody could tell
    # them apart in the catalogue.
    __table_args__ = (sa.UniqueConstraint("community_id", "name"),)

    id: Mapped[intpk]
    community_id: Mapped[int] = fk("areas.id", ondelete="CASCADE", index=False)
    name: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[created_at]


class MerchantStaff(Base):
    """A user who verifies the merchant's redemption codes."""

    __tablename__ = "merchant_staff"

    merchant_id: Mapped[int] = mapped_column(
        ID_TYPE, sa.ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True
    )
    # Account deletion and the export ask "which merchants is this person with".
    user_id: Mapped[int] = mapped_column(
        ID_TYPE, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Reward(Base):
    """Something a volunteer of the community may take for points, given by one of its merchants."""

    __tablename__ = "rewards"
    __table_args__ = (
        sa.CheckConstraint("points > 0", name="points_positive"),
        sa.CheckConstraint("stock IS NULL OR stock >= 0", name="stock_not_negative"),
        # The catalogue: a community's rewards in id order.
        sa.Index("ix_rewards_community_id_id", "community_id", "id"),
    )

    id: Mapped[intpk]
    community_id: Mapped[int] = fk("areas.id", ondelete="CASCADE", index=False)
    merchant_id: Mapped[int] = fk("merchants.id", ondelete="RESTRICT")
    name: Mapped[str] = mapped_column(sa.String(64))
    #: The price in points.
    points: Mapped[int]
    #: How many are left; None: as many as are asked for. Taken by a conditional UPDATE.
    stock: Mapped[int | None]
    #: A withdrawn reward leaves the catalogue; its codes already issued stay valid.
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = fk("users.id", ondelete="SET NULL", index=False, nullable=True)
    created_at: Mapped[created_at]


class RedemptionStatus(StrEnum):
    ISSUED = "issued"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class Redemption(Base):
    """A reward taken for points: the code the merchant verifies once, before it expires.

    The points left the ledger when it was issued (``spend_entry_id``); an expired or cancelled
    one gives them back (``refund_entry_id``)."""

    __tablename__ = "redemptions"
    __table_args__ = (
        # "My redemptions", newest first.
        sa.Index("ix_redemptions_user_id_id", "user_id", "id"),
        # The expiry job scans only the codes still open.
        sa.Index(
            "ix_redemptions_issued_expires_at",
            "expires_at",
            postgresql_where=sa.text("status = 'issued'"),
            sqlite_where=sa.text("status = 'issued'"),
        ),
    )

    id: Mapped[intpk]
    #: What the volunteer reads out or shows; unguessable, one-time (app/timebank/codes.py).
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    user_id: Mapped[int] = fk("users.id", ondelete="CASCADE", index=False)
    reward_id: Mapped[int] = fk("rewards.id", ondelete="RESTRICT")
    #: The price paid, as it was when the code was issued.
    points: Mapped[int]
    status: Mapped[RedemptionStatus]
    expires_at: Mapped[datetime]
    spend_entry_id: Mapped[int] = fk("points_entries.id", ondelete="RESTRICT", index=False)
    refund_entry_id: Mapped[int | None] = fk("points_entries.id", ondelete="RESTRICT", index=False, nullable=True)
    #: The merchant's staff member who verified it.
    redeemed_by_id: Mapped[int | None] = fk("users.id", ondelete="SET NULL", index=False, nullable=True)
    redeemed_at: Mapped[datetime | None]
    #: When it expired or was cancelled (and the points came back).
    settled_at: Mapped[datetime | None]
    created_at: Mapped[created_at]
