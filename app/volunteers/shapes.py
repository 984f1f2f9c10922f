"""What team use cases answer; times in +08:00."""

from __future__ import annotations

from app.core.shapes import ShanghaiTime, Shape
from app.identity.shapes import AreaRef


class PersonRef(Shape):
    """A volunteer as a team shows them: no phone (staff see none in lists, PIPL minimum scope)."""

    id: int
    name: str


class TeamOut(Shape):
    id: int
    community: AreaRef
    name: str
    leader: PersonRef | None
    member_count: int
    #: Every member, by id; only in the answers about one team (lists answer null: page the
    #: members with ``GET /volunteers?community=C&team=ID``).
    members: list[PersonRef] | None = None
    created_at: ShanghaiTime


class TeamEnvelope(Shape):
    team: TeamOut


class TeamPage(Shape):
    items: list[TeamOut]
    next_cursor: str | None


class SlotOut(Shape):
    """A weekly slot: ``weekday`` 1 (Monday) … 7, times HH:MM in Asia/Shanghai (an end at midnight is 24:00)."""

    weekday: int
    start: str
    end: str


class VolunteerProfileOut(Shape):
    """A volunteer's registry entry (技能特长信息库)."""

    skills: list[str]
    #: The skills' Chinese names, in the order of ``skills``.
    skill_names: list[str]
    availability: list[SlotOut]
    #: Orders they hold at once at most; at that many they are not proposed for more.
    max_active: int
    party_member: bool
    #: 在职党员双报到: a party member in service elsewhere, reporting to the community.
    in_service: bool
    employer_unit: str | None
    #: Service hours a year their employer unit asks of them.
    unit_hours: int | None


class SkillOut(Shape):
    code: str
    name: str
    active: bool


class SkillList(Shape):
    items: list[SkillOut]


class SkillEnvelope(Shape):
    skill: SkillOut
