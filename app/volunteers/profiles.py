"""Volunteer profiles (技能特长信息库): reading and replacing a volunteer's skills, weekly slots,
capacity and party-member facts. Helpers for use cases (flush only); the use case that checks the
words and answers ``/me/volunteer`` is ``app.account.volunteer``."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.skills import require_skills, skill_names
from app.core.errors import InvalidInputError
from app.volunteers.availability import Slot, parse_slots
from app.volunteers.models import VolunteerAvailability, VolunteerProfile
from app.volunteers.shapes import SlotOut, VolunteerProfileOut
from app.volunteers.skills import replace_skills, skills_of

#: Orders held at once by a volunteer who never said (the ranking leaves out those at capacity).
DEFAULT_MAX_ACTIVE = 3
#: The most a volunteer may say they hold at once.
MAX_ACTIVE_LIMIT = 10
#: The most service hours a year an employer unit can ask (a working year).
UNIT_HOURS_MAX = 2000


@dataclass(frozen=True, slots=True)
class ProfileIn:
    skills: list[str]
    #: (weekday, "HH:MM", "HH:MM") as sent.
    availability: list[tuple[int, str, str]]
    max_active: int
    party_member: bool
    in_service: bool
    employer_unit: str | None
    unit_hours: int | None


def validate(session: Session, user_id: int, communities: Collection[int], wanted: ProfileIn) -> list[Slot]:
    """Every rule of a profile, before anything is written; the slots parsed. Raises
    InvalidInputError naming the fields: skills not in the volunteer's communities' catalogues
    (unless they have them already),
    bad slots, ``max_active`` out of 1..MAX_ACTIVE_LIMIT, 双报到 without being a party member, an
    employer unit or its hours without 双报到 (or 双报到 without a unit)."""
    problems: list[dict[str, str]] = []
    if not 1 <= wanted.max_active <= MAX_ACTIVE_LIMIT:
        problems.append({"field": "max_active", "problem": f"1..{MAX_ACTIVE_LIMIT}"})
    unit = (wanted.employer_unit or "").strip()
    if wanted.in_service and not wanted.party_member:
        problems.append({"field": "in_service", "problem": "only for party members"})
    if wanted.in_service and not unit:
        problems.append({"field": "employer_unit", "problem": "required for in-service party members"})
    if not wanted.in_service and unit:
        problems.append({"field": "employer_unit", "problem": "only for in-service party members"})
    if wanted.unit_hours is not None and (not wanted.in_service or not 1 <= wanted.unit_hours <= UNIT_HOURS_MAX):
        problems.append({"field": "unit_hours", "problem": f"1..{UNIT_HOURS_MAX}, in-service party members only"})
    if problems:
        raise InvalidInputError("志愿者信息有误", details={"fields": problems})
    slots = parse_slots(wanted.availability)
    require_skills(session, communities, wanted.skills, "skills", kept=skills_of(session, user_id))
    return slots


def store_profile(session: Session, user_id: int, wanted: ProfileIn, slots: list[Slot]) -> None:
    """Replace the volunteer's profile, skills and slots with ``wanted`` (validated)."""
    replace_skills(session, user_id, wanted.skills)
    session.execute(sa.delete(VolunteerAvailability).where(VolunteerAvailability.user_id == user_id))
    session.add_all(VolunteerAvailability(user_id=user_id, starts=s.starts, ends=s.ends) for s in slots)
    profile = session.get(VolunteerProfile, user_id) or VolunteerProfile(user_id=user_id)
    profile.max_active = wanted.max_active
    profile.party_member = wanted.party_member
    profile.in_service = wanted.in_service
    profile.employer_unit = (wanted.employer_unit or "").strip() or None if wanted.in_service else None
    profile.unit_hours = wanted.unit_hours if wanted.in_service else None
    session.add(profile)
    session.flush()


def profile_of(session: Session, user_id: int, communities: Collection[int]) -> VolunteerProfileOut:
    """The volunteer's profile (the defaults where they never said), skills named by the catalogues
    of ``communities``."""
    skills = skills_of(session, user_id)
    names = skill_names(session, communities, skills)
    profile = session.get(VolunteerProfile, user_id)
    slots = session.scalars(
        sa.select(VolunteerAvailability)
        .where(VolunteerAvailability.user_id == user_id)
        .order_by(VolunteerAvailability.starts)
    )
    return VolunteerProfileOut(
        skills=skills,
        skill_names=[names[code] for code in skills],
        availability=[_slot_out(Slot(row.starts, row.ends)) for row in slots],
        max_active=profile.max_active if profile else DEFAULT_MAX_ACTIVE,
        party_member=profile.party_member if profile else False,
        in_service=profile.in_service if profile else False,
        employer_unit=profile.employer_unit if profile else None,
        unit_hours=profile.unit_hours if profile else None,
    )


def _slot_out(slot: Slot) -> SlotOut:
    start, end = slot.clock()
    return SlotOut(weekday=slot.weekday, start=start, end=end)


def forget_profile(session: Session, user_id: int) -> None:
    """Helper (flushes only): no profile, slots or skills any more (account deletion)."""
    replace_skills(session, user_id, [])
    session.execute(sa.delete(VolunteerAvailability).where(VolunteerAvailability.user_id == user_id))
    session.execute(sa.delete(VolunteerProfile).where(VolunteerProfile.user_id == user_id))
    session.flush()
