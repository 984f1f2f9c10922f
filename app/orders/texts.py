"""Every sentence a person reads about an order, other than error messages (which stay with the
rule that raises them): the message of each step (subscribe, template and inbox wording), the
reminders, the audit trail's notes, the reasons a candidate is suggested, and the secretary's
daily digest. Field limits are applied by ``app.notify.payloads``; here is only what is said."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from app.core.clock import to_shanghai
from app.identity.shapes import display_name
from app.notify.payloads import Rendered, character_string, name, thing, time_value
from app.orders.workflow import Lane

# -- reminders (app.orders.reminders decides when) ----------------------------------------------

UNDISPATCHED = "超时未派单，请尽快处理"
UNACCEPTED = "您有派单尚未确认，请尽快接单"
OVERDUE = "服务已超过时限，请尽快完成"
OVERDUE_ESCALATE = "志愿者超时未完成，请跟进或改派他人"
REASSIGNED_TO_RESIDENT = "社区已为您的工单更换服务人员"
RELEASED_TO_RESIDENT = "服务人员因故退单，社区正在重新安排"
APPOINTMENT_SOON = "预约服务即将开始"
UNRATED = "服务已完成，请您评价"
#: Audit-trail notes of the moves a job makes.
EXPIRED_NOTE = "超时未接单，退回待派单"
CLOSED_UNRATED_NOTE = "超过评价期限，未评价关闭"


def appointment_tomorrow(start: datetime) -> str:
    """The day-before reminder, with the Shanghai date and time of the appointment."""
    return f"明天 {to_shanghai(start).strftime('%m月%d日 %H:%M')} 有预约服务"


def escalation_overdue(department: str) -> str:
    return f"上报事项已超期：{department}"


# -- what each step of an order tells people (app.orders.notifications decides whom) -------------

URGED_HOLDER = "居民催单，请尽快处理"
URGED_SECRETARIES = "居民催单，请尽快派单"
CANCELLED = "居民已取消该工单"
EXPIRED = "超时未接单，已退回待派单"


def declined(person: str, reason: str) -> str:
    return f"{person}拒单：{reason}"


def reassigned_away(reason: str) -> str:
    return f"该工单已由社区改派他人：{reason}"


def released(person: str, reason: str) -> str:
    return f"{person}退单：{reason}，请重新派单"


def disputed_to_holder(reason: str) -> str:
    return f"居民反映未完成：{reason}"


def disputed_to_secretaries(reason: str) -> str:
    return f"居民申诉：{reason}"


def rejected(reason: str) -> str:
    return f"社区未受理：{reason}"


# -- 三事分流 (app.orders.lanes suggests, app.orders.notifications tells the lane's people) ------

#: What each lane suggests doing with the order, shown beside it (``lane.label``).
LANE_LABELS: dict[Lane, str] = {
    Lane.ESCALATE: "建议上报街道（吹哨报到）",
    Lane.GRID_WORKER: "建议网格员就近处理",
    Lane.PROPERTY_COMPANY: "建议派给物业企业处理",
    Lane.VOLUNTEERS: "建议派给志愿者或发布到任务池",
}


def triaged(level_label: str, lane: Lane) -> str:
    """The notice to the people of the lane an order was triaged into."""
    return f"分流为{level_label}：{LANE_LABELS[lane]}"


#: The person named in a message when whoever acted has no nickname.
SOMEONE = "志愿者"


def unnamed(user_id: int) -> str:
    """How an order or a candidate list names a user without a nickname."""
    return display_name(user_id, None)


# -- the audit trail's notes (shown in the order's history) --------------------------------------

ON_BEHALF_NOTE = "代居民下单"


def triage_note(level_label: str) -> str:
    """The audit trail's line for a triage: the level in words (三事分流：大事), never its code."""
    return f"三事分流：{level_label}"


def rating_note(score: int, comment: str) -> str:
    return f"{score}星 {comment}".strip()


