"""What the secretaries read when a care visit was missed (pure: facts in, a payload out)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from app.core.clock import to_shanghai
from app.notify.payloads import Rendered, character_string, thing, time_value

MISSED_KEY: Final = "care_missed"
MISSED_TITLE: Final = "关爱探访未按时完成"
#: Where the mini-program shows a plan's visits (the staff's care pages).
PLAN_PAGE: Final = "pages/care/plan?id={plan_id}"


@dataclass(frozen=True, slots=True)
class MissedFacts:
    plan_id: int
    #: The order number, or "" when the order is gone.
    number: str
    resident: str
    volunteer: str
    due_end: datetime


def render_missed(facts: MissedFacts) -> Rendered:
    """The alert about one missed visit. It names the people, never why the household is looked
    after (the tags stay on the staff's pages)."""
    due = to_shanghai(facts.due_end).strftime("%m-%d %H:%M")
    order = f"（工单 {facts.number}）" if facts.number else ""
    return Rendered(
        data={
            "character_string1": character_string(facts.number or str(facts.plan_id)),
            "thing2": thing(f"关爱探访：{facts.resident}"),
            "thing3": thing(f"志愿者：{facts.volunteer}"),
            "time4": time_value(facts.due_end),
            "thing5": thing("请尽快跟进"),
        },
        title=MISSED_TITLE,
        body=f"对{facts.resident}的关爱探访{order}应于 {due} 前完成，志愿者{facts.volunteer}至今未完成，请尽快跟进。",
        page=PLAN_PAGE.format(plan_id=facts.plan_id),
    )
