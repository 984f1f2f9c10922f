"""The evaluation's arithmetic, without a database: months, the 0–100 scores, the combined score
and the two-months rule (tested in tests/unit/test_survey_rules.py).

Combined score (docs/api.md, 物业测评):
- survey score = (mean of the questions' means − 1) / 4 × 100, each question's mean taken over all
  the month's responses (so a community with more answers weighs more in a company's total);
- order score = the mean of what is known of: completion rate × 100 (completed ÷ dispatched) and
  (mean rating − 1) / 4 × 100; None without orders dispatched to the company that month;
- score = 80 % survey score + 20 % order score, or the survey score alone without an order score;
  None without any response.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final

from app.surveys.questions import CODES, SCORE_MAX, SCORE_MIN

SURVEY_WEIGHT: Final = 0.8
ORDERS_WEIGHT: Final = 0.2


def month_of(day: date) -> str:
    """``2026-12`` for any day of December 2026."""
    return f"{day.year:04d}-{day.month:02d}"


def parse_month(text: str) -> date:
    """The first day of the month ``YYYY-MM``; ValueError for anything else."""
    year, sep, month = text.partition("-")
    # ASCII digits only: str.isdigit() also takes other scripts' digits, which int() reads.
    digits = year + month
    if not (sep and len(year) == 4 and len(month) == 2 and digits.isascii() and digits.isdigit()):  # noqa: PLR2004
        raise ValueError(f"{text!r} is not YYYY-MM")
    return date(int(year), int(month), 1)


def previous_month(month: str) -> str:
    first = parse_month(month)
    return f"{first.year - 1:04d}-12" if first.month == 1 else f"{first.year:04d}-{first.month - 1:02d}"


def next_month(month: str) -> str:
    first = parse_month(month)
    return f"{first.year + 1:04d}-01" if first.month == 12 else f"{first.year:04d}-{first.month + 1:02d}"  # noqa: PLR2004


def to_100(mean: float) -> float:
    """A mean on the 1–5 scale as 0–100."""
    return (mean - SCORE_MIN) / (SCORE_MAX - SCORE_MIN) * 100


@dataclass(frozen=True, slots=True)
class Tally:
    """The raw sums of a group (a survey, a community, a company's total): what adds up."""

    responses: int
    #: Per question code, the sum of its scores over the responses.
    score_sums: Mapping[str, int]
    dispatched: int
    completed: int
    ratings: int
    rating_sum: int

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.responses + other.responses,
            {code: self.score_sums.get(code, 0) + other.score_sums.get(code, 0) for code in CODES},
            self.dispatched + other.dispatched,
            self.completed + other.completed,
            self.ratings + other.ratings,
            self.rating_sum + other.rating_sum,
        )


EMPTY: Final = Tally(0, dict.fromkeys(CODES, 0), 0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Scores:
    means: Mapping[str, float | None]
    survey_score: float | None
    completion_rate: float | None
    mean_rating: float | None
    order_score: float | None
    score: float | None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def scores_of(tally: Tally) -> Scores:
    """Every derived figure of ``tally``, rounded to two places (only at the end)."""
    means = {code: tally.score_sums.get(code, 0) / tally.responses if tally.responses else None for code in CODES}
    known = [m for m in means.values() if m is not None]
    survey = to_100(sum(known) / len(known)) if known else None
    completion = tally.completed / tally.dispatched if tally.dispatched else None
    rating = tally.rating_sum / tally.ratings if tally.ratings else None
    parts = [
        p
        for p in (None if completion is None else completion * 100, None if rating is None else to_100(rating))
        if p is not None
    ]
    orders = sum(parts) / len(parts) if parts else None
    if survey is None:
        combined = None
    elif orders is None:
        combined = survey
    else:
        combined = SURVEY_WEIGHT * survey + ORDERS_WEIGHT * orders
    return Scores(
        means={code: _round(m) for code, m in means.items()},
        survey_score=_round(survey),
        completion_rate=_round(completion),
        mean_rating=_round(rating),
        order_score=_round(orders),
        score=_round(combined),
    )


def enough(tally: Tally, min_responses: int) -> bool:
    """Enough answers to judge the month by (fewer: "not enough answers", never a failure)."""
    return tally.responses >= min_responses


def below(tally: Tally, *, threshold: float, min_responses: int) -> bool:
    """The month counts against the company: enough answers and a score under the threshold."""
    score = scores_of(tally).score
    return enough(tally, min_responses) and score is not None and score < threshold


def should_flag(this: Tally, before: Tally, *, threshold: float, min_responses: int) -> bool:
    """两个月连续不达标: below the threshold this month and the month before, both judged on
    enough answers."""
    return below(this, threshold=threshold, min_responses=min_responses) and below(
        before, threshold=threshold, min_responses=min_responses
    )
