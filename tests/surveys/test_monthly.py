"""The monthly job: on the 1st it opens each company × served community's survey once and
invites each resident once (re-runs open and tell nothing); judging the month before raises a
flag to the street only for two months below the threshold on enough answers, once."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
import time_machine

from app.notify.consent import add_grants
from app.notify.delivery import deliver_due
from app.notify.models import Notification, OutboxMessage
from app.runtime import Runtime
from app.surveys.models import PropertyEvaluationFlag, PropertySurvey
from app.surveys.monthly import evaluate_month, open_surveys, run_month
from jobs.registry import job_specs
from jobs.scheduler import fire
from tests.factories import make_person
from tests.surveys.estate import Estate, answer, at, make_estate, open_month, survey_id


def _count(rt: Runtime, model: type, *where: object) -> int:
    with rt.db.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def _invites(rt: Runtime) -> list[tuple[int, str]]:
    with rt.db.read() as session:
        rows = session.execute(
            sa.select(Notification.user_id, Notification.title)
            .where(Notification.template_key == "survey_invite")
            .order_by(Notification.user_id, Notification.id)
        )
        return [(user_id, title) for user_id, title in rows]


def test_a_malformed_month_opens_nothing(rt: Runtime) -> None:
    make_estate(rt)
    for month in ("2026-13", "202612", "2026-1"):
        try:
            open_surveys(rt, month, at("2026-12"))
        except ValueError:
            pass
        else:
            raise AssertionError(f"{month} was accepted")
    assert _count(rt, PropertySurvey) == 0


def test_the_first_of_the_month_opens_each_survey_once_and_invites_each_resident_once(rt: Runtime) -> None:
    estate = make_estate(rt, sq1=2, sq2=1)
    with rt.db.write() as session:
        add_grants(session, estate.sq1[0].id, ["survey_invite"])
    [spec] = [spec for spec in job_specs(rt.settings) if spec.id == "property_surveys"]
    assert (spec.monthly_day, spec.daily_at) == (1, (9, 0))
    run_at = at("2026-12")
    with time_machine.travel(run_at, tick=False):
        # 阳光物业 in SQ1 and SQ2, 安居物业 in SQ1: three surveys; SQ1's two residents hear of two
        # surveys each, SQ2's one of one.
        assert fire(rt, spec) == "flagged=0 opened=3 invited=5"
    with time_machine.travel(run_at + timedelta(minutes=5), tick=False):
        assert fire(rt, spec) is None  # the month's slot already ran
    # Even run again by hand (a second process, an operator), nothing is opened or told twice.
    assert str(run_month(rt, run_at + timedelta(hours=1))) == "flagged=0 opened=0 invited=0"
    assert _count(rt, PropertySurvey) == 3
    invites = _invites(rt)
    assert len(invites) == 5
    assert {title for _, title in invites} == {"物业满意度测评"}
    assert sorted(user for user, _ in invites) == sorted(
        [estate.sq1[0].id] * 2 + [estate.sq1[1].id] * 2 + [estate.sq2[0].id]
    )
    with rt.db.read() as session:
        survey = session.scalars(sa.select(PropertySurvey).order_by(PropertySurvey.id)).first()
        assert survey is not None
        assert (survey.month, survey.closes_at - survey.opened_at) == ("2026-12", timedelta(days=14))
    # The resident who granted one subscribe message gets one push (the second survey finds the
    # grant spent); the others' are skipped, never sent blind.
    deliver_due(rt, now=run_at)
    assert _count(rt, OutboxMessage, OutboxMessage.template_key == "survey_invite", OutboxMessage.status == "sent") == 1
    with rt.db.read() as session:
        statuses = dict(
            session.execute(
                sa.select(OutboxMessage.recipient_user_id, OutboxMessage.status).where(
                    OutboxMessage.template_key == "survey_invite", OutboxMessage.recipient_user_id == estate.sq1[1].id
                )
            ).all()
        )
    assert statuses[estate.sq1[1].id].value == "skipped"


def test_a_resident_who_moves_in_later_is_invited_by_the_next_run_of_the_month(rt: Runtime) -> None:
    estate = make_estate(rt, sq1=1, sq2=0)
    open_month(rt, "2026-12")
    make_person(rt, "newcomer", home=(estate.world.community, estate.world.grid))
    assert open_surveys(rt, "2026-12", at("2026-12", 3)) == (0, 2)  # two surveys of SQ1, the newcomer only
    # After the window nobody is invited to a closed survey.
    make_person(rt, "late", home=(estate.world.community, estate.world.grid))
    assert open_surveys(rt, "2026-12", at("2026-12", 20)) == (0, 0)


# -- the two-months rule ----------------------------------------------------------------------------

ALL_3 = (3, 3, 3, 3, 3)  # 50 of 100: below 80
ALL_5 = (5, 5, 5, 5, 5)  # 100


def _month(rt: Runtime, estate: Estate, month: str, scores: tuple[int, ...], answers: int) -> None:
    """``month``'s surveys, and ``answers`` of SQ1's residents answering 阳光物业's with ``scores``."""
    open_month(rt, month)
    survey = survey_id(rt, estate.sunny, "SQ1", month)
    for resident in estate.sq1[:answers]:
        answer(rt, resident, survey, scores, month)


