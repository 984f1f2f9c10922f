"""Official Account followers as user/info described them: their unionid binds them to the
mini-program user of the same person (on follow, or at that user's next login)."""

# Created 2026-12-02T04:30+00:00.
# Revisions import only alembic and sqlalchemy, never `app`.

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d5078e019c65"
down_revision: str | Sequence[str] | None = "5c1e9a7d3b60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oa_followers",
        sa.Column("oa_openid", sa.String(length=64), nullable=False),
        sa.Column("unionid", sa.String(length=64), nullable=True),
        sa.Column("following", sa.Boolean(), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.PrimaryKeyConstraint("oa_openid", name=op.f("pk_oa_followers")),
    )
    op.create_index(op.f("ix_oa_followers_unionid"), "oa_followers", ["unionid"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_oa_followers_unionid"), table_name="oa_followers")
    op.drop_table("oa_followers")
