"""GET /me/export: everything Linli holds about the caller, as one JSON document (PIPL art. 45).

Streamed, not capped: a volunteer of some years has thousands of inbox entries and ledger lines,
and a right of access to "everything" that stops at a cap would not be one. The document is
written section by section; each list is read in batches of ``BATCH`` rows in id order (keyset),
so memory stays bounded and the statements grow with the caller's own data only. The whole
document is read in one read transaction, so its sections agree with each other.

Left out on purpose: WeChat's ``session_key`` (a credential, never leaves the server), one-time
codes (bind codes, invitations: credentials for others), and the outbox (each message is also an
inbox entry, which is listed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.account.shapes import (
    ExportAuditEntry,
    ExportBot,
    ExportFollower,
    ExportGroup,
    ExportHead,
    ExportProfile,
    ExportRating,
    ExportUpload,
)
from app.areas.models import Area
from app.audit.models import AuditEntry
from app.care.tags import tags_of_resident
from app.core.clock import now_utc
from app.core.shapes import Shape
from app.identity.actor import Actor, load_user
from app.identity.followers import followers_of
from app.identity.households import household_out
from app.identity.models import OaFollower, User
from app.identity.roles import Role
from app.identity.shapes import roles_out
from app.notify.models import Notification, SubscriptionGrant
from app.notify.shapes import NotificationOut
from app.orders import texts
from app.orders.models import Order, Rating
from app.orders.present import present_orders
from app.orders.shapes import Ref
from app.property.models import PropertyCompany, PropertyCompanyCommunity, PropertyCompanyStaff
from app.runtime import Runtime
from app.timebank.ledger import PointsEntry, balance_of
from app.timebank.models import Merchant, MerchantStaff, Redemption
from app.timebank.redemptions import present, presented
from app.timebank.statement import entry_out
from app.uploads.models import Attachment
from app.volunteers.models import Team, TeamMember, VolunteerProfile
from app.volunteers.profiles import profile_of
from app.volunteers.shapes import VolunteerProfileOut
from app.volunteers.skills import skills_of

FORMAT: Final = "linli-export/1"
#: Rows read (and orders presented) at a time.
BATCH: Final = 200

#: One batch of a section: the rows after id ``after``, at most BATCH, as (id, shape), id ascending.
Fetch = Callable[[Session, Actor, int], Sequence[tuple[int, Shape]]]


def export_account(rt: Runtime, actor: Actor, *, context: Mapping[str, Any] | None = None) -> Iterator[str]:
    """Any user: their data as JSON text, in pieces to send as they come (``AccountExport`` is the
    shape of the whole). ``context`` is the serialisation context of answers (how a photo id
    becomes a URL). Nothing is read until the first piece is asked for."""
    serialise = dict(context or {})
    with rt.db.read() as session:
        head = _head(session, actor).model_dump_json(context=serialise)
        yield head[:-1]  # without its closing brace: the list sections follow inside the object
        for name, fetch in _SECTIONS:
            yield f',"{name}":['
            after, separator = 0, ""
            while True:
                rows = fetch(session, actor, after)
                if rows:
                    yield separator + ",".join(shape.model_dump_json(context=serialise) for _, shape in rows)
                    separator = ","
                # Presented rows are not needed again: keep the session's identity map small.
                session.expunge_all()
                if len(rows) < BATCH:
                    break
                after = rows[-1][0]
            yield "]"
        yield "}"


def _head(session: Session, actor: Actor) -> ExportHead:
    user = load_user(session, actor.user_id)
    teams = session.execute(
        sa.select(Team.id, Team.name, Area.code)
        .join(TeamMember, TeamMember.team_id == Team.id)
        .join(Area, Area.id == Team.community_id)
        .where(TeamMember.user_id == user.id)
        .order_by(Team.id)
    )
    companies = session.execute(
        sa.select(PropertyCompany.id, PropertyCompany.name, Area.code)
        .join(PropertyCompanyStaff, PropertyCompanyStaff.company_id == PropertyCompany.id)
        # One row per community the company serves: the staff member acts for it in each.
        .join(PropertyCompanyCommunity, PropertyCompanyCommunity.company_id == PropertyCompany.id)
        .join(Area, Area.id == PropertyCompanyCommunity.community_id)
        .where(PropertyCompanyStaff.user_id == user.id)
        .order_by(PropertyCompany.id, Area.id)
    )
    merchants = session.execute(
        sa.select(Merchant.id, Merchant.name, Area.code)
        .join(MerchantStaff, MerchantStaff.merchant_id == Merchant.id)
        .join(Area, Area.id == Merchant.community_id)
        .where(MerchantStaff.user_id == user.id)
        .order_by(Merchant.id)
    )
    grants = session.execute(
        sa.select(SubscriptionGrant.template_key, SubscriptionGrant.remaining)
        .where(SubscriptionGrant.user_id == user.id)
        .order_by(SubscriptionGrant.template_key)
    )
    return ExportHead(
        format=FORMAT,
        generated_at=now_utc(),
        profile=ExportProfile(
            id=user.id,
            nickname=user.nickname,
            phone=user.phone,
            openid=user.openid,
            unionid=user.unionid,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
        ),
        roles=roles_out(user),
        household=household_out(user.household) if user.household is not None else None,
        skills=skills_of(session, user.id),
        volunteer=_registry_entry(session, user),
        teams=[ExportGroup(id=i, name=name, community=code) for i, name, code in teams],
        property_companies=[ExportGroup(id=i, name=name, community=code) for i, name, code in companies],
        merchants=[ExportGroup(id=i, name=name, community=code) for i, name, code in merchants],
        bot=ExportBot(
            oa_openid=user.oa_openid,
            following=user.oa_following,
            blocked_at=user.oa_blocked_at,
            followers=_followers(session, user),
        ),
        subscriptions=dict(grants.all()),
        points_balance=balance_of(session, user.id),
        care_tags=tags_of_resident(session, user.id),
    )


def _followers(session: Session, user: User) -> list[ExportFollower]:
    mine = followers_of(user)
    if mine is None:
        return []
    rows = session.scalars(sa.select(OaFollower).where(mine).order_by(OaFollower.oa_openid))
    return [
        ExportFollower(oa_openid=r.oa_openid, unionid=r.unionid, following=r.following, updated_at=r.updated_at)
        for r in rows
    ]


def _registry_entry(session: Session, user: User) -> VolunteerProfileOut | None:
    """What the registry holds of them: for a volunteer, or for someone who filled it in once."""
    volunteering = {m.area_id for m in user.memberships if m.role is Role.VOLUNTEER}
    if not volunteering and session.get(VolunteerProfile, user.id) is None:
        return None
    return profile_of(session, user.id, volunteering)


def _orders(session: Session, actor: Actor, after: int) -> list[tuple[int, Shape]]:
    orders = session.scalars(
        sa.select(Order)
        .where(sa.or_(Order.resident_id == actor.user_id, Order.created_by_id == actor.user_id), Order.id > after)
        .order_by(Order.id)
        .limit(BATCH)
    ).all()
    # As the caller sees them anywhere else: a grid worker's 代下单 shows that resident masked.
    shaped = present_orders(session, actor, orders, with_events=True)
    return [(order.id, order) for order in shaped]


def _ratings(condition: Callable[[Actor], sa.ColumnElement[bool]]) -> Fetch:
    def fetch(session: Session, actor: Actor, after: int) -> list[tuple[int, Shape]]:
        rows = session.execute(
            sa.select(Rating)
            .join(Order, Order.id == Rating.order_id)
            .where(condition(actor), Rating.id > after)
            .order_by(Rating.id)
            .limit(BATCH)
        ).scalars()
        return [
            (
                r.id,
                ExportRating(
                    order_id=r.order_id,
                    score=r.score,
                    speed=r.speed,
                    attitude=r.attitude,
                    comment=r.comment,
                    at=r.created_at,
                ),
            )
            for r in rows
        ]

    return fetch


def _notifications(session: Session, actor: Actor, after: int) -> list[tuple[int, Shape]]:
    rows = session.scalars(
        sa.select(Notification)
        .where(Notification.user_id == actor.user_id, Notification.id > after)
        .order_by(Notification.id)
        .limit(BATCH)
    )
    return [
        (
            n.id,
            NotificationOut(
                id=n.id,
                template_key=n.template_key,
                title=n.title,
                body=n.body,
                order_id=n.order_id,
                read=n.read_at is not None,
                created_at=n.created_at,
            ),
        )
        for n in rows
    ]


def _points(session: Session, actor: Actor, after: int) -> list[tuple[int, Shape]]:
    rows = session.scalars(
        sa.select(PointsEntry)
        .where(PointsEntry.user_id == actor.user_id, PointsEntry.id > after)
        .order_by(PointsEntry.id)
        .limit(BATCH)
    )
    return [(e.id, entry_out(e)) for e in rows]


def _redemptions(session: Session, actor: Actor, after: int) -> list[tuple[int, Shape]]:
    rows = session.execute(
        presented()
        .where(Redemption.user_id == actor.user_id, Redemption.id > after)
        .order_by(Redemption.id)
        .limit(BATCH)
    ).all()
    return [(shaped.id, shaped) for shaped in present(rows)]


def _uploads(session: Session, actor: Actor, after: int) -> list[tuple[int, Shape]]:
    rows = session.scalars(
        sa.select(Attachment)
        .where(Attachment.uploader_id == actor.user_id, Attachment.id > after)
        .order_by(Attachment.id)
        .limit(BATCH)
    )
    return [
        (
            a.id,
            ExportUpload(
                id=a.id,
                purpose=a.purpose,
                order_id=a.order_id,
                content_type=a.content_type,
                byte_size=a.byte_size,
                created_at=a.created_at,
            ),
        )
        for a in rows
    ]


def _audit(session: Session, actor: Actor, after: int) -> list[tuple[int, Shape]]:
    rows = session.execute(
        sa.select(AuditEntry, Area.code, User.nickname)
        .join(Area, Area.id == AuditEntry.area_id)
        .outerjoin(User, User.id == AuditEntry.actor_id)
        .where(AuditEntry.subject_id == actor.user_id, AuditEntry.id > after)
        .order_by(AuditEntry.id)
        .limit(BATCH)
    )
    return [
        (
            entry.id,
            ExportAuditEntry(
                id=entry.id,
                kind=entry.kind,
                area=code,
                actor=Ref(id=entry.actor_id, name=nickname or texts.unnamed(entry.actor_id))
                if entry.actor_id is not None
                else None,
                order_id=entry.order_id,
                detail=entry.detail,
                at=entry.created_at,
            ),
        )
        for entry, code, nickname in rows
    ]


#: The streamed sections, in the order of ``AccountExport``.
_SECTIONS: Final[tuple[tuple[str, Fetch], ...]] = (
    ("orders", _orders),
    ("ratings_given", _ratings(lambda actor: Order.resident_id == actor.user_id)),
    ("ratings_received", _ratings(lambda actor: Rating.assignee_id == actor.user_id)),
    ("notifications", _notifications),
    ("points", _points),
    ("redemptions", _redemptions),
    ("uploads", _uploads),
    ("audit", _audit),
)
