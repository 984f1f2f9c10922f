"""民情收集: the visit log (opinion_visits), the staff present and the households visited, and
the items residents raised, each linked to the order made of it (at most one)."""

# Created 2026-12-01T20:45+00:00.
# Revisions import only alembic and sqlalchemy, never `app`: enum values are frozen here
# as literals, so that later changes to the models cannot rewrite history.

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0865ad8b21db"
down_revision: str | Sequence[str] | None = "39a9679d2c60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "opinion_visits",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("community_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("grid_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "home_visit",
                "tea_talk",
                "reception_day",
                name=op.f("ck_opinion_visits_kind"),
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sa.String(length=100), nullable=False),
        sa.Column("residents_met", sa.Integer(), nullable=False),
        sa.Column("recorded_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["areas.id"], name=op.f("fk_opinion_visits_community_id_areas"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["areas.id"], name=op.f("fk_opinion_visits_grid_id_areas"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_opinion_visits_recorded_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opinion_visits")),
    )
    op.create_index(
        op.f("ix_opinion_visits_community_id_held_at"), "opinion_visits", ["community_id", "held_at"], unique=False
    )

    op.create_table(
        "opinion_visit_households",
        sa.Column("visit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("household_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_opinion_visit_households_household_id_households"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["opinion_visits.id"],
            name=op.f("fk_opinion_visit_households_visit_id_opinion_visits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("visit_id", "household_id", name=op.f("pk_opinion_visit_households")),
    )
    op.create_index(
        op.f("ix_opinion_visit_households_household_id"), "opinion_visit_households", ["household_id"], unique=False
    )

    op.create_table(
        "opinion_visit_staff",
        sa.Column("visit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_opinion_visit_staff_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["opinion_visits.id"],
            name=op.f("fk_opinion_visit_staff_visit_id_opinion_visits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("visit_id", "user_id", name=op.f("pk_opinion_visit_staff")),
    )
    op.create_index(op.f("ix_opinion_visit_staff_user_id"), "opinion_visit_staff", ["user_id"], unique=False)

    op.create_table(
        "opinion_items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("visit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("ordered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_opinion_items_order_id_orders"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["opinion_visits.id"],
            name=op.f("fk_opinion_items_visit_id_opinion_visits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opinion_items")),
        sa.UniqueConstraint("order_id", name=op.f("uq_opinion_items_order_id")),
        sa.UniqueConstraint("visit_id", "position", name=op.f("uq_opinion_items_visit_id_position")),
    )


def downgrade() -> None:
    op.drop_table("opinion_items")
    op.drop_index(op.f("ix_opinion_visit_staff_user_id"), table_name="opinion_visit_staff")
    op.drop_table("opinion_visit_staff")
    op.drop_index(op.f("ix_opinion_visit_households_household_id"), table_name="opinion_visit_households")
    op.drop_table("opinion_visit_households")
    op.drop_index(op.f("ix_opinion_visits_community_id_held_at"), table_name="opinion_visits")
    op.drop_table("opinion_visits")
