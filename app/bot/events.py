"""Events: follow and unfollow (binding by unionid on the way), menu clicks (the same commands as
typed text), template-message receipts, and the subscribe-message consent events of the
mini-program's and the Official Account's pushes."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from app.bot import commands
from app.bot.binding import actor_for_chat
from app.bot.following import Bound, Followed, adopt_follower, follow, unfollow, user_for_sender
from app.notify.consent import record_consent
from app.notify.receipts import record_receipt
from app.runtime import Runtime

log = logging.getLogger(__name__)

WELCOME = "欢迎关注「邻里」社区服务！\n\n" + commands.BIND_HELP
WELCOME_BACK = "欢迎回来！您的账号仍与本公众号绑定。\n\n" + commands.HELP


def welcome_bound(nickname: str) -> str:
    """The welcome of a follower bound by unionid: no code needed, and they should know it."""
    who = f"「{nickname}」" if nickname else ""
    return f"欢迎关注「邻里」社区服务！已自动绑定您的小程序账号{who}，工单消息会发到这里。\n\n" + commands.HELP


#: Menu CLICK keys (config [bot] menu) to the command each one stands for.
MENU_COMMANDS: dict[str, str] = {"CMD_TODO": "todo", "CMD_HELP": "help", "CMD_BIND": "bind"}

#: Where the consent list sits: WeChat's XML wraps it per event (and its own docs have used the
#: popup wrapper for change events too); the JSON push puts ``List`` at the top.
_CONSENT_WRAPPERS = ("SubscribeMsgPopupEvent", "SubscribeMsgChangeEvent")


def respond_to_event(rt: Runtime, data: Mapping[str, Any]) -> str | None:
    """The reply to an event (None: nothing to say). ``data`` is the parsed XML's fields."""
    event = str(data.get("Event", "")).lower()
    sender = str(data.get("FromUserName", ""))
    if event in {"subscribe", "subscribe_scan"}:
        return _welcome(follow(rt, sender))
    if event == "unsubscribe":
        # Template messages check oa_following: an unfollowed user gets none from now on.
        unfollow(rt, sender)
        return None
    if event == "click":
        return _click(rt, sender, str(data.get("EventKey") or ""))
    if event == "templatesendjobfinish":
        # A template message's receipt; WeChat expects no answer.
        record_receipt(rt, str(data.get("MsgID") or data.get("MsgId") or ""), str(data.get("Status") or ""))
        return None
    if event in {"subscribe_msg_popup_event", "subscribe_msg_change_event"}:
        _consent(rt, sender, consent_decisions(data), popup=event == "subscribe_msg_popup_event")
    return None


def _welcome(followed: Followed) -> str:
    if followed.bound is Bound.NOW:
        return welcome_bound(followed.nickname)
    return WELCOME_BACK if followed.bound is Bound.BEFORE else WELCOME


def _consent(rt: Runtime, sender: str, decisions: list[tuple[str, str]], *, popup: bool) -> None:
    # The sender is a mini-program openid (the mini-program's push) or an OA openid (the
    # Official Account's): user_for_sender tries both, then the follower's unionid.
    user_id = user_for_sender(rt, sender)
    remaining = record_consent(rt, user_id, decisions, popup=popup) if user_id is not None else None
    if remaining is None:
        log.info("consent event from nobody we know (neither openid nor unionid); ignored")


def _click(rt: Runtime, sender: str, key: str) -> str:
    name = MENU_COMMANDS.get(key)
    actor = actor_for_chat(rt, sender)
    note = ""
    if actor is None:
        actor = adopt_follower(rt, sender)
        if actor is None:
            return commands.BIND_HELP
        note = commands.AUTO_BOUND
    if name == "bind":
        return note + commands.REBIND_HELP
    if name is None:
        log.warning("menu click with unknown key %r", key[:64])
        return note + commands.HELP
    return note + commands.run(rt, actor, commands.Command(name=name, args=()))


def consent_decisions(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(TemplateId, SubscribeStatusString) pairs; ``List`` is a dict for one template and a list
    for several (xmltodict's shape of repeated elements)."""
    items: Any = data.get("List")
    for wrapper in _CONSENT_WRAPPERS:
        container = data.get(wrapper)
        if isinstance(container, Mapping) and "List" in container:
            items = container["List"]
            break
    if isinstance(items, Mapping):
        items = [items]
    if not isinstance(items, list):
        return []
    decisions = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        template_id, status = item.get("TemplateId"), item.get("SubscribeStatusString")
        if isinstance(template_id, str) and isinstance(status, str):
            decisions.append((template_id.strip(), status.strip().lower()))
    return decisions
