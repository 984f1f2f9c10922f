"""The audit trail of acts on people (``audit_entries``): contact details revealed, roles granted,
households verified. Roles granted before this revision are copied in from ``role_memberships``,
so that the trail of grants starts complete."""

# Created 2026-12-01T15:00+00:00.
# Revisions import only alembic and sqlalchemy, never `app`: enum values are frozen here
# as literals, so that later changes to the models cannot rewrite history.

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f3a9c2d8e1b4"
down_revision: str | Sequence[str] | None = "47cf6311f1be"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "contact_revealed",
                "role_granted",
                "household_verified",
                name=op.f("ck_audit_entries_kind"),
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("area_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("actor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("subject_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("detail", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_audit_entries_actor_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_audit_entries_area_id_areas"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_audit_entries_order_id_orders"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["users.id"], name=op.f("fk_audit_entries_subject_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    op.create_index("ix_audit_entries_area_id_kind_id", "audit_entries", ["area_id", "kind", "id"])
    # A resident's role comes with registering a household (nobody grants it); every other role
    # was given by an invitation (granted_by_id) or an operator (NULL). Filed under the community,
    # or under the street for a street's role, as app.identity.grants.record_grant files them.
    op.execute(
        "INSERT INTO audit_entries (kind, area_id, actor_id, subject_id, order_id, detail, created_at) "
        "SELECT 'role_granted', COALESCE(a.community_id, a.id), m.granted_by_id, m.user_id, NULL, m.role, m.created_at "
        "FROM role_memberships m JOIN areas a ON a.id = m.area_id WHERE m.role <> 'resident' ORDER BY m.id"
    )


def downgrade() -> None:
    op.drop_index("ix_audit_entries_area_id_kind_id", table_name="audit_entries")
    op.drop_table("audit_entries")