def escalation_note(department: str, note: str) -> str:
    """The audit trail's line for a referral, and what the street's admins are told: the
    department once, then the secretary's note."""
    return f"{department}：{note}".rstrip("：")


#: Why an order is on the return-visit (回访) list, as staff read it.
RETURN_VISIT_REASONS: dict[str, str] = {"low_rating": "差评回访", "dispute": "申诉回访"}


# -- why a volunteer is suggested for a dispatch (app.orders.candidates ranks) -------------------

SAME_GRID = "住在同一网格"


def skill_match(skill_name: str) -> str:
    """``skill_name`` is the catalogue's Chinese name (``app.areas.catalogue.skill_name``), never the code."""
    return f"技能匹配：{skill_name}"


def holding(active: int, limit: int) -> str:
    return f"手头 {active} 单（上限 {limit}）" if active else f"当前空闲（上限 {limit} 单）"


def free_then(slot: str) -> str:
    """``slot`` as ``app.volunteers.availability.Slot.says`` puts it (周三 9:00–12:00)."""
    return f"{slot} 有空"


def responds_in(minutes: float) -> str:
    return "平均 1 分钟内响应" if minutes < 1 else f"平均 {round(minutes)} 分钟响应"


def past_rating(average: float, count: int) -> str:
    return f"历史评分 {average:.1f}（{count} 次）"


# -- message payloads per template key -----------------------------------------------------------


def order_page(order_id: int) -> str:
    return f"pages/order/detail?id={order_id}"


@dataclass(frozen=True)
class OrderFacts:
    """What a payload may say about an order; plain values, built inside the transaction."""

    order_id: int
    number: str
    title: str
    category: str
    community: str
    at: datetime
    person: str = ""  # the volunteer, or whoever acted
    text: str = ""  # a reminder's sentence


def render(template_key: str, facts: OrderFacts) -> Rendered:
    """The payload of ``template_key`` about an order. KeyError for an unknown key (a bug)."""
    builder: Callable[[OrderFacts], Rendered] = _BUILDERS[template_key]
    return builder(facts)


def _submitted(f: OrderFacts) -> Rendered:
    return Rendered(
        data={
            "character_string1": character_string(f.number),
            "thing2": thing(f.title),
            "thing3": thing(f.category),
            "time4": time_value(f.at),
            "thing5": thing(f.community),
        },
        title="新工单待派单",
        body=f"{f.community}有新工单 {f.number}「{f.title}」，请及时分流派单。",
        page=order_page(f.order_id),
    )


def _dispatched(f: OrderFacts) -> Rendered:
    return Rendered(
        data={
            "character_string1": character_string(f.number),
            "thing2": thing(f.title),
            "thing3": thing(f.community),
            "time4": time_value(f.at),
            "thing5": thing("请尽快确认接单"),
        },
        title="您有新的派单",
        body=f"社区给您派了工单 {f.number}「{f.title}」，请尽快确认接单。",
        page=order_page(f.order_id),
    )


def _claimed(f: OrderFacts) -> Rendered:
    return Rendered(
        data={
            "character_string1": character_string(f.number),
            "thing2": thing(f.title),
            "name3": name(f.person),
            "time4": time_value(f.at),
        },
        title="已有志愿者接单",
        body=f"您的工单 {f.number}「{f.title}」已由{f.person}接单。",
        page=order_page(f.order_id),
    )


def _started(f: OrderFacts) -> Rendered:
    return Rendered(
        data={
            "character_string1": character_string(f.number),
            "thing2": thing(f.title),
            "name3": name(f.person),
            "time4": time_value(f.at),
        },
        title="服务已开始",
        body=f"{f.person}已开始为您服务（工单 {f.number}）。",
        page=order_page(f.order_id),
    )


def _completed(f: OrderFacts) -> Rendered:
    return Rendered(
        data={
            "character_string1": character_string(f.number),
            "thing2": thing(f.title),
            "name3": name(f.person),
            "time4": time_value(f.at),
            "thing5": thing("请为本次服务评价"),
        },
        title="服务已完成，请评价",
        body=f"工单 {f.number}「{f.title}」已完成，请为本次服务评价；如果没有做好，可以申诉。",
        page=order_page(f.order_id),
    )


