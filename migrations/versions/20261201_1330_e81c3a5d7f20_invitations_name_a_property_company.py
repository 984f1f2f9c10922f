"""Invitations of property staff name their company, so that redeeming one links the new staff
member to it (they could not accept the company's orders before)."""

# Created 2026-12-01T13:30+00:00.
# Revisions import only alembic and sqlalchemy, never `app`: enum values are frozen here
# as literals, so that later changes to the models cannot rewrite history.

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e81c3a5d7f20"
down_revision: str | Sequence[str] | None = "d2b7e4c91a05"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ROLES = ("resident", "volunteer", "grid_worker", "secretary", "street_admin", "property_company", "merchant")
_FK = "fk_invitations_property_company_id_property_companies"


def _before() -> sa.Table:
    """invitations as the initial schema made it: SQLite's batch mode copies from this instead of
    reflecting, which would drop the role's CHECK constraint."""
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
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name="fk_invitations_area_id_areas", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name="fk_invitations_created_by_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["redeemed_by_id"], ["users.id"], name="fk_invitations_redeemed_by_id_users", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_invitations"),
        sa.UniqueConstraint("code", name="uq_invitations_code"),
        sa.Index("ix_invitations_area_id", "area_id"),
        sa.Index("ix_invitations_created_by_id", "created_by_id"),
    )


def upgrade() -> None:
    with op.batch_alter_table("invitations", copy_from=_before()) as batch_op:
        batch_op.add_column(sa.Column("property_company_id", _ID, nullable=True))
        batch_op.create_foreign_key(_FK, "property_companies", ["property_company_id"], ["id"], ondelete="CASCADE")


def downgrade() -> None:
    after = _before()
    after.append_column(sa.Column("property_company_id", _ID, nullable=True))
    after.append_constraint(
        sa.ForeignKeyConstraint(["property_company_id"], ["property_companies.id"], name=_FK, ondelete="CASCADE")
    )
    with op.batch_alter_table("invitations", copy_from=after) as batch_op:
        batch_op.drop_constraint(_FK, type_="foreignkey")
        batch_op.drop_column("property_company_id")
