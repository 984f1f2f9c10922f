"""Pickers: a team's name is unique in its community (duplicates made before are renamed); a
property company serves one or more communities (``property_company_communities``, backfilled
from ``property_companies.community_id``, which goes); a community's volunteers are listed in user
order straight from an index.

Downgrading keeps, for each company, the lowest-id community it serves; the others are lost, and a
company serving none is deleted (it had no community to go back to)."""

# Created 2026-12-01T15:10+00:00.
# Revisions import only alembic and sqlalchemy, never `app`: enum values are frozen here
# as literals, so that later changes to the models cannot rewrite history.

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "bab7ae8342ba"
down_revision: str | Sequence[str] | None = "f3a9c2d8e1b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_COMPANY_FK = "fk_property_companies_community_id_areas"
_COMPANY_INDEX = "ix_property_companies_community_id"
_TEAM_UNIQUE = "uq_teams_community_id_name"
_TEAM_INDEX = "ix_teams_community_id"


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
    )


def _teams(*, index: bool) -> sa.Table:
    """teams as the initial schema made it (``index``: with its community index); SQLite's batch
    mode copies from this instead of a reflection."""
    table = sa.Table(
        "teams",
        sa.MetaData(),
        sa.Column("id", _ID, nullable=False),
        sa.Column("community_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("leader_id", _ID, nullable=True),
        _created_at(),
        sa.ForeignKeyConstraint(["community_id"], ["areas.id"], name="fk_teams_community_id_areas", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["leader_id"], ["users.id"], name="fk_teams_leader_id_users", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_teams"),
    )
    if index:
        sa.Index(_TEAM_INDEX, table.c.community_id)
    return table


def _companies(*, community: bool, nullable: bool = False) -> sa.Table:
    """property_companies with or without its single ``community_id`` (as the initial schema made it)."""
    table = sa.Table(
        "property_companies",
        sa.MetaData(),
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_property_companies"),
    )
    if community:
        table.append_column(sa.Column("community_id", _ID, nullable=nullable))
        if not nullable:
            table.append_constraint(
                sa.ForeignKeyConstraint(["community_id"], ["areas.id"], name=_COMPANY_FK, ondelete="CASCADE")
            )
            sa.Index(_COMPANY_INDEX, table.c.community_id)
    return table


def upgrade() -> None:
    # Twins made before the rule keep their name once (the oldest); the others get their id added.
    op.execute(
        "UPDATE teams SET name = substr(name, 1, 40) || '-' || id "
        "WHERE id NOT IN (SELECT min(id) FROM teams GROUP BY community_id, name)"
    )
    with op.batch_alter_table("teams", copy_from=_teams(index=True)) as batch_op:
        batch_op.create_unique_constraint(op.f(_TEAM_UNIQUE), ["community_id", "name"])
        batch_op.drop_index(_TEAM_INDEX)

    op.create_table(
        "property_company_communities",
        sa.Column("company_id", _ID, nullable=False),
        sa.Column("community_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["areas.id"],
            name=op.f("fk_property_company_communities_community_id_areas"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["property_companies.id"],
            name=op.f("fk_property_company_communities_company_id_property_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("company_id", "community_id", name=op.f("pk_property_company_communities")),
    )
    op.create_index(
        op.f("ix_property_company_communities_community_id"), "property_company_communities", ["community_id"]
    )
    op.execute(
        "INSERT INTO property_company_communities (company_id, community_id) "
        "SELECT id, community_id FROM property_companies"
    )
    with op.batch_alter_table("property_companies", copy_from=_companies(community=True)) as batch_op:
        batch_op.drop_constraint(_COMPANY_FK, type_="foreignkey")
        batch_op.drop_index(_COMPANY_INDEX)
        batch_op.drop_column("community_id")

    op.drop_index("ix_role_memberships_area_id_role", table_name="role_memberships")
    op.create_index(
        op.f("ix_role_memberships_area_id_role_user_id"), "role_memberships", ["area_id", "role", "user_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_role_memberships_area_id_role_user_id"), table_name="role_memberships")
    op.create_index("ix_role_memberships_area_id_role", "role_memberships", ["area_id", "role"])

    with op.batch_alter_table("property_companies", copy_from=_companies(community=False)) as batch_op:
        batch_op.add_column(sa.Column("community_id", _ID, nullable=True))
    op.execute(
        "UPDATE property_companies SET community_id = (SELECT min(s.community_id) "
        "FROM property_company_communities s WHERE s.company_id = property_companies.id)"
    )
    op.execute("DELETE FROM property_companies WHERE community_id IS NULL")
    with op.batch_alter_table("property_companies", copy_from=_companies(community=True, nullable=True)) as batch_op:
        batch_op.alter_column("community_id", existing_type=_ID, nullable=False)
        batch_op.create_foreign_key(_COMPANY_FK, "areas", ["community_id"], ["id"], ondelete="CASCADE")
        batch_op.create_index(_COMPANY_INDEX, ["community_id"])
    op.drop_table("property_company_communities")

    teams = _teams(index=False)
    teams.append_constraint(sa.UniqueConstraint("community_id", "name", name=_TEAM_UNIQUE))
    with op.batch_alter_table("teams", copy_from=teams) as batch_op:
        batch_op.drop_constraint(_TEAM_UNIQUE, type_="unique")
        batch_op.create_index(_TEAM_INDEX, ["community_id"])
