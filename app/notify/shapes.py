"""What the inbox and consent use cases answer."""

from __future__ import annotations

from app.core.shapes import ShanghaiTime, Shape


class GrantsOut(Shape):
    #: template key → one-time messages still allowed
    remaining: dict[str, int]


class NotificationOut(Shape):
    id: int
    template_key: str
    title: str
    body: str
    order_id: int | None
    read: bool
    created_at: ShanghaiTime


class NotificationPage(Shape):
    items: list[NotificationOut]
    next_cursor: str | None
    unread: int


class MarkedOut(Shape):
    marked: int


class SubscribeTemplateOut(Shape):
    #: Linli's name of the template, what ``POST /subscriptions`` takes back
    key: str
    #: The WeChat template id, what ``wx.requestSubscribeMessage`` takes in ``tmplIds``
    template_id: str
    title: str


class SubscribeTemplateList(Shape):
    items: list[SubscribeTemplateOut]
