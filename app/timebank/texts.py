"""What the time bank tells a volunteer about their redemptions (the inbox's wording and the
subscribe message's fields; field limits are applied by ``app.notify.payloads``)."""

from __future__ import annotations

from datetime import datetime

from app.notify.payloads import Rendered, character_string, thing, time_value

#: Template keys of the messages; they have no subscribe template (yet), so they reach the inbox.
VERIFIED_KEY = "redemption_verified"
EXPIRED_KEY = "redemption_expired"

REDEMPTIONS_PAGE = "pages/points/redemptions"


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
