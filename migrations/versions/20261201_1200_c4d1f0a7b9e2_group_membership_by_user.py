"""Index team and property-company membership by user (every order read by a member asks which
groups they are in, which the primary keys, group first, cannot answer); volunteers' running
rating figures (``volunteer_stats``), counted from the ratings so far."""

# Created 2026-12-01T12:00+00:00.
# Revisions import only alembic and sqlalchemy, never `app`.

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4d1f0a7b9e2"
down_revision: str | Sequence[str] | None = "ab32b39c62a8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


#: The same recount bench/seed.py runs after a bulk load.
BACKFILL = (
    "INSERT INTO volunteer_stats (user_id, rated_count, score_sum) "
    "SELECT assignee_id, count(*), sum(score) FROM ratings WHERE assignee_id IS NOT NULL GROUP BY assignee_id"
)


def upgrade() -> None:
    op.create_table(
        "volunteer_stats",
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rated_count", sa.Integer(), nullable=False),
        sa.Column("score_sum", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_volunteer_stats_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_volunteer_stats")),
    )
    op.execute(BACKFILL)
    op.create_index("ix_team_members_user_id", "team_members", ["user_id"])
    op.create_index("ix_property_company_staff_user_id", "property_company_staff", ["user_id"])


def downgrade() -> None:
    op.drop_table("volunteer_stats")
    op.drop_index("ix_property_company_staff_user_id", table_name="property_company_staff")
    op.drop_index("ix_team_members_user_id", table_name="team_members")
