"""The visit log's pure rules (app/community/opinions/rules.py), without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.community.opinions.models import VisitKind
from app.community.opinions.rules import (
    CHECK_CHARS,
    KIND_LABELS,
    TITLE_MAX,
    Tally,
    check_batches,
    check_held_at,
    default_title,
    total,
)
from app.core.errors import InvalidInputError

NOW = datetime(2026, 3, 10, 7, tzinfo=UTC)


def test_every_kind_has_its_chinese_label() -> None:
    assert {kind.value: KIND_LABELS[kind] for kind in VisitKind} == {
        "home_visit": "三访三问",
        "tea_talk": "吃茶话事",
        "reception_day": "接待日",
    }


def test_a_visit_held_in_the_future_is_refused_naming_held_at() -> None:
    check_held_at(NOW, NOW)
    check_held_at(NOW - timedelta(days=30), NOW)
    with pytest.raises(InvalidInputError) as refused:
        check_held_at(NOW + timedelta(seconds=1), NOW)
    assert refused.value.details == {"fields": [{"field": "held_at", "problem": "走访时间不能晚于现在"}]}


def test_the_default_title_fits_an_orders_title() -> None:
    assert default_title("楼道灯坏了") == "民情：楼道灯坏了"
    assert default_title("  楼道灯\n坏了  ") == "民情：楼道灯 坏了"
    long = default_title("长" * 500)
    assert len(long) == TITLE_MAX
    assert long.endswith("…")
    assert len(default_title("长" * (TITLE_MAX - 3))) == TITLE_MAX  # exactly fits: no ellipsis
    assert not default_title("长" * (TITLE_MAX - 3)).endswith("…")


def test_tallies_add_up_kind_by_kind() -> None:
    grid = Tally(by_kind={"home_visit": 2, "tea_talk": 0, "reception_day": 1}, residents_met=7, items=4, ordered=2)
    no_grid = Tally(by_kind={"home_visit": 0, "tea_talk": 1, "reception_day": 0}, residents_met=10, items=2, closed=1)
    whole = total([grid, no_grid])
    assert whole.by_kind == {"home_visit": 2, "tea_talk": 1, "reception_day": 1}
    assert (whole.visits, whole.residents_met, whole.items, whole.ordered, whole.closed) == (4, 17, 6, 2, 1)
    assert total([]).by_kind == {"home_visit": 0, "tea_talk": 0, "reception_day": 0}
    assert total([]).visits == 0


def test_texts_are_checked_in_batches_that_fit_one_call() -> None:
    fields = {"place": "活动室", **{f"items.{i}.text": "字" * 500 for i in range(50)}, "items.0.category": "  "}
    batches = check_batches(fields)
    assert [name for batch in batches for name in batch] == ["place", *(f"items.{i}.text" for i in range(50))]
    assert all(len("\n".join(batch.values())) <= CHECK_CHARS for batch in batches)
    assert len(batches) == 13  # 4 texts of 500 fit in 2500 with their newlines, 5 do not
    assert check_batches({"a": "一" * 4, "b": "二" * 5}, limit=10) == [{"a": "一" * 4, "b": "二" * 5}]
    assert check_batches({"a": "一" * 5, "b": "二" * 5}, limit=10) == [{"a": "一" * 5}, {"b": "二" * 5}]
    assert check_batches({"a": " ", "b": ""}) == []
