"""What area and catalogue use cases answer."""

from __future__ import annotations

from app.core.shapes import Shape


class CategoryOut(Shape):
    code: str
    name: str
    points: int
    sla_hours: int
    skill: str | None
    #: The skill's Chinese name, to show (电工); null when the category asks for no skill.
    skill_name: str | None = None


class CategoryList(Shape):
    items: list[CategoryOut]
