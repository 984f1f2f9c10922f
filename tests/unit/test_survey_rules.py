"""The evaluation's arithmetic without a database: months, scores, the combined formula and the
two-months rule; the API's score fields are the question set's."""

from __future__ import annotations

from datetime import date

import pytest

from app.surveys.questions import CODES
from app.surveys.rules import (
    EMPTY,
    Tally,
    below,
    month_of,
    next_month,
    parse_month,
    previous_month,
    scores_of,
    should_flag,
)
from miniprogram_api.schemas import SurveyScores


def _tally(
    responses: int,
    per_question: tuple[int, ...],
    dispatched: int = 0,
    completed: int = 0,
    ratings: tuple[int, ...] = (),
) -> Tally:
    return Tally(
        responses=responses,
        score_sums=dict(zip(CODES, per_question, strict=True)),
        dispatched=dispatched,
        completed=completed,
        ratings=len(ratings),
        rating_sum=sum(ratings),
    )


def test_malformed_months_are_refused() -> None:
    for text in ("2026-13", "2026-1", "26-11", "2026/11", "", "2026-00", "２０２６-11"):
        with pytest.raises(ValueError):  # noqa: PT011 - any of the parse errors
            parse_month(text)


def test_months_before_and_after_cross_the_year() -> None:
    assert month_of(date(2026, 12, 31)) == "2026-12"
    assert previous_month("2027-01") == "2026-12"
    assert previous_month("2026-12") == "2026-11"
    assert next_month("2026-12") == "2027-01"
    assert parse_month("2026-02") == date(2026, 2, 1)


def test_no_response_means_no_score_but_orders_still_count() -> None:
    scores = scores_of(_tally(0, (0, 0, 0, 0, 0), dispatched=2, completed=1, ratings=(4,)))
    assert scores.means == dict.fromkeys(CODES)
    assert (scores.survey_score, scores.score) == (None, None)
    assert (scores.completion_rate, scores.mean_rating, scores.order_score) == (0.5, 4.0, 62.5)


def test_the_combined_score_by_hand() -> None:
    # Two responses: sums 9, 8, 9, 7, 10 → means 4.5, 4, 4.5, 3.5, 5 → 4.3 → (4.3 − 1) / 4 × 100 = 82.5.
    # Orders: 1 of 2 completed (50), one rating of 4 (75) → 62.5. 0.8 × 82.5 + 0.2 × 62.5 = 78.5.
    scores = scores_of(_tally(2, (9, 8, 9, 7, 10), dispatched=2, completed=1, ratings=(4,)))
    assert scores.means == {"cleaning": 4.5, "greening": 4.0, "security": 4.5, "repairs": 3.5, "attitude": 5.0}
    assert (scores.survey_score, scores.order_score, scores.score) == (82.5, 62.5, 78.5)


def test_without_orders_the_survey_is_the_score_and_without_ratings_the_completion_is() -> None:
    assert scores_of(_tally(1, (3, 3, 3, 3, 3))).score == 50.0
    completed_unrated = scores_of(_tally(1, (5, 5, 5, 5, 5), dispatched=4, completed=4))
    assert (completed_unrated.order_score, completed_unrated.score) == (100.0, 100.0)


def test_sums_add_up_and_round_only_at_the_end() -> None:
    total = _tally(2, (9, 8, 9, 7, 10), dispatched=2, completed=1, ratings=(4,)) + _tally(1, (3, 3, 3, 3, 3))
    assert total == _tally(3, (12, 11, 12, 10, 13), dispatched=2, completed=1, ratings=(4,))
    assert EMPTY + total == total
    scores = scores_of(total)
    assert scores.means["greening"] == 3.67
    # 58 / 15 = 3.8667 → 71.6667; 0.8 × 71.6667 + 0.2 × 62.5 = 69.8333: from the unrounded means.
    assert (scores.survey_score, scores.score) == (71.67, 69.83)


LOW = _tally(5, (15, 15, 15, 15, 15))  # all 3: 50
HIGH = _tally(5, (25, 25, 25, 25, 25))  # all 5: 100
FEW_LOW = _tally(4, (12, 12, 12, 12, 12))  # all 3, but four answers


@pytest.mark.parametrize(
    ("this", "before", "flag"),
    [
        (LOW, LOW, True),
        (LOW, HIGH, False),
        (HIGH, LOW, False),
        (LOW, FEW_LOW, False),
        (FEW_LOW, LOW, False),
        (LOW, EMPTY, False),
    ],
    ids=["below-below", "below-above", "above-below", "below-few", "few-below", "below-nothing"],
)
def test_two_months_below_with_enough_answers_flag(this: Tally, before: Tally, flag: bool) -> None:
    assert should_flag(this, before, threshold=80, min_responses=5) is flag


def test_the_threshold_itself_is_not_below() -> None:
    exactly = _tally(5, (20, 20, 20, 20, 20))  # all 4: 75
    assert not below(exactly, threshold=75, min_responses=5)
    assert below(exactly, threshold=75.01, min_responses=5)


def test_the_api_asks_exactly_the_question_set() -> None:
    assert tuple(SurveyScores.model_fields) == CODES
