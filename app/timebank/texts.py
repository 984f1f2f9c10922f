"""What the time bank tells a volunteer (the inbox's wording and the subscribe message's fields;
field limits are applied by ``app.notify.payloads``).

Every time-bank message goes out under one subscribe template, ``points_changed`` (积分变动提醒),
with four fields: ``character_string1`` (the points moved, or a code), ``thing2`` (what happened),
``thing3`` (the detail), ``time4`` (when). One consent covers points, codes and the month's summary."""

from __future__ import annotations

from datetime import datetime

from app.notify.payloads import Rendered, character_string, thing, time_value

#: The template key of every time-bank message (``[notify.subscribe_templates]``).
POINTS_KEY = "points_changed"
VERIFIED_KEY = POINTS_KEY
EXPIRED_KEY = POINTS_KEY

REDEMPTIONS_PAGE = "pages/points/redemptions"
POINTS_PAGE = "pages/points/index"


def verified(code: str, reward: str, merchant: str, at: datetime) -> Rendered:
    return Rendered(
        data={
            "character_string1": character_string(code),
            "thing2": thing(reward),
            "thing3": thing(merchant),
            "time4": time_value(at),
        },
        title="兑换码已使用",
        body=f"您在{merchant}兑换的「{reward}」已核销（兑换码 {code}）。",
        page=REDEMPTIONS_PAGE,
    )


def expired(code: str, reward: str, points: int, at: datetime) -> Rendered:
    return Rendered(
        data={
            "character_string1": character_string(code),
            "thing2": thing(reward),
            "thing3": thing(f"已退回 {points} 积分"),
            "time4": time_value(at),
        },
        title="兑换码已过期",
        body=f"您兑换的「{reward}」未在有效期内使用（兑换码 {code}），{points} 积分已退回。",
        page=REDEMPTIONS_PAGE,
    )


def month_summary(month: str, minutes_as_hours: str, points: int, balance: int, at: datetime) -> Rendered:
    """The month's summary: ``month`` as 2026年11月, hours already formatted."""
    detail = f"服务 {minutes_as_hours} 小时，获得 {points} 积分"
    return Rendered(
        data={
            "character_string1": character_string(f"{points:+d}"),
            "thing2": thing(f"{month}服务小结"),
            "thing3": thing(detail),
            "time4": time_value(at),
        },
        title=f"{month}服务小结",
        body=f"{month}您{detail}，当前积分余额 {balance}。感谢您的服务！",
        page=POINTS_PAGE,
    )
