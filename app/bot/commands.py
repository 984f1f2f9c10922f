"""Chat commands: normalise what people type, parse it, call the same services as the API (with
the same permission checks), and turn the answer or the error into a short Chinese reply."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from app.bot.binding import actor_for_chat, bind_official_account
from app.bot.following import adopt_follower
from app.core.errors import AlreadyClaimedError, LinliError, NotFoundError
from app.identity.actor import Actor
from app.orders.access import check_may_dispatch
from app.orders.actions import ActionInput, Target, act
from app.orders.queries import find_order, get_order, pending_for
from app.orders.shapes import OrderOut
from app.orders.workflow import STATUS_LABELS, Action, OrderStatus
from app.runtime import Runtime

BIND_HELP = (
    "您好！这里是「邻里」社区服务。使用前请先绑定账号：\n"
    "1. 打开「邻里」小程序，在「我的」页面获取公众号绑定码；\n"
    "2. 在这里发送：绑定 绑定码（例如：绑定 AB23CD45）。\n"
    "绑定后，可以在这里查看待办、派单、接单和完成工单。"
)
HELP = (
    "可用命令：\n"
    "待办 —— 查看我的待办\n"
    "派单 单号 志愿者编号 —— 例：派单 20261123-0042 17\n"
    "接单 单号 —— 接受派给我的工单，或认领任务池里的工单\n"
    "完成 单号 —— 服务完成后发送\n"
    "帮助 —— 显示本说明\n"
    "也可以用英文：todo、dispatch、accept、done、help。"
)
REBIND_HELP = "您已绑定。如需改绑其他账号，请在小程序获取新的绑定码，再发送「绑定 绑定码」。"
BUSY = "系统繁忙，请稍后再试。"
#: Before the first reply to a follower just bound by unionid.
AUTO_BOUND = "已自动绑定您的小程序账号，无需绑定码。\n"

#: Command words, Chinese and English, to the command they mean.
WORDS: dict[str, str] = {
    "绑定": "bind",
    "bind": "bind",
    "待办": "todo",
    "我的待办": "todo",
    "todo": "todo",
    "派单": "dispatch",
    "dispatch": "dispatch",
    "接单": "accept",
    "认领": "accept",
    "accept": "accept",
    "claim": "accept",
    "完成": "complete",
    "done": "complete",
    "complete": "complete",
    "finish": "complete",
    "帮助": "help",
    "菜单": "help",
    "help": "help",
    "?": "help",
}
#: Chinese words may be glued to their argument (「接单20261123-0042」); longest first.
_CHINESE = re.compile(
    "^(" + "|".join(sorted((w for w in WORDS if not w.isascii()), key=len, reverse=True)) + r")\s*(.*)$"
)
_ENGLISH = re.compile(r"^([A-Za-z]+|\?)(?:\s+(.*))?$")
#: NFKC leaves these dashes alone; people type them in order numbers.
_DASHES = dict.fromkeys(map(ord, "‐‑‒–—―−﹣"), "-")
#: Punctuation people put between a command and its arguments (after NFKC: ：，；→ :,;).
_SEPARATORS = re.compile(r"[:,;、。]")
_NUMBER = re.compile(r"^(\d{8})-?(\d{1,4})$", re.ASCII)
_USER_ID = re.compile(r"^#?(\d{1,12})$", re.ASCII)
#: How much of a title or of unknown input a reply repeats.
_SNIPPET = 16


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    args: tuple[str, ...]


def normalise(text: str) -> str:
    """Full-width to half-width (NFKC), one kind of dash, separators and runs of spaces to one space."""
    folded = unicodedata.normalize("NFKC", text).translate(_DASHES)
    return " ".join(_SEPARATORS.sub(" ", folded).split())


def parse(text: str) -> Command | None:
    """The command in a chat message, or None if it is not one."""
    normal = normalise(text)
    match = _CHINESE.match(normal)
    if match:
        word, rest = match.group(1), match.group(2)
    else:
        match = _ENGLISH.match(normal)
        if not match or match.group(1).lower() not in WORDS:
            return None
        word, rest = match.group(1).lower(), match.group(2) or ""
    return Command(name=WORDS[word], args=tuple(rest.split()))


def order_number(raw: str) -> str | None:
    """``20261123-0042`` from what was typed (``20261123-42``, ``202611230042`` …), else None."""
    match = _NUMBER.match(raw)
    return f"{match.group(1)}-{int(match.group(2)):04d}" if match else None


def _snippet(text: str) -> str:
    return text if len(text) <= _SNIPPET else text[:_SNIPPET] + "…"


def _not_found(number: str) -> str:
    # Word for word the same for an unknown number and another community's order.
    return f"找不到单号为 {number} 的工单，请核对后再试。"


# -- entry points --------------------------------------------------------------------------------


def respond_to_text(rt: Runtime, oa_openid: str, text: str) -> str:
    """The reply to a text message from ``oa_openid``. Unbound users only learn how to bind."""
    command = parse(text)
    if command is not None and command.name == "bind":
        return _bind(rt, oa_openid, command.args)
    actor = actor_for_chat(rt, oa_openid)
    note = ""
    if actor is None:
        # A follower we do not know yet may be a mini-program user with the same unionid.
        actor = adopt_follower(rt, oa_openid)
        if actor is None:
            return BIND_HELP
        note = AUTO_BOUND
    if command is None:
        return note + f"没看懂「{_snippet(normalise(text))}」。发送「帮助」查看可用的命令。"
    return note + run(rt, actor, command)


def run(rt: Runtime, actor: Actor, command: Command) -> str:
    """Carry out a command for a bound user; every LinliError becomes its Chinese message."""
    handler = _HANDLERS.get(command.name)
    if handler is None:
        return HELP
    try:
        return handler(rt, actor, command.args)
    except LinliError as exc:
        return exc.message


def _bind(rt: Runtime, oa_openid: str, args: tuple[str, ...]) -> str:
    if len(args) != 1:
        return "请发送「绑定 绑定码」，绑定码在「邻里」小程序的「我的」页面获取。"
    try:
        bound = bind_official_account(rt, oa_openid, args[0])
    except LinliError as exc:
        return exc.message
    who = bound.nickname or "您"
    roles = f"（{'、'.join(bound.roles)}）" if bound.roles else ""
    return f"绑定成功！{who}{roles}的账号已与本公众号关联。\n\n{HELP}"


# -- commands of bound users -----------------------------------------------------------------------


def _help(rt: Runtime, actor: Actor, args: tuple[str, ...]) -> str:
    return HELP


_SECTION_TITLES = {"dispatch": "【待派单】", "held": "【我的任务】", "mine": "【我提交的工单】"}


def _todo(rt: Runtime, actor: Actor, args: tuple[str, ...]) -> str:
    sections = pending_for(rt, actor)
    if not sections:
        return "暂无待办事项。"
    lines: list[str] = []
    for section in sections:
        lines.append(f"{_SECTION_TITLES[section.kind]}共 {section.total} 件")
        for item in section.lines:
            status = "" if section.kind == "dispatch" else f" {STATUS_LABELS[item.status]}"
            lines.append(f"· {item.number}{status} {_snippet(item.title)}（{item.community}）")
        if section.total > len(section.lines):
            lines.append(f"……还有 {section.total - len(section.lines)} 件，请在小程序查看")
        if section.kind == "dispatch":
            lines.append("派单：发送「派单 单号 志愿者编号」")
        elif section.kind == "held" and any(i.status is OrderStatus.ASSIGNED for i in section.lines):
            lines.append("接单：发送「接单 单号」")
    return "\n".join(lines)


def _dispatch(rt: Runtime, actor: Actor, args: tuple[str, ...]) -> str:
    usage = "用法：派单 单号 志愿者编号，例如：派单 20261123-0042 17"
    if len(args) != 2:  # noqa: PLR2004 - number and volunteer
        return usage
    number, volunteer = order_number(args[0]), _USER_ID.match(args[1])
    if number is None or volunteer is None:
        return usage
    check_may_dispatch(actor)
    try:
        order_id, _status = find_order(rt, actor, number)
        order = act(
            rt,
            actor,
            order_id,
            Action.DISPATCH,
            ActionInput(target=Target(volunteer_id=int(volunteer.group(1)))),
            channel="bot",
        )
    except NotFoundError:
        return _not_found(number)
    assignee = order.assignee
    to = f"志愿者 {assignee.name}（编号 {assignee.id}）" if assignee else "志愿者"
    return f"已派单：{number}「{_snippet(order.title)}」→ {to}。"


def _accept(rt: Runtime, actor: Actor, args: tuple[str, ...]) -> str:
    number = order_number(args[0]) if len(args) == 1 else None
    if number is None:
        return "用法：接单 单号，例如：接单 20261123-0042"
    try:
        order_id, status = find_order(rt, actor, number)
        # Dispatched (to me, or to my team): accept it. Anything else is a claim from the pool, so
        # that a late claimer hears "someone was faster", as POST /claim answers, not "not found".
        action = Action.ACCEPT if status is OrderStatus.ASSIGNED else Action.CLAIM
        order = act(rt, actor, order_id, action, ActionInput(), channel="bot")
    except NotFoundError:
        return _not_found(number)
    except AlreadyClaimedError as exc:
        if not exc.details.get("yours"):
            raise  # someone else was faster: run() answers the error's own words
        # Sent twice, or again later to find the address: it is theirs, say so and help.
        return _already_yours(get_order(rt, actor, order_id), number)
    return f"已接单：{number}「{_snippet(order.title)}」\n{_contact(order)}完成后请发送「完成 {number}」。"


def _already_yours(order: OrderOut, number: str) -> str:
    title = _snippet(order.title)
    if order.status not in (OrderStatus.ACCEPTED, OrderStatus.IN_SERVICE):
        return f"工单 {number}「{title}」由您接单，已经完成，等待居民评价。"
    return f"您已接下该工单：{number}「{title}」，无需重复接单。\n{_contact(order)}完成后请发送「完成 {number}」。"


def _contact(order: OrderOut) -> str:
    address = order.address
    where = " ".join(
        part
        for part in (
            address.grid.name if address.grid else "",
            f"{address.building}栋" if address.building.isdigit() else address.building,
            f"{address.unit}单元" if address.unit.isdigit() else address.unit,
            address.room,
        )
        if part
    )
    lines = [f"地址：{where}" if where else "", f"电话：{order.contact_phone}" if order.contact_phone else ""]
    return "".join(f"{line}\n" for line in lines if line)


def _complete(rt: Runtime, actor: Actor, args: tuple[str, ...]) -> str:
    number = order_number(args[0]) if len(args) == 1 else None
    if number is None:
        return "用法：完成 单号，例如：完成 20261123-0042"
    try:
        order_id, _status = find_order(rt, actor, number)
        order = act(rt, actor, order_id, Action.COMPLETE, ActionInput(), channel="bot")
    except NotFoundError:
        return _not_found(number)
    return f"已完成：{number}「{_snippet(order.title)}」。感谢您的付出！居民评价后积分会记入您的时间银行。"


_HANDLERS: dict[str, Callable[[Runtime, Actor, tuple[str, ...]], str]] = {
    "help": _help,
    "todo": _todo,
    "dispatch": _dispatch,
    "accept": _accept,
    "complete": _complete,
}