def _escalated(f: OrderFacts) -> Rendered:
    return Rendered(
        data={
            "character_string1": character_string(f.number),
            "thing2": thing(f.title),
            "thing3": thing(f.text),
            "time4": time_value(f.at),
        },
        title="社区吹哨：请报到",
        # f.text is the referral's note, which names the department (escalation_note).
        body=f"{f.community}上报工单 {f.number}「{f.title}」（{f.text}），请报到处理。",
        page=order_page(f.order_id),
    )


def _reminder(f: OrderFacts) -> Rendered:
    return Rendered(
        data={
            "character_string1": character_string(f.number),
            "thing2": thing(f.title),
            "thing3": thing(f.text),
            "time4": time_value(f.at),
        },
        title="工单提醒",
        body=f"工单 {f.number}「{f.title}」：{f.text}",
        page=order_page(f.order_id),
    )


_BUILDERS: dict[str, Callable[[OrderFacts], Rendered]] = {
    "order_submitted": _submitted,
    "order_dispatched": _dispatched,
    "order_claimed": _claimed,
    "order_started": _started,
    "order_completed": _completed,
    "order_escalated": _escalated,
    "reminder": _reminder,
}


@dataclass(frozen=True)
class DigestFacts:
    """Yesterday's numbers for one community (Shanghai calendar day)."""

    community: str
    day: str  # YYYY-MM-DD
    submitted: int
    closed: int
    open: int
    overdue: int
    average_rating: float | None
    at: datetime


def render_digest(f: DigestFacts) -> Rendered:
    """The secretary's 08:30 digest: a short template message, and the inbox text."""
    rating = f"{f.average_rating:.1f}" if f.average_rating is not None else "无"
    summary = f"新增{f.submitted} 办结{f.closed} 待办{f.open} 超时{f.overdue}"
    return Rendered(
        data={
            "thing1": thing(f.community),
            "character_string2": character_string(f.day),
            "thing3": thing(summary),
            "time4": time_value(f.at),
        },
        title=f"{f.day} 工作日报",
        body=f"{f.community} {f.day}：新增工单 {f.submitted} 件，办结 {f.closed} 件，平均评分 {rating}；"
        f"目前待办 {f.open} 件，其中超时 {f.overdue} 件。",
        page="pages/workbench/index",
    )


def digest_markdown(f: DigestFacts) -> str:
    """The same digest for the community's WeCom work group."""
    rating = f"{f.average_rating:.1f}" if f.average_rating is not None else "无"
    return (
        f"### {f.community} {f.day} 工作日报\n"
        f'> 新增工单：<font color="info">{f.submitted}</font> 件\n'
        f"> 办结：{f.closed} 件，平均评分 {rating}\n"
        f'> 待办：{f.open} 件，其中超时 <font color="warning">{f.overdue}</font> 件'
    )


# -- account deletion ------------------------------------------------------------------------------

#: The audit-trail note of an order cancelled because its resident deleted their account.
CANCELLED_BY_DELETION_NOTE = "居民注销账号，工单自动取消"


# -- 随手拍: merged duplicates (app.orders.merging) --------------------------------------------


def merged_note(number: str, note: str) -> str:
    """The audit-trail note of a merge: the original's number, and the staff member's words."""
    merged = f"与工单 #{number} 反映的是同一问题，已合并"
    return f"{merged}：{note}" if note else merged


def merged_to_reporter(number: str) -> str:
    return f"您的随手拍与工单 #{number} 反映的是同一问题，已合并处理，进展会通知您"


#: To whoever a merged duplicate was dispatched to.
MERGED_TO_HOLDER = "该工单与其他工单反映的是同一问题，已合并，无需再处理"


def original_done(number: str) -> str:
    return f"您反映的问题（已合并到工单 #{number}）已处理完毕，感谢您的随手拍"
