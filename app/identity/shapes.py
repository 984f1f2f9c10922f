"""What identity use cases answer."""

from __future__ import annotations

from app.areas.models import Area, AreaKind
from app.core.shapes import ShanghaiTime, Shape
from app.identity.models import User
from app.identity.roles import Role


class AreaRef(Shape):
    code: str
    name: str
    kind: AreaKind


class RoleOut(Shape):
    role: Role
    area: AreaRef


class HouseholdOut(Shape):
    community: AreaRef
    grid: AreaRef | None
    building: str
    unit: str
    room: str
    verified: bool


class UserOut(Shape):
    id: int
    nickname: str
    roles: list[RoleOut]


class LoginOut(Shape):
    token: str
    expires_in: int
    user: UserOut


class PhoneOut(Shape):
    phone: str


class InvitationOut(Shape):
    code: str
    role: Role
    area: AreaRef
    expires_at: ShanghaiTime


def display_name(user_id: int, nickname: str | None) -> str:
    """How answers name a person: the nickname, or 用户<id> for someone who never gave one (the one
    wording, for orders, candidates, teams and the volunteer picker alike)."""
    return nickname or f"用户{user_id}"


def area_ref(area: Area) -> AreaRef:
    """An area as the API names it."""
    return AreaRef(code=area.code, name=area.name, kind=area.kind)


def roles_out(user: User) -> list[RoleOut]:
    """The user's roles with their areas (memberships and areas loaded by the caller)."""
    return [RoleOut(role=m.role, area=area_ref(m.area)) for m in user.memberships]