def _flags(rt: Runtime) -> list[tuple[int, str]]:
    with rt.db.read() as session:
        rows = session.execute(sa.select(PropertyEvaluationFlag.company_id, PropertyEvaluationFlag.month))
        return [(company_id, month) for company_id, month in rows]


def _flag_notices(rt: Runtime) -> list[tuple[int, str]]:
    with rt.db.read() as session:
        rows = session.execute(
            sa.select(Notification.user_id, Notification.body).where(Notification.template_key == "property_flagged")
        )
        return [(user_id, body) for user_id, body in rows]


def test_below_and_below_flags_once_with_the_evidence_and_tells_the_street_once(rt: Runtime) -> None:
    estate = make_estate(rt, sq1=5, sq2=0)
    _month(rt, estate, "2026-10", ALL_3, 5)
    _month(rt, estate, "2026-11", ALL_3, 5)
    # The 1 December run judges November (and October before it), then opens December.
    assert str(run_month(rt, at("2026-12"))) == "flagged=1 opened=3 invited=10"
    assert evaluate_month(rt, "2026-11", at("2026-12", 2)) == 0  # a re-run raises nothing more
    assert str(run_month(rt, at("2026-12", 1, 10))) == "flagged=0 opened=0 invited=0"
    assert _flags(rt) == [(estate.sunny, "2026-11")]  # 安居物业 had no answers: not enough, no flag
    with rt.db.read() as session:
        evidence = session.scalars(sa.select(PropertyEvaluationFlag.evidence)).one()
    assert set(evidence) == {"2026-10", "2026-11"}
    for month in ("2026-10", "2026-11"):
        assert (evidence[month]["responses"], evidence[month]["score"], evidence[month]["below"]) == (5, 50.0, True)
        assert evidence[month]["surveys"] == 2  # SQ1 and SQ2 of the street
    assert _flag_notices(rt) == [
        (
            estate.street_admin.id,
            "阳光物业在新华街道的物业满意度测评连续两个月低于标准（2026年10月50.0分、2026年11月50.0分），已列为黑名单候选，请核查。",
        )
    ]


def test_below_then_above_raises_no_flag(rt: Runtime) -> None:
    estate = make_estate(rt, sq1=5, sq2=0)
    _month(rt, estate, "2026-10", ALL_3, 5)
    _month(rt, estate, "2026-11", ALL_5, 5)
    assert evaluate_month(rt, "2026-11", at("2026-12")) == 0
    assert _flags(rt) == []
    assert _flag_notices(rt) == []


def test_below_then_not_enough_answers_raises_no_flag(rt: Runtime) -> None:
    estate = make_estate(rt, sq1=5, sq2=0)
    _month(rt, estate, "2026-10", ALL_3, 5)
    _month(rt, estate, "2026-11", ALL_3, 4)  # one short of min_responses
    assert evaluate_month(rt, "2026-11", at("2026-12")) == 0
    # And the other way round: a month of too few answers before a low one is no evidence either.
    _month(rt, estate, "2026-12", ALL_3, 5)
    assert evaluate_month(rt, "2026-12", at("2027-01")) == 0
    assert _flags(rt) == []
