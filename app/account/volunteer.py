"""The caller's own volunteer profile (GET/PUT /me/volunteer): skills from the community's
catalogue, weekly slots, how many orders at once, party membership and 在职党员双报到. Here and not
in ``app.volunteers`` because the employer unit is a text others read, checked by content security
(``app.orders.content``)."""

from __future__ import annotations

from app.core.errors import ForbiddenError
from app.identity.actor import Actor
from app.identity.roles import Role
from app.orders.content import check_texts
from app.runtime import Runtime
from app.volunteers.profiles import ProfileIn, profile_of, store_profile, validate
from app.volunteers.shapes import VolunteerProfileOut

_ONLY_VOLUNTEERS = "只有志愿者可以登记志愿者信息"


def get_volunteer_profile(rt: Runtime, actor: Actor) -> VolunteerProfileOut:
    """A volunteer: their profile (the defaults where they never said). ForbiddenError for anyone else."""
    communities = actor.communities_as(Role.VOLUNTEER)
    if not communities:
        raise ForbiddenError(_ONLY_VOLUNTEERS)
    with rt.db.read() as session:
        return profile_of(session, actor.user_id, communities)


def set_volunteer_profile(rt: Runtime, actor: Actor, wanted: ProfileIn) -> VolunteerProfileOut:
    """A volunteer: replace their profile whole. Everything is checked before anything is written:
    ForbiddenError (not a volunteer), InvalidInputError (``app.volunteers.profiles.validate``),
    ContentRejectedError (the employer unit's name)."""
    communities = actor.communities_as(Role.VOLUNTEER)
    if not communities:
        raise ForbiddenError(_ONLY_VOLUNTEERS)
    with rt.db.read() as session:
        validate(session, actor.user_id, communities, wanted)
    # Asked outside any transaction: WeChat may be slow, and no row should wait on it.
    check_texts(rt, actor, {"employer_unit": wanted.employer_unit or ""})
    with rt.db.write() as session:
        slots = validate(session, actor.user_id, communities, wanted)
        store_profile(session, actor.user_id, wanted, slots)
        return profile_of(session, actor.user_id, communities)
