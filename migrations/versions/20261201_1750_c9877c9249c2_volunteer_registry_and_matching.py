"""The volunteer registry and matching: each community's skill catalogue (seeded with the skills
known until now, and every code already in use there, so existing categories and volunteers keep
theirs), volunteer profiles and weekly availability, response-time figures in volunteer_stats, and
the indexes candidates are found by (skill, grid)."""

# Created 2026-12-01T17:36+00:00.
# Revisions import only alembic and sqlalchemy, never `app`: enum values are frozen here
# as literals, so that later changes to the models cannot rewrite history.

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c9877c9249c2"
down_revision: str | Sequence[str] | None = "5b7e2c9d4a13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The skills every community knew until now (app.areas.catalogue.SKILL_NAMES as of this revision).
SKILL_NAMES = {
    "electrician": "电工",
    "plumber": "水暖工",
    "carpenter": "木工",
    "locksmith": "开锁",
    "appliance": "家电维修",
    "computer": "电脑手机维修",
    "escort": "陪诊陪护",
    "nursing": "护理",
    "elder_care": "助老服务",
    "medical": "医疗健康",
    "psychology": "心理疏导",
    "legal": "法律咨询",
    "tutoring": "课业辅导",
    "cleaning": "保洁",
    "haircut": "理发",
    "cooking": "烹饪",
    "driving": "驾驶接送",
    "delivery": "跑腿代购",
    "translation": "翻译",
    "sign_language": "手语",
}


def upgrade() -> None:
    op.create_table(
        "skills",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("community_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["areas.id"], name=op.f("fk_skills_community_id_areas"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skills")),
        sa.UniqueConstraint("community_id", "code", name=op.f("uq_skills_community_id_code")),
    )
    op.create_table(
        "volunteer_availability",
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("starts", sa.Integer(), nullable=False),
        sa.Column("ends", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_volunteer_availability_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "starts", name=op.f("pk_volunteer_availability")),
    )
    with op.batch_alter_table("volunteer_availability", schema=None) as batch_op:
        batch_op.create_index(
            "ix_volunteer_availability_starts_ends_user_id", ["starts", "ends", "user_id"], unique=False
        )

    op.create_table(
        "volunteer_profiles",
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("max_active", sa.Integer(), nullable=False),
        sa.Column("party_member", sa.Boolean(), nullable=False),
        sa.Column("in_service", sa.Boolean(), nullable=False),
        sa.Column("employer_unit", sa.String(length=64), nullable=True),
        sa.Column("unit_hours", sa.Integer(), nullable=True),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_volunteer_profiles_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_volunteer_profiles")),
    )
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.create_index("ix_households_grid_id_user_id", ["grid_id", "user_id"], unique=False)

    with op.batch_alter_table("user_skills", schema=None) as batch_op:
        batch_op.create_index("ix_user_skills_skill_user_id", ["skill", "user_id"], unique=False)

    with op.batch_alter_table("volunteer_stats", schema=None) as batch_op:
        batch_op.add_column(sa.Column("accepted_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("accept_minutes_sum", sa.BigInteger(), server_default="0", nullable=False))

    _seed_catalogues()


def _seed_catalogues() -> None:
    """Every community gets the skills known until now, then any other code its categories ask for
    or its volunteers have (named by the code itself, as the answers showed it until now). Plain
    INSERT … SELECT statements, so that offline (--sql) runs write them too."""
    areas = sa.table("areas", sa.column("id"), sa.column("kind"))
    categories = sa.table("service_categories", sa.column("community_id"), sa.column("skill"))
    memberships = sa.table("role_memberships", sa.column("user_id"), sa.column("role"), sa.column("area_id"))
    user_skills = sa.table("user_skills", sa.column("user_id"), sa.column("skill"))
    skills = sa.table("skills", sa.column("community_id"), sa.column("code"), sa.column("name"), sa.column("active"))
    columns = ["community_id", "code", "name", "active"]
    for code, name in SKILL_NAMES.items():
        op.execute(
            skills.insert().from_select(
                columns,
                sa.select(areas.c.id, sa.literal(code), sa.literal(name), sa.true()).where(areas.c.kind == "community"),
            )
        )
    used = sa.union(
        sa.select(categories.c.community_id.label("community_id"), categories.c.skill.label("code")).where(
            categories.c.skill.is_not(None)
        ),
        sa.select(memberships.c.area_id, user_skills.c.skill)
        .join(user_skills, user_skills.c.user_id == memberships.c.user_id)
        .where(memberships.c.role == "volunteer"),
    ).subquery("used")
    op.execute(
        skills.insert().from_select(
            columns,
            sa.select(used.c.community_id, used.c.code, used.c.code, sa.true()).where(
                used.c.code.not_in(list(SKILL_NAMES))
            ),
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("volunteer_stats", schema=None) as batch_op:
        batch_op.drop_column("accept_minutes_sum")
        batch_op.drop_column("accepted_count")

    with op.batch_alter_table("user_skills", schema=None) as batch_op:
        batch_op.drop_index("ix_user_skills_skill_user_id")

    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_index("ix_households_grid_id_user_id")

    op.drop_table("volunteer_profiles")
    op.drop_table("volunteer_availability")
    op.drop_table("skills")
