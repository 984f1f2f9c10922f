"""Request bodies and query strings (pydantic); answers are in app/services/shapes.py."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.workflow import Role

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
AreaCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]


class Body(BaseModel):
    """Unknown fields are refused: a typo should fail loudly, not be ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LoginIn(Body):
    code: Code = Field(description="wx.login 返回的 code")


class PhoneIn(Body):
    code: Code = Field(description="getPhoneNumber 返回的 code")


class HouseholdIn(Body):
    community: AreaCode
    grid: AreaCode | None = None
    building: Label = ""
    unit: Label = ""
    room: Label = ""


class InvitationIn(Body):
    role: Role
    area: AreaCode


class RedeemIn(Body):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=4, max_length=16)]
