"""The profile a user sees of themselves."""

from __future__ import annotations

from app.identity.shapes import HouseholdOut, UserOut


class ProfileOut(UserOut):
    phone: str | None
    household: HouseholdOut | None
    points_balance: int
    skills: list[str]
