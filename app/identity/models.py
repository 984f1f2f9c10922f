"""Users, their roles per area, their households and invitations to a role."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.areas.models import Area
from app.core.columns import created_at, fk, intpk, updated_at
from app.core.db import Base
from app.identity.roles import Role


class User(Base):
    """A person known by their mini-program openid, or imported by their community without one."""

    __tablename__ = "users"

    id: Mapped[intpk]
    #: None for a resident or volunteer imported from the community's Excel sheet who has not used
    #: the mini-program yet; their first login that binds the same phone takes them over
    #: (app/identity/takeover.py).
    openid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    #: Links the mini-program user to the same person on the Official Account.
    unionid: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    nickname: Mapped[str] = mapped_column(sa.String(64), default="")
    #: The same person's openid on the Official Account (template messages), linked by unionid.
    oa_openid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    #: Cleared when they unfollow the Official Account: no template messages then.
    oa_following: Mapped[bool] = mapped_column(default=False)
    #: When WeChat reported that they block this account's template messages (a receipt of
    #: ``failed:user block``): no template messages then; cleared when they follow again.
    oa_blocked_at: Mapped[datetime | None]
    #: Full number; only shown masked except to those the privacy rules allow (app/orders/access.py).
    phone: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    #: When the community's secretary imported this person (app/community/imports); None otherwise.
    imported_at: Mapped[datetime | None]
    #: WeChat's session_key from jscode2session; it never leaves the server.
    session_key: Mapped[str | None] = mapped_column(sa.String(128))
    #: Bumped to revoke every token issued before (logout everywhere).
    token_generation: Mapped[int] = mapped_column(default=0)
    last_login_at: Mapped[datetime | None]
    #: Set when the person deleted their account: the row stays as an anonymous tombstone, because
    #: orders, ratings and the points ledger keep pointing at it (app/account/erasure.py).
    deleted_at: Mapped[datetime | None]
    created_at: Mapped[created_at]

    memberships: Mapped[list[RoleMembership]] = relationship(
        back_populates="user", foreign_keys="RoleMembership.user_id", order_by="RoleMembership.id"
    )
    household: Mapped[Household | None] = relationship(back_populates="user", foreign_keys="Household.user_id")

    def __repr__(self) -> str:
        return f"<User {self.id} {self.openid}>"


class OaFollower(Base):
    """An Official Account follower as ``user/info`` last described them. The unionid names the
    same person in the mini-program: it binds them to that user on follow, or at that user's next
    login when the follow came first (app/identity/followers.py)."""

    __tablename__ = "oa_followers"

    oa_openid: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    #: None while the Official Account is not bound to the mini-program's Open Platform account.
    unionid: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    #: False after they unfollowed; a later follow sets it again.
    following: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[updated_at]


class RoleMembership(Base):
    """A role held by a user in one area (a volunteer of community X, the secretary of Y)."""

    __tablename__ = "role_memberships"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "role", "area_id"),
        # "The secretaries of community C", "the volunteers of C": a community has tens of
        # thousands of residents' memberships, so the role is part of the key. The user id ends it
        # so that the volunteer picker (app/orders/directory.py) pages a community's 100,000
        # volunteers in user order by walking the index and stopping, instead of sorting them all.
        sa.Index("ix_role_memberships_area_id_role_user_id", "area_id", "role", "user_id"),
    )

    id: Mapped[intpk]
    user_id: Mapped[int] = fk("users.id", ondelete="CASCADE")
    role: Mapped[Role]
    area_id: Mapped[int] = fk("areas.id", ondelete="RESTRICT", index=False)
    granted_by_id: Mapped[int | None] = fk("users.id", ondelete="SET NULL", index=False, nullable=True)
    created_at: Mapped[created_at]

    user: Mapped[User] = relationship(back_populates="memberships", foreign_keys=[user_id])
    area: Mapped[Area] = relationship()


class Household(Base):
    """Where a resident lives; one per user."""

    __tablename__ = "households"
    # The volunteers living in an order's grid are candidates for it (app.orders.candidates).
    __table_args__ = (sa.Index("ix_households_grid_id_user_id", "grid_id", "user_id"),)

    id: Mapped[intpk]
    user_id: Mapped[int] = fk("users.id", ondelete="CASCADE", unique=True)
    community_id: Mapped[int] = fk("areas.id", ondelete="RESTRICT")
    grid_id: Mapped[int | None] = fk("areas.id", ondelete="RESTRICT", index=False, nullable=True)
    #: The known building when the label matched one, else None (the label is kept either way).
    building_id: Mapped[int | None] = fk("areas.id", ondelete="RESTRICT", index=False, nullable=True)
    building: Mapped[str] = mapped_column(sa.String(32), default="")
    unit: Mapped[str] = mapped_column(sa.String(32), default="")
    room: Mapped[str] = mapped_column(sa.String(32), default="")
    #: The secretary's remark from the import sheet (备注); staff only, never shown to volunteers.
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    #: Set by community staff who checked the address in person.
    verified: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    user: Mapped[User] = relationship(back_populates="household", foreign_keys=[user_id])
    community: Mapped[Area] = relationship(foreign_keys=[community_id])
    grid: Mapped[Area | None] = relationship(foreign_keys=[grid_id])


class Invitation(Base):
    """A one-time, expiring code that grants a role in an area when redeemed."""

    __tablename__ = "invitations"

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    role: Mapped[Role]
    area_id: Mapped[int] = fk("areas.id", ondelete="CASCADE")
    #: For property staff: the company whose orders they will act on once they redeem the code.
    property_company_id: Mapped[int | None] = fk(
        "property_companies.id", ondelete="CASCADE", index=False, nullable=True
    )
    #: For merchant staff: the merchant whose redemption codes they will verify once they redeem it.
    merchant_id: Mapped[int | None] = fk("merchants.id", ondelete="CASCADE", index=False, nullable=True)
    created_by_id: Mapped[int] = fk("users.id", ondelete="CASCADE")
    expires_at: Mapped[datetime]
    redeemed_by_id: Mapped[int | None] = fk("users.id", ondelete="SET NULL", index=False, nullable=True)
    redeemed_at: Mapped[datetime | None]
    created_at: Mapped[created_at]

    area: Mapped[Area] = relationship()


class RevokedToken(Base):
    """One login token revoked before its expiry (logging out on one device).

    Checked in the statement that loads the Actor, by primary key, only for tokens that carry an
    id. Needed only while the token could still verify, ``issued_at`` plus ``auth.token_ttl_hours``;
    ``prune_revocations`` deletes it afterwards. The issue time is kept rather than an expiry so that
    a lifetime raised later still covers the tokens revoked before.
    """

    __tablename__ = "revoked_tokens"

    #: The token's id (its ``j`` claim).
    jti: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    user_id: Mapped[int] = fk("users.id", ondelete="CASCADE")
    #: When the revoked token was signed.
    issued_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[created_at]
