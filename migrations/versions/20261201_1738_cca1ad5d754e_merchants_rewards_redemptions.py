"""The time bank's merchants (商业合伙人), their staff, the rewards of each community and the
redemptions of points; invitations of merchant staff name their merchant."""

# Created 2026-12-01T17:38+00:00.
# Revisions import only alembic and sqlalchemy, never `app`: enum values are frozen here
# as literals, so that later changes to the models cannot rewrite history.

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "cca1ad5d754e"
down_revision: str | Sequence[str] | None = "aa828fde385d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ROLES = ("resident", "volunteer", "grid_worker", "secretary", "street_admin", "property_company", "merchant")
_MERCHANT_FK = "fk_invitations_merchant_id_merchants"


def _invitations() -> sa.Table:
    """invitations as revision e81c3a5d7f20 left it: SQLite's batch mode copies from this instead
    of reflecting, which would drop the role's CHECK constraint."""
    return sa.Table(
        "invitations",
        sa.MetaData(),
        sa.Column("id", _ID, nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column(
            "role",
            sa.Enum(*_ROLES, name="ck_invitations_role", native_enum=False, create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column("area_id", _ID, nullable=False),
        sa.Column("created_by_id", _ID, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("redeemed_by_id", _ID, nullable=True),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.Column("property_company_id", _ID, nullable=True),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name="fk_invitations_area_id_areas", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name="fk_invitations_created_by_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["redeemed_by_id"], ["users.id"], name="fk_invitations_redeemed_by_id_users", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["property_company_id"],
            ["property_companies.id"],
            name="fk_invitations_property_company_id_property_companies",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_invitations"),
        sa.UniqueConstraint("code", name="uq_invitations_code"),
        sa.Index("ix_invitations_area_id", "area_id"),
        sa.Index("ix_invitations_created_by_id", "created_by_id"),
    )


def upgrade() -> None:
    op.create_table(
        "merchants",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("community_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["areas.id"], name=op.f("fk_merchants_community_id_areas"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchants")),
        sa.UniqueConstraint("community_id", "name", name=op.f("uq_merchants_community_id_name")),
    )
    op.create_table(
        "merchant_staff",
        sa.Column("merchant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_merchant_staff_merchant_id_merchants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_merchant_staff_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("merchant_id", "user_id", name=op.f("pk_merchant_staff")),
    )
    with op.batch_alter_table("merchant_staff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_merchant_staff_user_id"), ["user_id"], unique=False)

    op.create_table(
        "rewards",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("community_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("merchant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.CheckConstraint("points > 0", name=op.f("ck_rewards_points_positive")),
        sa.CheckConstraint("stock IS NULL OR stock >= 0", name=op.f("ck_rewards_stock_not_negative")),
        sa.ForeignKeyConstraint(
            ["community_id"], ["areas.id"], name=op.f("fk_rewards_community_id_areas"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_rewards_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_rewards_merchant_id_merchants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rewards")),
    )
    with op.batch_alter_table("rewards", schema=None) as batch_op:
        batch_op.create_index("ix_rewards_community_id_id", ["community_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rewards_merchant_id"), ["merchant_id"], unique=False)

    op.create_table(
        "redemptions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reward_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "issued",
                "redeemed",
                "expired",
                "cancelled",
                name=op.f("ck_redemptions_status"),
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("spend_entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("refund_entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("redeemed_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["redeemed_by_id"], ["users.id"], name=op.f("fk_redemptions_redeemed_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["refund_entry_id"],
            ["points_entries.id"],
            name=op.f("fk_redemptions_refund_entry_id_points_entries"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["reward_id"], ["rewards.id"], name=op.f("fk_redemptions_reward_id_rewards"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["spend_entry_id"],
            ["points_entries.id"],
            name=op.f("fk_redemptions_spend_entry_id_points_entries"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_redemptions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemptions")),
        sa.UniqueConstraint("code", name=op.f("uq_redemptions_code")),
    )
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_redemptions_issued_expires_at",
            ["expires_at"],
            unique=False,
            postgresql_where=sa.text("status = 'issued'"),
            sqlite_where=sa.text("status = 'issued'"),
        )
        batch_op.create_index(batch_op.f("ix_redemptions_reward_id"), ["reward_id"], unique=False)
        batch_op.create_index("ix_redemptions_user_id_id", ["user_id", "id"], unique=False)

    with op.batch_alter_table("invitations", copy_from=_invitations()) as batch_op:
        batch_op.add_column(sa.Column("merchant_id", _ID, nullable=True))
        batch_op.create_foreign_key(_MERCHANT_FK, "merchants", ["merchant_id"], ["id"], ondelete="CASCADE")


def downgrade() -> None:
    after = _invitations()
    after.append_column(sa.Column("merchant_id", _ID, nullable=True))
    after.append_constraint(
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"], name=_MERCHANT_FK, ondelete="CASCADE")
    )
    with op.batch_alter_table("invitations", copy_from=after) as batch_op:
        batch_op.drop_constraint(_MERCHANT_FK, type_="foreignkey")
        batch_op.drop_column("merchant_id")

    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.drop_index("ix_redemptions_user_id_id")
        batch_op.drop_index(batch_op.f("ix_redemptions_reward_id"))
        batch_op.drop_index(
            "ix_redemptions_issued_expires_at",
            postgresql_where=sa.text("status = 'issued'"),
            sqlite_where=sa.text("status = 'issued'"),
        )

    op.drop_table("redemptions")
    with op.batch_alter_table("rewards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rewards_merchant_id"))
        batch_op.drop_index("ix_rewards_community_id_id")

    op.drop_table("rewards")
    with op.batch_alter_table("merchant_staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_merchant_staff_user_id"))

    op.drop_table("merchant_staff")
    op.drop_table("merchants")
