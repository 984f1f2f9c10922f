"""The month's work, run on the 1st (job ``property_surveys``): judge the month before, whose
surveys closed (``window_days`` ≤ 28 keeps every survey's close before the next 1st), raising a flag
to the street for a company below the threshold two months running; then open this month's
surveys, one per company and community served, and invite each resident with a household there.

Idempotent by constraints, not by looking first: a survey is unique per (company, community,
month), a flag per (street, company, month), an invitation by its outbox dedupe key. A second run,
or a second job process, opens, flags and tells nothing more; a run that stopped half-way is
completed by the next one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.areas.models import Area, AreaKind
from app.core.clock import shanghai_today
from app.identity.models import Household, RoleMembership, User
from app.identity.roles import Role
from app.notify.chains import Addressee
from app.notify.models import Notification
from app.notify.outbox import notify_user
from app.property.models import PropertyCompany, PropertyCompanyCommunity
from app.runtime import Runtime
from app.surveys.models import PropertyEvaluationFlag, PropertySurvey
from app.surveys.results import figures, tallies
from app.surveys.rules import EMPTY, Tally, month_of, parse_month, previous_month, scores_of, should_flag
from app.surveys.texts import FLAG_KEY, INVITE_KEY, flagged, invite

#: Residents invited per transaction: a community's thousands of households in short transactions.
BATCH = 500


@dataclass(frozen=True)
class MonthRun:
    """What one run did now (zeros on a re-run)."""

    flagged: int
    opened: int
    invited: int

    def __str__(self) -> str:
        return f"flagged={self.flagged} opened={self.opened} invited={self.invited}"


def run_month(rt: Runtime, now: datetime) -> MonthRun:
    """The job: judge last month, then open this month's surveys (Shanghai months of ``now``)."""
    month = month_of(shanghai_today(now))
    flagged_now = evaluate_month(rt, previous_month(month), now)
    opened, invited = open_surveys(rt, month, now)
    return MonthRun(flagged_now, opened, invited)


def _insert_once(session: Session, row: object) -> bool:
    # A savepoint: a duplicate (a re-run, a second process) leaves the transaction usable.
    try:
        with session.begin_nested():
            session.add(row)
        return True
    except IntegrityError:
        return False


def open_surveys(rt: Runtime, month: str, now: datetime) -> tuple[int, int]:
    """Operators (job, CLI): open ``month``'s survey of every company in every community it serves
    (not retired), answering ``(opened now, residents invited now)``; ValueError for a month that
    is not YYYY-MM. A survey takes answers for ``[surveys] window_days`` from ``now``."""
    parse_month(month)
    window = timedelta(days=rt.settings.surveys.window_days)
    with rt.db.read() as session:
        pairs = session.execute(
            sa.select(PropertyCompanyCommunity.company_id, PropertyCompanyCommunity.community_id)
            .join(Area, Area.id == PropertyCompanyCommunity.community_id)
            .where(Area.retired.is_(False))
            .order_by(PropertyCompanyCommunity.company_id, PropertyCompanyCommunity.community_id)
        ).all()
    opened = invited = 0
    for company_id, community_id in pairs:
        with rt.db.write() as session:
            survey = PropertySurvey(
                company_id=company_id, community_id=community_id, month=month, opened_at=now, closes_at=now + window
            )
            if _insert_once(session, survey):
                opened += 1
            else:
                survey = session.scalars(
                    sa.select(PropertySurvey).where(
                        PropertySurvey.company_id == company_id,
                        PropertySurvey.community_id == community_id,
                        PropertySurvey.month == month,
                    )
                ).one()
            survey_id, closes_at = survey.id, survey.closes_at
        if closes_at > now:
            invited += _invite_residents(
                rt,
                survey_id=survey_id,
                company_id=company_id,
                community_id=community_id,
                month=month,
                closes_at=closes_at,
                now=now,
            )
    return opened, invited


