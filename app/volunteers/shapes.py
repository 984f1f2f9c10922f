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
