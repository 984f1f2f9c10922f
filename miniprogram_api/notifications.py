"""Subscribe-message templates and grants, and the in-app inbox (thin views)."""

from __future__ import annotations

from flask import Blueprint

from app.identity.actor import Actor
from app.notify import consent, templates
from app.notify import inbox as inbox_uc
from app.notify.shapes import GrantsOut, MarkedOut, NotificationPage, SubscribeTemplateList
from miniprogram_api import examples
from miniprogram_api.auth import runtime
from miniprogram_api.registry import endpoint
from miniprogram_api.schemas import MarkReadIn, PageQuery, SubscriptionsIn

bp = Blueprint("notifications", __name__, url_prefix="/api/v1")


@endpoint(
    bp,
    "/subscriptions/templates",
    method="GET",
    summary="订阅消息模板：传给 wx.requestSubscribeMessage 的模板编号",
    example=examples.SUBSCRIBE_TEMPLATES,
    description="tmplIds 用各项的 template_id；用户同意后，把对应的 key 报给 POST /api/v1/subscriptions。",
    operation_id="listSubscriptionTemplates",
    response=SubscribeTemplateList,
    errors=(401,),
)
def subscription_templates(actor: Actor) -> SubscribeTemplateList:
    del actor  # any logged-in user; the list is the same for everyone
    return templates.list_subscribe_templates(runtime())


@endpoint(
    bp,
    "/subscriptions",
    method="POST",
    summary="记录用户同意的订阅消息（一次性）",
    description='每次同意可发一条。服务端 `[notify] consent_from = "events"` 时以微信推送的同意事件计数，'
    '本接口不再增加次数，只校验模板并返回剩余次数；默认 `"api"` 时由本接口计数。',
    example=examples.GRANTS,
    body=SubscriptionsIn,
    response=GrantsOut,
    errors=(400, 401),
)
def record_subscriptions(actor: Actor, body: SubscriptionsIn) -> GrantsOut:
    return consent.record_grants(runtime(), actor, body.accepted)


@endpoint(
    bp,
    "/notifications",
    method="GET",
    summary="站内消息（最新在前）",
    example=examples.NOTIFICATIONS,
    operation_id="listNotifications",
    query=PageQuery,
    response=NotificationPage,
    errors=(400, 401),
)
def inbox(actor: Actor, query: PageQuery) -> NotificationPage:
    return inbox_uc.list_notifications(runtime(), actor, limit=query.limit, cursor=query.cursor)


@endpoint(
    bp,
    "/notifications/read",
    method="POST",
    summary="标记站内消息已读",
    example=examples.MARKED,
    operation_id="markNotificationsRead",
    body=MarkReadIn,
    response=MarkedOut,
    errors=(400, 401),
)
def mark_read(actor: Actor, body: MarkReadIn) -> MarkedOut:
    return MarkedOut(marked=inbox_uc.mark_read(runtime(), actor, body.ids))
