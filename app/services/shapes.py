"""What services hand back: pydantic models that the API serialises as they are.

Times are answered in Asia/Shanghai (+08:00), as API.md fixes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer

from app.clock import to_shanghai

#: A datetime answered with a +08:00 offset.
ShanghaiTime = Annotated[datetime, PlainSerializer(lambda moment: to_shanghai(moment).isoformat(), return_type=str)]


class Shape(BaseModel):
    model_config = ConfigDict(frozen=True)


class AreaRef(Shape):
    code: str
    name: str
    kind: str


class RoleOut(Shape):
    role: str
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


class ProfileOut(UserOut):
    phone: str | None
    household: HouseholdOut | None
    points_balance: int


class LoginOut(Shape):
    token: str
    expires_in: int
    user: UserOut


class PhoneOut(Shape):
    phone: str


class InvitationOut(Shape):
    code: str
    role: str
    area: AreaRef
    expires_at: ShanghaiTime
