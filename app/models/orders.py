"""Service categories, orders, their audit trail and attachments."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base
from app.models.areas import Area
from app.models.types import created_at, fk, intpk, updated_at
from app.models.users import User
from app.workflow import OrderKind, OrderStatus, TriageLevel


class ServiceCategory(Base):
    """One entry of a community's service catalogue (买菜代购, 家电维修 …)."""

    __tablename__ = "service_categories"
    __table_args__ = (sa.UniqueConstraint("community_id", "code"),)

    id: Mapped[intpk]
    community_id: Mapped[int] = fk("areas.id", ondelete="CASCADE")
    code: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(50))
    #: Time-bank points a volunteer earns for a completed, rated order of this category.
    points: Mapped[int] = mapped_column(default=0)
    #: Hours within which an order of this category should be finished.
    sla_hours: Mapped[int] = mapped_column(default=48)
    #: Volunteer skill that makes someone a good match (e.g. "electrician").
    skill: Mapped[str | None] = mapped_column(sa.String(32))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[created_at]

    community: Mapped[Area] = relationship()


class Order(Base):
    """A resident's request (工单 / 微心愿 / 随手拍) and where it is in its lifecycle."""

    __tablename__ = "orders"
    __table_args__ = (
        sa.UniqueConstraint("community_id", "number"),
        # The secretary's queue and the volunteer pool: WHERE community_id=? AND status=? ORDER BY id DESC.
        sa.Index("ix_orders_community_id_status_id", "community_id", "status", "id"),
        sa.Index("ix_orders_resident_id_id", "resident_id", "id"),
        sa.Index("ix_orders_assignee_id_status", "assignee_id", "status"),
    )

    id: Mapped[intpk]
    #: Readable aloud on the phone: YYYYMMDD-NNNN, per community and Shanghai day.
    number: Mapped[str] = mapped_column(sa.String(16))
    community_id: Mapped[int] = fk("areas.id", ondelete="RESTRICT", index=False)
    grid_id: Mapped[int | None] = fk("areas.id", ondelete="RESTRICT", index=False, nullable=True)
    building_id: Mapped[int | None] = fk("areas.id", ondelete="RESTRICT", index=False, nullable=True)
    category_id: Mapped[int] = fk("service_categories.id", ondelete="RESTRICT")
    kind: Mapped[OrderKind]
    status: Mapped[OrderStatus]
    level: Mapped[TriageLevel | None]
    title: Mapped[str] = mapped_column(sa.String(100))
    description: Mapped[str] = mapped_column(sa.Text(), default="")
    #: The resident the order belongs to.
    resident_id: Mapped[int] = fk("users.id", ondelete="RESTRICT", index=False)
    #: Who posted it: the resident, or a grid worker posting on their behalf (代下单).
    created_by_id: Mapped[int] = fk("users.id", ondelete="RESTRICT", index=False)
    #: The volunteer (or staff member) who holds the order once assigned or claimed.
    assignee_id: Mapped[int | None] = fk("users.id", ondelete="RESTRICT", index=False, nullable=True)
    contact_phone: Mapped[str | None] = mapped_column(sa.String(20))
    building: Mapped[str] = mapped_column(sa.String(32), default="")
    unit: Mapped[str] = mapped_column(sa.String(32), default="")
    room: Mapped[str] = mapped_column(sa.String(32), default="")
    preferred_start: Mapped[datetime | None]
    preferred_end: Mapped[datetime | None]
    #: Content security said "review": stored, but the secretary should look before others see it.
    needs_review: Mapped[bool] = mapped_column(default=False)
    #: Optimistic-concurrency counter, bumped by every transition.
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    community: Mapped[Area] = relationship(foreign_keys=[community_id])
    category: Mapped[ServiceCategory] = relationship()
    resident: Mapped[User] = relationship(foreign_keys=[resident_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    events: Mapped[list[OrderEvent]] = relationship(back_populates="order", order_by="OrderEvent.id")

    def __repr__(self) -> str:
        return f"<Order {self.id} {self.number} {self.status.value}>"


class OrderEvent(Base):
    """One immutable line of an order's audit trail, written with the change it records."""

    __tablename__ = "order_events"

    id: Mapped[intpk]
    order_id: Mapped[int] = fk("orders.id", ondelete="CASCADE")
    #: None when the system acted (a scheduled job).
    actor_id: Mapped[int | None] = fk("users.id", ondelete="SET NULL", index=False, nullable=True)
    action: Mapped[str] = mapped_column(sa.String(32))
    from_status: Mapped[OrderStatus | None]
    to_status: Mapped[OrderStatus]
    note: Mapped[str] = mapped_column(sa.Text(), default="")
    #: Where the actor acted from: "api", "bot" or "job".
    channel: Mapped[str] = mapped_column(sa.String(16), default="api")
    created_at: Mapped[created_at]

    order: Mapped[Order] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class Attachment(Base):
    """An uploaded photo, stored content-addressed under var/; linked to an order once used."""

    __tablename__ = "attachments"

    id: Mapped[intpk]
    uploader_id: Mapped[int] = fk("users.id", ondelete="CASCADE")
    order_id: Mapped[int | None] = fk("orders.id", ondelete="SET NULL", nullable=True)
    #: Hex SHA-256 of the stored (EXIF-stripped) bytes; also the file name.
    sha256: Mapped[str] = mapped_column(sa.String(64))
    content_type: Mapped[str] = mapped_column(sa.String(32))
    byte_size: Mapped[int]
    created_at: Mapped[created_at]


class PointsEntry(Base):
    """One line of a volunteer's time-bank ledger; the balance is the sum."""

    __tablename__ = "points_entries"

    id: Mapped[intpk]
    user_id: Mapped[int] = fk("users.id", ondelete="CASCADE")
    delta: Mapped[int]
    reason: Mapped[str] = mapped_column(sa.String(64))
    order_id: Mapped[int | None] = fk("orders.id", ondelete="SET NULL", index=False, nullable=True)
    created_at: Mapped[created_at]
