"""物业满意度测评: the month's surveys per company and community served, residents' answers
(one per household, a score per question) and the flags raised to the street (黑名单候选)."""

# Created 2026-12-01T20:45+00:00.
# Revisions import only alembic and sqlalchemy, never `app`.

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b6d2f81c4e57"
down_revision: str | Sequence[str] | None = "b6f2d8a4c1e7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "property_evaluation_flags",
        sa.Column("id", _ID, nullable=False),
        sa.Column("street_id", _ID, nullable=False),
        sa.Column("company_id", _ID, nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["property_companies.id"],
            name=op.f("fk_property_evaluation_flags_company_id_property_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["street_id"], ["areas.id"], name=op.f("fk_property_evaluation_flags_street_id_areas"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_property_evaluation_flags")),
        sa.UniqueConstraint(
            "street_id", "company_id", "month", name=op.f("uq_property_evaluation_flags_street_id_company_id_month")
        ),
    )
    op.create_index(
        op.f("ix_property_evaluation_flags_company_id"), "property_evaluation_flags", ["company_id"], unique=False
    )

    op.create_table(
        "property_surveys",
        sa.Column("id", _ID, nullable=False),
        sa.Column("company_id", _ID, nullable=False),
        sa.Column("community_id", _ID, nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["areas.id"], name=op.f("fk_property_surveys_community_id_areas"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["property_companies.id"],
            name=op.f("fk_property_surveys_company_id_property_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_property_surveys")),
        sa.UniqueConstraint(
            "company_id", "community_id", "month", name=op.f("uq_property_surveys_company_id_community_id_month")
        ),
    )
    op.create_index(
        op.f("ix_property_surveys_community_id_closes_at"),
        "property_surveys",
        ["community_id", "closes_at"],
        unique=False,
    )
    op.create_index(op.f("ix_property_surveys_month"), "property_surveys", ["month"], unique=False)

    op.create_table(
        "survey_responses",
        sa.Column("id", _ID, nullable=False),
        sa.Column("survey_id", _ID, nullable=False),
        sa.Column("household_id", _ID, nullable=True),
        sa.Column("comment", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_survey_responses_household_id_households"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["property_surveys.id"],
            name=op.f("fk_survey_responses_survey_id_property_surveys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_responses")),
        sa.UniqueConstraint("survey_id", "household_id", name=op.f("uq_survey_responses_survey_id_household_id")),
    )
    op.create_index(op.f("ix_survey_responses_household_id"), "survey_responses", ["household_id"], unique=False)

    op.create_table(
        "survey_answers",
        sa.Column("response_id", _ID, nullable=False),
        sa.Column("question", sa.String(length=32), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name=op.f("ck_survey_answers_score_range")),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["survey_responses.id"],
            name=op.f("fk_survey_answers_response_id_survey_responses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("response_id", "question", name=op.f("pk_survey_answers")),
    )


def downgrade() -> None:
    op.drop_table("survey_answers")
    op.drop_index(op.f("ix_survey_responses_household_id"), table_name="survey_responses")

    op.drop_table("survey_responses")
    op.drop_index(op.f("ix_property_surveys_month"), table_name="property_surveys")
    op.drop_index(op.f("ix_property_surveys_community_id_closes_at"), table_name="property_surveys")

    op.drop_table("property_surveys")
    op.drop_index(op.f("ix_property_evaluation_flags_company_id"), table_name="property_evaluation_flags")

    op.drop_table("property_evaluation_flags")
