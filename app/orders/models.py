"""Orders, their audit trail, ratings, return visits and order numbers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.areas.models import Area, ServiceCategory
from app.core.columns import ID_TYPE, created_at, fk, intpk, updated_at
from app.core.db import Base
from app.identity.models import User
from app.orders.durations import duration_column
from app.orders.workflow import Action, OrderKind, OrderStatus, TriageLevel

#: Finished orders still holding personal data, by how they finished: the predicates of the
#: retention indexes, which the retention job's queries repeat word for word (as literals, not
#: bound values: only then can SQLite, and PostgreSQL's generic plans, prove an index applies).
RETENTION_CLOSED = "status = 'closed' AND anonymised_at IS NULL"
RETENTION_ENDED = "status IN ('cancelled', 'rejected') AND anonymised_at IS NULL"
#: The predicate of the 随手拍 duplicate index (app/orders/duplicates.py repeats it as a literal).
REPORTS_ONLY = "kind = 'report'"
#: Coordinates are kept to 6 decimal places of a degree (about 0.1 m).
COORDINATE = sa.Numeric(9, 6)


class Order(Base):
    """A resident's request (工单 / 微心愿 / 随手拍) and where it is in its lifecycle."""

    __tablename__ = "orders"
    __table_args__ = (
        sa.UniqueConstraint("community_id", "number"),
        # The secretary's queue and the volunteer pool: WHERE community_id=? AND status=? ORDER BY id DESC.
        sa.Index("ix_orders_community_id_status_id", "community_id", "status", "id"),
        sa.Index("ix_orders_resident_id_id", "resident_id", "id"),
        sa.Index("ix_orders_assignee_id_status", "assignee_id", "status"),
        # "mine" also lists what I posted for others (代下单), newest first.
        sa.Index("ix_orders_created_by_id_id", "created_by_id", "id"),
        # A community's list without a status filter, newest first: without it the scan walks the
        # primary key backwards past every other community's newer orders.
        sa.Index("ix_orders_community_id_id", "community_id", "id"),
        # Statistics (app/community/stats.py): a community's orders created in a range of days. On
        # PostgreSQL it carries updated_at and version, so that the check of whether a past
        # period's kept figures still hold (app/community/stats_cache.py) reads the index alone.
        sa.Index(
            "ix_orders_community_id_created_at",
            "community_id",
            "created_at",
            postgresql_include=["updated_at", "version"],
        ),
        # A community's orders of one triage level (?level=major), newest first, without walking
        # past its other levels.
        sa.Index("ix_orders_community_id_level_id", "community_id", "level", "id"),
        # The reminder jobs scan open orders by status and age.
        sa.Index("ix_orders_status_updated_at", "status", "updated_at"),
        # One small index per reminder window (app.orders.reminders.WINDOWS): only the orders in
        # that status, ordered by the moment the window counts from.
        *(
            sa.Index(
                f"ix_orders_{name}",
                moment,
                postgresql_where=sa.text(where),
                sqlite_where=sa.text(where),
            )
            for name, moment, where in (
                ("assigned_dispatched_at", "dispatched_at", "status = 'assigned'"),
                ("held_due_at", "due_at", "status IN ('accepted', 'in_service')"),
                ("completed_completed_at", "completed_at", "status = 'completed'"),
                ("escalated_escalation_due_at", "escalation_due_at", "status = 'escalated'"),
                (
                    "open_preferred_start",
                    "preferred_start",
                    "status IN ('assigned', 'accepted', 'in_service') AND preferred_start IS NOT NULL",
                ),
            )
        ),
        # The retention job (app/orders/anonymise.py): finished orders not yet anonymised, by the
        # moment they finished. Anonymising takes a row out, so a run reads only the rows due,
        # however many orders were anonymised before. The status leads so that SQLite, which has
        # no statistics, prefers these to ix_orders_status_updated_at (which holds every order).
        sa.Index(
            "ix_orders_retention_closed_at",
            "status",
            "closed_at",
            postgresql_where=sa.text(RETENTION_CLOSED),
            sqlite_where=sa.text(RETENTION_CLOSED),
        ),
        sa.Index(
            "ix_orders_retention_ended_at",
            "status",
            "updated_at",
            postgresql_where=sa.text(RETENTION_ENDED),
            sqlite_where=sa.text(RETENTION_ENDED),
        ),
        # Likely duplicates of a new 随手拍 (app/orders/duplicates.py): the reports of one grid and
        # category created since the window's start. Only reports are in it, so the lookup reads
        # candidate rows and nothing else, however many service orders the community has.
        sa.Index(
            "ix_orders_report_grid_category_created_at",
            "community_id",
            "grid_id",
            "category_id",
            "created_at",
            postgresql_where=sa.text(REPORTS_ONLY),
            sqlite_where=sa.text(REPORTS_ONLY),
        ),
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
    #: The person holding the order: the volunteer it was dispatched to or who claimed it, or the
    #: member of the team / property company who accepted it.
    assignee_id: Mapped[int | None] = fk("users.id", ondelete="RESTRICT", index=False, nullable=True)
    #: Set when dispatched to a volunteer team; any member may accept, and then becomes assignee.
    team_id: Mapped[int | None] = fk("teams.id", ondelete="RESTRICT", nullable=True)
    #: Set when dispatched to a property company; any of its staff may accept.
    property_company_id: Mapped[int | None] = fk("property_companies.id", ondelete="RESTRICT", nullable=True)
    contact_phone: Mapped[str | None] = mapped_column(sa.String(20))
    building: Mapped[str] = mapped_column(sa.String(32), default="")
    unit: Mapped[str] = mapped_column(sa.String(32), default="")
    room: Mapped[str] = mapped_column(sa.String(32), default="")
    preferred_start: Mapped[datetime | None]
    preferred_end: Mapped[datetime | None]
    #: Content security said "review" (or could not be asked): the secretary should look first.
    needs_review: Mapped[bool] = mapped_column(default=False)
    completion_note: Mapped[str] = mapped_column(sa.Text(), default="")
    #: 吹哨报到: the street department it was referred to, and by when it must answer.
    escalated_department: Mapped[str | None] = mapped_column(sa.String(64))
    escalation_due_at: Mapped[datetime | None]
    last_urged_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    #: When the work should be done: the acceptance plus the category's SLA at that moment (the
    #: overdue reminder and the digest count from it).
    due_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    #: Generated by the database from the moments above (app/orders/durations.py): how long the
    #: order waited for dispatch, for acceptance after it, and to be finished, in microseconds.
    dispatch_us: Mapped[int | None] = duration_column("dispatched_at", "created_at")
    accept_us: Mapped[int | None] = duration_column("accepted_at", "dispatched_at")
    finish_us: Mapped[int | None] = duration_column("completed_at", "created_at")
    #: The score of the order's rating (ratings.score, one rating per order), kept here by the
    #: rating step so that the statistics count satisfaction from the orders alone: joining the
    #: month's ratings was half the cost of a street's counts.
    rating_score: Mapped[int | None] = mapped_column(sa.SmallInteger())
    #: When the contact phone and room were cleared and the photos deleted: past the retention
    #: period, or because the resident deleted their account. The order itself stays.
    anonymised_at: Mapped[datetime | None]
    #: Where a 随手拍 is, as the mini-program's wx.getLocation gave it (GCJ-02 degrees); both or
    #: neither. Shown to staff, the owner and the holder only (app/orders/location.py).
    latitude: Mapped[Decimal | None] = mapped_column(COORDINATE)
    longitude: Mapped[Decimal | None] = mapped_column(COORDINATE)
    #: 合并重复: the earlier report of the same problem this one was merged into (always a root:
    #: an original is never itself a duplicate).
    duplicate_of_id: Mapped[int | None] = fk("orders.id", nullable=True)
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
    action: Mapped[Action]
    from_status: Mapped[OrderStatus | None]
    to_status: Mapped[OrderStatus]
    note: Mapped[str] = mapped_column(sa.Text(), default="")
    #: Where the actor acted from: "api", "bot" or "job".
    channel: Mapped[str] = mapped_column(sa.String(16), default="api")
    created_at: Mapped[created_at]

    order: Mapped[Order] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class Rating(Base):
    """The resident's rating of a completed order (评单); at most one per order."""

    __tablename__ = "ratings"
    # The statistics read the ratings of a range's orders, which are never older than the range.
    __table_args__ = (sa.Index("ix_ratings_created_at", "created_at"),)

    id: Mapped[intpk]
    order_id: Mapped[int] = fk("orders.id", ondelete="CASCADE", unique=True)
    score: Mapped[int]
    speed: Mapped[int | None]
    attitude: Mapped[int | None]
    comment: Mapped[str] = mapped_column(sa.Text(), default="")
    #: The volunteer rated, kept here so that "past rating" ranks candidates with one query.
    assignee_id: Mapped[int | None] = fk("users.id", ondelete="SET NULL", nullable=True)
    created_at: Mapped[created_at]


class ReturnVisit(Base):
    """回访: a low rating or a dispute puts the order on the secretary's list to phone the resident."""

    __tablename__ = "return_visits"
    __table_args__ = (sa.Index("ix_return_visits_community_id_done_id", "community_id", "done", "id"),)

    id: Mapped[intpk]
    order_id: Mapped[int] = fk("orders.id", ondelete="CASCADE")
    community_id: Mapped[int] = fk("areas.id", ondelete="CASCADE", index=False)
    #: Why it is on the list: "low_rating" or "dispute".
    reason: Mapped[str] = mapped_column(sa.String(16))
    done: Mapped[bool] = mapped_column(default=False)
    #: What the resident wrote: the rating's comment, or the dispute's reason; what to ask about.
    comment: Mapped[str] = mapped_column(sa.Text(), default="", server_default="")
    #: What the resident said on the phone.
    note: Mapped[str] = mapped_column(sa.Text(), default="")
    called_by_id: Mapped[int | None] = fk("users.id", ondelete="SET NULL", index=False, nullable=True)
    called_at: Mapped[datetime | None]
    created_at: Mapped[created_at]


class OrderNumberCounter(Base):
    """The last order number handed out per community and Shanghai day."""

    __tablename__ = "order_number_counters"

    community_id: Mapped[int] = mapped_column(ID_TYPE, sa.ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[str] = mapped_column(sa.String(8), primary_key=True)  # YYYYMMDD
    last: Mapped[int] = mapped_column(default=0)


class OrderReminder(Base):
    """A reminder the reminder job has queued: the rule, for the order, counted from ``since`` (the
    moment its threshold counts from, as the messages' dedupe keys write it).

    Why a table of its own: an order stays inside a rule's window long after it was reminded (a
    completed order is unrated for days), and a firing that learned only from the messages' dedupe
    keys opened a write transaction for every such order every minute (49 s per firing on the
    seeded city, bench/reminders.py). The scan leaves out what this table holds, so a firing costs
    what is newly due. A moment that moves on (dispatched again) is a new ``since``, an order that
    changed hands a new ``holder``: a new reminder. A reminder is recorded once it was meant for
    someone (a community with no secretary yet is asked again at the next firing)."""

    __tablename__ = "order_reminders"

    order_id: Mapped[int] = mapped_column(ID_TYPE, sa.ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True)
    rule: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    since: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    #: Who held the order then ("assignee:team:company", "-" for none): a reminder to whoever
    #: holds it is owed again to the next holder.
    holder: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    created_at: Mapped[created_at]
