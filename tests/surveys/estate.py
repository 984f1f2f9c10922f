"""The surveys' cast: 新华街道 with 和平社区 (SQ1) and 幸福里社区 (SQ2); 阳光物业 serves both, 安居物业
SQ1 only; residents with households in each; helpers to open a month and answer it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import time_machine

from app.areas.models import Area
from app.core.clock import SHANGHAI
from app.identity.roles import Role
from app.orders.actions import ActionInput, Target, act
from app.orders.workflow import Action
from app.property.companies import create_property_company
from app.runtime import Runtime
from app.surveys.answers import answer_survey
from app.surveys.models import PropertySurvey
from app.surveys.monthly import open_surveys
from app.surveys.questions import CODES
from tests.factories import Person, World, actor_of, make_order, make_person, make_world


def at(month: str, day: int = 1, hour: int = 9) -> datetime:
    """``hour`` o'clock on ``day`` of ``month`` (YYYY-MM), Shanghai."""
    year, number = (int(part) for part in month.split("-"))
    return datetime(year, number, day, hour, 0, tzinfo=SHANGHAI)


@dataclass
class Estate:
    world: World
    sunny: int  # 阳光物业: SQ1 and SQ2
    anju: int  # 安居物业: SQ1
    sq1: list[Person]
    sq2: list[Person]
    secretary: Person
    street_admin: Person
    staff: Person  # 阳光物业's


def make_estate(rt: Runtime, *, sq1: int = 2, sq2: int = 1) -> Estate:
    world = make_world(rt)
    staff = make_person(rt, "pm-sunny")
    secretary = make_person(rt, "secretary-wang", (Role.SECRETARY, world.community))
    street_admin = make_person(rt, "admin-liu", (Role.STREET_ADMIN, world.street))
    with rt.db.write() as session:
        sunny = create_property_company(
            session, "阳光物业", communities=[world.community, world.other_community], staff_openids=["pm-sunny"]
        ).id
        anju = create_property_company(session, "安居物业", communities=[world.community]).id
    return Estate(
        world=world,
        sunny=sunny,
        anju=anju,
        sq1=[make_person(rt, f"sq1-resident-{n}", home=(world.community, world.grid)) for n in range(sq1)],
        sq2=[make_person(rt, f"sq2-resident-{n}", home=(world.other_community, world.other_grid)) for n in range(sq2)],
        secretary=secretary,
        street_admin=street_admin,
        staff=staff,
    )


def survey_id(rt: Runtime, company: int, community: str, month: str) -> int:
    """The id of ``company``'s survey of ``month`` in ``community`` (a code)."""
    with rt.db.read() as session:
        found = session.scalar(
            sa.select(PropertySurvey.id)
            .join(Area, Area.id == PropertySurvey.community_id)
            .where(PropertySurvey.company_id == company, PropertySurvey.month == month, Area.code == community)
        )
    assert found is not None, (company, community, month)
    return found


def open_month(rt: Runtime, month: str) -> None:
    open_surveys(rt, month, at(month))


def answer(rt: Runtime, who: Person, survey: int, scores: tuple[int, ...], month: str, comment: str = "") -> None:
    answer_survey(
        rt, who.actor(rt), survey, scores=dict(zip(CODES, scores, strict=True)), comment=comment, now=at(month, 2)
    )


def dispatched_order(
    rt: Runtime, estate: Estate, when: datetime, *, company: int, done: bool = False, rating: int | None = None
) -> int:
    """An order of SQ1's first resident dispatched to ``company`` at ``when``; ``done``: its staff
    accept, start and complete it; ``rating``: the resident rates it too."""
    resident = estate.sq1[0]
    with time_machine.travel(when, tick=False):
        order_id = make_order(rt, resident, estate.world)
        act(
            rt,
            estate.secretary.actor(rt),
            order_id,
            Action.DISPATCH,
            ActionInput(target=Target(property_company_id=company)),
        )
        if done or rating is not None:
            staff = actor_of(rt, estate.staff.openid)
            for action in (Action.ACCEPT, Action.START, Action.COMPLETE):
                act(
                    rt,
                    staff,
                    order_id,
                    action,
                    ActionInput(note="已修好") if action is Action.COMPLETE else ActionInput(),
                )
        if rating is not None:
            act(rt, resident.actor(rt), order_id, Action.RATE, ActionInput(score=rating))
    return order_id
