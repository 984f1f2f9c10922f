"""The care vocabulary as data: the tags staff put on a household, how often a plan visits.

Pure: no database. The codes are what the API and the database hold; the labels are what people
read. A new tag is a new member here plus a migration widening the CHECK on the tag column.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final


class CareTag(StrEnum):
    """Why a household is looked after (关爱对象)."""

    LIVING_ALONE = "living_alone"
    ELDERLY_80 = "elderly_80"
    HARDSHIP = "hardship"
    DISABILITY = "disability"
    LEFT_BEHIND = "left_behind"


TAG_LABELS: Final[Mapping[CareTag, str]] = {
    CareTag.LIVING_ALONE: "独居老人",
    CareTag.ELDERLY_80: "高龄（80岁以上）",
    CareTag.HARDSHIP: "困难家庭",
    CareTag.DISABILITY: "残疾",
    CareTag.LEFT_BEHIND: "留守",
}


class Every(StrEnum):
    """How often a care plan visits."""

    WEEK = "week"
    TWO_WEEKS = "two_weeks"
    MONTH = "month"


EVERY_LABELS: Final[Mapping[Every, str]] = {
    Every.WEEK: "每周",
    Every.TWO_WEEKS: "每两周",
    Every.MONTH: "每月",
}


class PlanStatus(StrEnum):
    """A plan makes visits while active; paused makes none until resumed; ended is for good."""

    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


PLAN_STATUS_LABELS: Final[Mapping[PlanStatus, str]] = {
    PlanStatus.ACTIVE: "进行中",
    PlanStatus.PAUSED: "已暂停",
    PlanStatus.ENDED: "已结束",
}


class VisitState(StrEnum):
    """Where one occurrence stands, as the answers show it (derived from its row and its order)."""

    #: The order was made; the visit is not done yet and not overdue.
    SCHEDULED = "scheduled"
    #: Completed by its due end plus the grace.
    DONE = "done"
    #: Not completed in time: the secretaries were alerted.
    MISSED = "missed"
    #: Completed after the alert went out.
    LATE = "late"


VISIT_STATE_LABELS: Final[Mapping[VisitState, str]] = {
    VisitState.SCHEDULED: "待探访",
    VisitState.DONE: "已探访",
    VisitState.MISSED: "未按时探访",
    VisitState.LATE: "逾期后已探访",
}