def _invite_residents(
    rt: Runtime, *, survey_id: int, company_id: int, community_id: int, month: str, closes_at: datetime, now: datetime
) -> int:
    prefix = f"survey_invite:{survey_id}:user:"
    # Those told already are left out in SQL, by the inbox's unique dedupe key (an index lookup
    # each): a re-run then costs one statement, not a failed insert per resident. The key is still
    # what guarantees "once", should two runs overlap.
    told = (
        sa.select(Notification.id)
        .where(Notification.dedupe_key == sa.literal(prefix) + sa.cast(Household.user_id, sa.String()))
        .exists()
    )
    with rt.db.read() as session:
        user_ids = list(
            session.scalars(
                sa.select(Household.user_id)
                .where(Household.community_id == community_id, ~told)
                .order_by(Household.user_id)
            )
        )
        company = session.get_one(PropertyCompany, company_id).name
        community = session.get_one(Area, community_id).name
    rendered = invite(company, community, month, closes_at)
    invited = 0
    for start in range(0, len(user_ids), BATCH):
        with rt.db.write() as session:
            users = session.scalars(sa.select(User).where(User.id.in_(user_ids[start : start + BATCH])))
            for user in users:
                invited += notify_user(
                    session,
                    rt.settings.notify,
                    user=user,
                    template_key=INVITE_KEY,
                    rendered=rendered,
                    dedupe_key=f"{prefix}{user.id}",
                    addressee=Addressee.MEMBER,
                    now=now,
                )
    return invited


def _street_sums(session: Session, month: str) -> dict[tuple[int, int], tuple[Tally, int]]:
    """The month's sums and survey counts per (street, company), over each street's communities."""
    rows, surveys = tallies(session, month, None)
    streets = dict(
        session.execute(
            sa.select(Area.id, Area.parent_id).where(
                Area.kind == AreaKind.COMMUNITY, Area.id.in_(sorted({c for _, c in rows}))
            )
        ).all()
    )
    summed: dict[tuple[int, int], tuple[Tally, int]] = defaultdict(lambda: (EMPTY, 0))
    for (company_id, community_id), tally in rows.items():
        street_id = streets.get(community_id)
        if street_id is not None:
            total, count = summed[(street_id, company_id)]
            summed[(street_id, company_id)] = (total + tally, count + surveys.get((company_id, community_id), 0))
    return summed


def evaluate_month(rt: Runtime, month: str, now: datetime) -> int:
    """Operators (job, CLI): flag to its street each company below the threshold in ``month`` and
    the month before, both with enough answers, and tell the street's admins; answers how many
    flags were raised now (none the second time)."""
    cfg = rt.settings.surveys
    before_month = previous_month(month)
    with rt.db.read() as session:
        this = _street_sums(session, month)
        before = _street_sums(session, before_month)
    empty = (EMPTY, 0)
    due = [
        key
        for key in sorted(this)
        if should_flag(
            this[key][0], before.get(key, empty)[0], threshold=cfg.threshold, min_responses=cfg.min_responses
        )
    ]
    raised = 0
    for street_id, company_id in due:
        now_tally, before_tally = this[(street_id, company_id)], before[(street_id, company_id)]
        evidence = {
            before_month: figures(*before_tally, cfg).model_dump(mode="json"),
            month: figures(*now_tally, cfg).model_dump(mode="json"),
        }
        with rt.db.write() as session:
            flag = PropertyEvaluationFlag(
                street_id=street_id, company_id=company_id, month=month, evidence=evidence, created_at=now
            )
            if not _insert_once(session, flag):
                continue
            raised += 1
            street = session.get_one(Area, street_id)
            company = session.get_one(PropertyCompany, company_id).name
            rendered = flagged(
                company,
                street=street.name,
                month=month,
                score=scores_of(now_tally[0]).score,
                earlier=scores_of(before_tally[0]).score,
                at=now,
            )
            admins = session.scalars(
                sa.select(User)
                .join(RoleMembership, RoleMembership.user_id == User.id)
                .where(RoleMembership.role == Role.STREET_ADMIN, RoleMembership.area_id == street_id)
                .order_by(User.id)
            )
            for admin in admins:
                notify_user(
                    session,
                    rt.settings.notify,
                    user=admin,
                    template_key=FLAG_KEY,
                    rendered=rendered,
                    dedupe_key=f"property_flag:{flag.id}:user:{admin.id}",
                    addressee=Addressee.STAFF,
                    now=now,
                )
    return raised
