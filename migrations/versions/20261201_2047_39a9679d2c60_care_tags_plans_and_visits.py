"""Care (关爱): tags on households (``household_care_tags``), recurring care plans (``care_plans``),
each plan's visits made once per date (``care_visits``, unique on plan and date), and the audit
trail's kind ``care_tag_changed``."""

# Created 2026-12-01T20:47+00:00.
# Revisions import only alembic and sqlalchemy, never `app`: enum values are frozen here
# as literals, so that later changes to the models cannot rewrite history.

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "39a9679d2c60"
down_revision: str | Sequence[str] | None = "b7d2e9f41c38"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_KINDS_BEFORE = ("contact_revealed", "role_granted", "household_verified", "points_adjusted", "area_changed")
_KINDS_AFTER = (*_KINDS_BEFORE, "care_tag_changed")
_CHECK = "ck_audit_entries_kind"


def _kind(values: Sequence[str]) -> sa.Enum:
    return sa.Enum(*values, name=op.f(_CHECK), native_enum=False, create_constraint=True, length=32)


def _audit_entries(kinds: Sequence[str]) -> sa.Table:
    """audit_entries as the previous revisions left it, with ``kinds`` allowed (SQLite's batch
    mode copies from this: reflection keeps no CHECK constraints)."""
    return sa.Table(
        "audit_entries",
        sa.MetaData(),
        sa.Column("id", _ID, nullable=False),
        sa.Column("kind", _kind(kinds), nullable=False),
        sa.Column("area_id", _ID, nullable=False),
        sa.Column("actor_id", _ID, nullable=True),
        sa.Column("subject_id", _ID, nullable=True),
        sa.Column("order_id", _ID, nullable=True),
        sa.Column("detail", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name="fk_audit_entries_actor_id_users", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name="fk_audit_entries_area_id_areas", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name="fk_audit_entries_order_id_orders", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["users.id"], name="fk_audit_entries_subject_id_users", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_audit_entries"),
        sa.Index("ix_audit_entries_area_id_kind_id", "area_id", "kind", "id"),
    )


def _allow_kinds(before: Sequence[str], after: Sequence[str]) -> None:
    if op.get_context().dialect.name == "postgresql":
        op.drop_constraint(op.f(_CHECK), "audit_entries", type_="check")
        op.create_check_constraint(op.f(_CHECK), "audit_entries", sa.column("kind").in_(after))
        return
    with op.batch_alter_table("audit_entries", copy_from=_audit_entries(before), recreate="always") as batch_op:
        batch_op.alter_column("kind", existing_type=_kind(before), type_=_kind(after))


def upgrade() -> None:
    _allow_kinds(_KINDS_BEFORE, _KINDS_AFTER)
    op.create_table(
        "care_plans",
        sa.Column("id", _ID, nullable=False),
        sa.Column("community_id", _ID, nullable=False),
        sa.Column("household_id", _ID, nullable=False),
        sa.Column("resident_id", _ID, nullable=False),
        sa.Column("volunteer_id", _ID, nullable=False),
        sa.Column("category_id", _ID, nullable=False),
        sa.Column(
            "every",
            sa.Enum(
                "week",
                "two_weeks",
                "month",
                name=op.f("ck_care_plans_every"),
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("weekday", sa.Integer(), nullable=True),
        sa.Column("day", sa.Integer(), nullable=True),
        sa.Column("at", sa.Time(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "paused",
                "ended",
                name=op.f("ck_care_plans_status"),
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_by_id", _ID, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["service_categories.id"],
            name=op.f("fk_care_plans_category_id_service_categories"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["areas.id"], name=op.f("fk_care_plans_community_id_areas"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_care_plans_created_by_id_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_care_plans_household_id_households"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["users.id"], name=op.f("fk_care_plans_resident_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"], ["users.id"], name=op.f("fk_care_plans_volunteer_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_plans")),
    )
    with op.batch_alter_table("care_plans", schema=None) as batch_op:
        batch_op.create_index("ix_care_plans_community_id_id", ["community_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_care_plans_household_id"), ["household_id"], unique=False)
        batch_op.create_index("ix_care_plans_status", ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_care_plans_volunteer_id"), ["volunteer_id"], unique=False)

    op.create_table(
        "household_care_tags",
        sa.Column("id", _ID, nullable=False),
        sa.Column("household_id", _ID, nullable=False),
        sa.Column("community_id", _ID, nullable=False),
        sa.Column(
            "tag",
            sa.Enum(
                "living_alone",
                "elderly_80",
                "hardship",
                "disability",
                "left_behind",
                name=op.f("ck_household_care_tags_tag"),
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.String(length=100), nullable=False),
        sa.Column("set_by_id", _ID, nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["areas.id"], name=op.f("fk_household_care_tags_community_id_areas"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_household_care_tags_household_id_households"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["set_by_id"], ["users.id"], name=op.f("fk_household_care_tags_set_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household_care_tags")),
        sa.UniqueConstraint("household_id", "tag", name=op.f("uq_household_care_tags_household_id_tag")),
    )
    with op.batch_alter_table("household_care_tags", schema=None) as batch_op:
        batch_op.create_index(
            "ix_household_care_tags_community_id_household_id",
            ["community_id", "household_id"],
            unique=False,
        )

    op.create_table(
        "care_visits",
        sa.Column("id", _ID, nullable=False),
        sa.Column("plan_id", _ID, nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("due_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("order_id", _ID, nullable=True),
        sa.Column("missed_alerted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_care_visits_order_id_orders"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["care_plans.id"], name=op.f("fk_care_visits_plan_id_care_plans"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_visits")),
        sa.UniqueConstraint("plan_id", "on_date", name=op.f("uq_care_visits_plan_id_on_date")),
    )
    with op.batch_alter_table("care_visits", schema=None) as batch_op:
        batch_op.create_index(
            "ix_care_visits_alerted_pending",
            ["missed_alerted_at"],
            unique=False,
            postgresql_where=sa.text("missed_alerted_at IS NOT NULL AND late_at IS NULL"),
            sqlite_where=sa.text("missed_alerted_at IS NOT NULL AND late_at IS NULL"),
        )
        batch_op.create_index(batch_op.f("ix_care_visits_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            "ix_care_visits_pending_due_end",
            ["due_end"],
            unique=False,
            postgresql_where=sa.text("missed_alerted_at IS NULL AND done_at IS NULL"),
            sqlite_where=sa.text("missed_alerted_at IS NULL AND done_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("care_visits", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_care_visits_pending_due_end",
            postgresql_where=sa.text("missed_alerted_at IS NULL AND done_at IS NULL"),
            sqlite_where=sa.text("missed_alerted_at IS NULL AND done_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_care_visits_order_id"))
        batch_op.drop_index(
            "ix_care_visits_alerted_pending",
            postgresql_where=sa.text("missed_alerted_at IS NOT NULL AND late_at IS NULL"),
            sqlite_where=sa.text("missed_alerted_at IS NOT NULL AND late_at IS NULL"),
        )

    op.drop_table("care_visits")
    with op.batch_alter_table("household_care_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_household_care_tags_community_id_household_id")

    op.drop_table("household_care_tags")
    with op.batch_alter_table("care_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_plans_volunteer_id"))
        batch_op.drop_index("ix_care_plans_status")
        batch_op.drop_index(batch_op.f("ix_care_plans_household_id"))
        batch_op.drop_index("ix_care_plans_community_id_id")

    op.drop_table("care_plans")
    op.execute("DELETE FROM audit_entries WHERE kind = 'care_tag_changed'")
    _allow_kinds(_KINDS_AFTER, _KINDS_BEFORE)
