"""The Official Account bot's HTTP side (WeChat's callback) and the mini-program's bind code."""

from __future__ import annotations

from flask import Blueprint, Response, request

from app.bot import binding, callback
from app.bot.binding import BindCodeOut
from app.bot.security import MAX_BODY_BYTES, CallbackRejectedError, check_size
from app.identity.actor import Actor
from miniprogram_api import examples
from miniprogram_api.auth import runtime
from miniprogram_api.errors import envelope
from miniprogram_api.registry import Limit, endpoint

bp = Blueprint("bot", __name__)

_CALLBACK_DOC = (
    "微信服务器调用，不需要登录。查询参数 signature、timestamp、nonce（安全模式另有 encrypt_type=aes 与 "
    "msg_signature）。签名以常数时间比较，时间戳须在 ±300 秒内，同一签名请求只接受一次，同一消息（MsgId，"
    "事件为 FromUserName+CreateTime）只处理一次。"
)


def _rejected(exc: CallbackRejectedError) -> tuple[Response, int]:
    return envelope(exc.status, exc.code, exc.message)


@endpoint(
    bp,
    "/wechat/callback",
    method="GET",
    summary="公众号服务器地址校验（微信调用），签名正确时原样返回 echostr",
    example=examples.ECHOSTR,
    answer_type="text/plain",
    operation_id="verifyWechatCallback",
    auth=False,
    errors=(400, 403),
    description=_CALLBACK_DOC,
    content_type="text/xml",
)
def wechat_url_check() -> Response | tuple[Response, int]:
    try:
        echostr = callback.verify_url(runtime(), request.args)
    except CallbackRejectedError as exc:
        return _rejected(exc)
    return Response(echostr, content_type="text/plain; charset=utf-8")


@endpoint(
    bp,
    "/wechat/callback",
    method="POST",
    summary="公众号消息与事件推送（微信调用，明文或 AES 安全模式 XML），回复 XML 或 success",
    example=examples.CALLBACK_REPLY,
    answer_type="text/plain",
    operation_id="receiveWechatMessage",
    auth=False,
    errors=(400, 403, 413),
    description=_CALLBACK_DOC + "请求体不超过 64 KB；带 DOCTYPE/实体声明的 XML 一律拒绝。",
    content_type="text/xml",
)
def wechat_callback() -> Response | tuple[Response, int]:
    try:
        # Refuse an oversized body before reading it; a body without a length is read up to the limit.
        check_size(request.content_length)
        body = request.stream.read(MAX_BODY_BYTES + 1)
        answer = callback.receive(runtime(), request.args, body)
    except CallbackRejectedError as exc:
        return _rejected(exc)
    return Response(answer.body, content_type=answer.content_type)


@endpoint(
    bp,
    "/api/v1/bot/bind-code",
    method="POST",
    summary="获取公众号绑定码：在公众号中发送「绑定 绑定码」即可用公众号处理工单",
    example=examples.BIND_CODE,
    response=BindCodeOut,
    status=201,
    errors=(401,),
    limits=(Limit("bind_code_per_ip", "ip"), Limit("bind_code_per_user", "user")),
)
def create_bind_code(actor: Actor) -> BindCodeOut:
    return binding.create_bind_code(runtime(), actor)
