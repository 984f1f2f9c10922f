"""The 随手拍 duplicate rule (app/orders/duplicate_rules.py), without a database."""

from __future__ import annotations

import pytest

from app.orders.duplicate_rules import (
    PLACE_WEIGHT,
    Report,
    bigrams,
    distance_m,
    likely_duplicates,
    similarity,
    text_similarity,
)

SPOT = (39.909187, 116.397451)
#: About 50 m east of SPOT, and about 1.1 km north.
NEAR = (39.909187, 116.398040)
FAR = (39.919187, 116.397451)


def test_bigrams_drop_punctuation_spaces_and_case_and_fold_width() -> None:
    assert bigrams("路灯，坏了！") == {"路灯", "灯坏", "坏了"}
    assert bigrams("Ａb C") == bigrams("abc") == {"ab", "bc"}
    assert bigrams("灯") == {"灯"}
    assert bigrams(" ，。") == frozenset()


def test_text_similarity_is_dice() -> None:
    assert text_similarity(bigrams("路灯坏了"), bigrams("路灯坏了")) == 1.0
    # 路灯 灯坏 坏了 against 路灯 灯坏 坏了 了不 不亮: 2·3 / (3 + 5)
    assert text_similarity(bigrams("路灯坏了"), bigrams("路灯坏了不亮")) == pytest.approx(0.75)
    assert text_similarity(bigrams("路灯坏了"), bigrams("垃圾满了")) == 0.0
    assert text_similarity(frozenset(), bigrams("路灯")) == 0.0


def test_distance_is_the_great_circle_in_metres() -> None:
    assert distance_m(SPOT, SPOT) == 0.0
    assert distance_m(SPOT, NEAR) == pytest.approx(50.3, abs=0.5)
    assert distance_m(SPOT, FAR) == pytest.approx(1112, abs=2)


def test_without_coordinates_on_both_only_the_words_count() -> None:
    new = Report(2, "路灯坏了", "", SPOT)
    assert similarity(new, Report(1, "路灯坏了"), radius_m=300) == 1.0
    assert similarity(Report(2, "路灯坏了"), Report(1, "路灯坏了", "", FAR), radius_m=300) == 1.0


def test_coordinates_on_both_exclude_far_ones_and_weigh_closeness_in() -> None:
    new = Report(2, "路灯坏了", "", SPOT)
    assert similarity(new, Report(1, "路灯坏了", "", FAR), radius_m=300) == 0.0
    assert similarity(new, Report(1, "路灯坏了", "", SPOT), radius_m=300) == 1.0
    # No words in common at the very spot: only the place's share.
    assert similarity(new, Report(1, "垃圾满了", "", SPOT), radius_m=300) == PLACE_WEIGHT
    near = similarity(new, Report(1, "路灯坏了", "", NEAR), radius_m=300)
    assert 1 - PLACE_WEIGHT < near < 1


def test_title_and_description_count_without_grams_across_them() -> None:
    assert similarity(Report(2, "路灯", "坏了"), Report(1, "路灯坏了"), radius_m=300) == pytest.approx(0.8)


def test_likely_duplicates_keep_the_threshold_order_and_limit() -> None:
    new = Report(10, "3栋门口路灯坏了", "晚上不亮")
    candidates = [
        Report(1, "3栋门口路灯坏了", "晚上不亮"),  # the same words
        Report(2, "3栋门口路灯坏了", "晚上不亮"),  # the same again, later
        Report(3, "门口路灯不亮"),
        Report(4, "垃圾桶满了"),  # nothing alike
        Report(10, "3栋门口路灯坏了", "晚上不亮"),  # the report itself
    ]
    matches = likely_duplicates(new, candidates, threshold=0.35, radius_m=300, limit=5)
    assert [m.id for m in matches] == [1, 2, 3]
    assert matches[0].similarity == 1.0 > matches[2].similarity >= 0.35
    assert [m.id for m in likely_duplicates(new, candidates, threshold=0.35, radius_m=300, limit=1)] == [1]
    assert likely_duplicates(new, candidates, threshold=1.0, radius_m=300, limit=5)[-1].id == 2
    assert likely_duplicates(new, [], threshold=0.35, radius_m=300, limit=5) == []
