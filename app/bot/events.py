"""Events: follow and unfollow, menu clicks (the same commands as typed text), and the
subscribe-message consent events of the mini-program's push."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from app.bot import commands
from app.bot.binding import actor_for_chat, set_following
from app.notify.consent import record_consent
from app.runtime import Runtime

log = logging.getLogger(__name__)

WELCOME = "欢迎关注「邻里」社区服务！\n\n" + commands.BIND_HELP
WELCOME_BACK = "欢迎回来！您的账号仍与本公众号绑定。\n\n" + commands.HELP

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
        bound = set_following(rt, sender, following=True)
        return WELCOME_BACK if bound else WELCOME
    if event == "unsubscribe":
        # Template messages check oa_following: an unfollowed user gets none from now on.
        set_following(rt, sender, following=False)
        return None
    if event == "click":
        return _click(rt, sender, str(data.get("EventKey") or ""))
    if event in {"subscribe_msg_popup_event", "subscribe_msg_change_event"}:
        decisions = consent_decisions(data)
        remaining = record_consent(rt, sender, decisions, popup=event == "subscribe_msg_popup_event")
        if remaining is None:
            log.info("consent event from an unknown mini-program user; ignored")
        return None
    return None


def _click(rt: Runtime, sender: str, key: str) -> str:
    name = MENU_COMMANDS.get(key)
    actor = actor_for_chat(rt, sender)
    if actor is None:
        return commands.BIND_HELP
    if name == "bind":
        return commands.REBIND_HELP
    if name is None:
        log.warning("menu click with unknown key %r", key[:64])
        return commands.HELP
    return commands.run(rt, actor, commands.Command(name=name, args=()))


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
