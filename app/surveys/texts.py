"""What the surveys tell people: the invitation to residents (``survey_invite``, a subscribe
message) and the flag to street admins (``property_flagged``, a template message)."""

from __future__ import annotations

from datetime import datetime

from app.notify.payloads import Rendered, thing, time_value
from app.surveys.rules import previous_month

INVITE_KEY = "survey_invite"
FLAG_KEY = "property_flagged"
SURVEYS_PAGE = "pages/surveys/index"
FLAGS_PAGE = "pages/property-evaluations/flags"


def month_label(month: str) -> str:
    """``2026-12`` → ``2026年12月``."""
    year, _, number = month.partition("-")
    return f"{year}年{int(number)}月"


def invite(company: str, community: str, month: str, closes_at: datetime) -> Rendered:
    label = month_label(month)
    return Rendered(
        data={
            "thing1": thing(f"{label}物业满意度测评"),
            "thing2": thing(company),
            "thing3": thing(community),
            "time4": time_value(closes_at),
        },
        title="物业满意度测评",
        body=f"请为{company}{label}在{community}的服务打分（保洁、绿化、安保、维修、服务态度），每户一次，截止前有效。",
        page=SURVEYS_PAGE,
    )


def flagged(
    company: str, *, street: str, month: str, score: float | None, earlier: float | None, at: datetime
) -> Rendered:
    before = month_label(previous_month(month))
    detail = f"{before}{earlier}分、{month_label(month)}{score}分"
    return Rendered(
        data={
            "thing1": thing(f"{company}连续两月测评不达标"),
            "thing2": thing(detail),
            "thing3": thing(street),
            "time4": time_value(at),
        },
        title="物业测评预警",
        body=f"{company}在{street}的物业满意度测评连续两个月低于标准（{detail}），已列为黑名单候选，请核查。",
        page=FLAGS_PAGE,
    )
