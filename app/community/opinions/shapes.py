"""What the visit log answers: a visit with its items (and their orders), a page of visits, the
figures of the statistics' ``opinions`` block."""

from __future__ import annotations

from pydantic import Field

from app.community.opinions.models import VisitKind
from app.core.shapes import ShanghaiTime, Shape
from app.orders.shapes import OrderOut
from app.orders.workflow import OrderStatus


class PersonRef(Shape):
    id: int
    name: str


class ItemOrder(Shape):
    """The order made of an item, as it is now."""

    id: int
    number: str
    status: OrderStatus
    #: 待派单 / 已完成 …
    status_label: str


class ItemOut(Shape):
    #: The item's place in the visit, from 1: the ``{n}`` of ``/items/{n}/order``.
    n: int
    text: str
    category: str
    order: ItemOrder | None


class VisitOut(Shape):
    id: int
    #: The community's code, and the grid's (null when none was given).
    community: str
    grid: str | None
    kind: VisitKind
    #: 三访三问 / 吃茶话事 / 接待日
    kind_label: str
    held_at: ShanghaiTime
    place: str
    staff: list[PersonRef]
    #: The ids of the households visited.
    households: list[int]
    residents_met: int
    items: list[ItemOut]
    recorded_by: PersonRef | None
    created_at: ShanghaiTime


class VisitEnvelope(Shape):
    visit: VisitOut


class VisitPage(Shape):
    items: list[VisitOut]
    next_cursor: str | None


class ItemOrderOut(Shape):
    """The answer of turning an item into an order: the item (now pointing at it) and the order."""

    item: ItemOut
    order: OrderOut


class OpinionCounts(Shape):
    """The figures of the visits held in the range (see docs/api.md, 民情收集)."""

    visits: int
    #: Every kind, 0 included: ``home_visit``, ``tea_talk``, ``reception_day``.
    by_kind: dict[str, int]
    residents_met: int
    items: int
    #: Items made into orders, and of those the orders now closed (已完成).
    ordered: int
    closed: int


class OpinionAreaCounts(OpinionCounts):
    #: The grid's (or community's) code; null for the visits logged without a grid.
    area: str | None


class OpinionStats(OpinionCounts):
    #: Per grid (no grid: ``area`` null); the rows add up to the figures above.
    by_grid: list[OpinionAreaCounts]
    #: Only for a street: each of its communities.
    by_community: list[OpinionAreaCounts] | None = Field(default=None)
