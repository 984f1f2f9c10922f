"""Subscribe-message templates: what is listed for the mini-program, and that each title is the
title its messages carry."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.care.texts import MISSED_TITLE, MissedFacts, render_missed
from app.care.vocabulary import TAG_LABELS
from app.community.exports.texts import READY_TITLE, ExportFacts, failed, ready
from app.core.config import TEMPLATE_KEYS, NotifySection
from app.notify.payloads import THING_MAX
from app.notify.templates import TITLES, subscribe_templates_of
from app.orders import texts

_AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def test_every_template_key_has_a_chinese_title() -> None:
    assert set(TITLES) == set(TEMPLATE_KEYS)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in title) for title in TITLES.values())


#: Keys whose messages are not the order texts': the digest's own, the time bank's, the care
#: alert's, the surveys' and the background exports' (below).
NOT_ORDER_TEXTS = {"digest", "points_changed", "care_missed", "survey_invite", "property_flagged", "export_ready"}


@pytest.mark.parametrize("key", [key for key in TEMPLATE_KEYS if key not in NOT_ORDER_TEXTS])
def test_titles_are_those_of_the_messages(key: str) -> None:
    facts = texts.OrderFacts(
        order_id=1,
        number="20261201-0001",
        title="台灯不亮",
        category="家电维修",
        community="和平社区",
        at=_AT,
        person="李师傅",
        text="请尽快处理",
    )
    assert texts.render(key, facts).title == TITLES[key]


def test_the_digest_title_is_the_daily_one() -> None:
    facts = texts.DigestFacts(
        community="和平社区", day="2026-11-30", submitted=3, closed=2, open=1, overdue=0, average_rating=4.5, at=_AT
    )
    assert texts.render_digest(facts).title.endswith(TITLES["digest"])


def test_only_configured_templates_are_listed_in_key_order() -> None:
    notify = NotifySection(subscribe_templates={"reminder": "tmpl-r", "order_claimed": "tmpl-c"})
    listed = subscribe_templates_of(notify).items
    assert [(t.key, t.template_id, t.title) for t in listed] == [
        ("order_claimed", "tmpl-c", "已有志愿者接单"),
        ("reminder", "tmpl-r", "工单提醒"),
    ]


def test_an_empty_template_id_is_not_listed() -> None:
    notify = NotifySection(subscribe_templates={"order_started": ""})
    assert subscribe_templates_of(notify).items == []


def test_the_time_banks_messages_fill_the_points_changed_fields_within_wechats_limits() -> None:
    from app.notify.payloads import THING_MAX
    from app.timebank import texts as timebank_texts

    long = "一" * 40
    for rendered in (
        timebank_texts.verified("ABCDEFGHJK", long, long, _AT),
        timebank_texts.expired("ABCDEFGHJK", long, 30, _AT),
    ):
        assert set(rendered.data) == {"character_string1", "thing2", "thing3", "time4"}
        assert all(len(rendered.data[key]["value"]) <= THING_MAX for key in ("thing2", "thing3"))
    assert timebank_texts.VERIFIED_KEY == timebank_texts.EXPIRED_KEY == timebank_texts.POINTS_KEY == "points_changed"
    assert TITLES["points_changed"] == "积分变动提醒"


def test_the_missed_care_visit_alert_has_its_title_and_names_no_care_tag() -> None:
    rendered = render_missed(
        MissedFacts(plan_id=3, number="20261207-0003", resident="张阿姨", volunteer="李师傅", due_end=_AT)
    )
    assert rendered.title == TITLES["care_missed"] == MISSED_TITLE
    assert "张阿姨" in rendered.body
    assert "李师傅" in rendered.body
    assert "20261207-0003" in rendered.body
    assert not any(label in rendered.body for label in TAG_LABELS.values())
    assert all(len(field["value"]) <= THING_MAX for key, field in rendered.data.items() if key.startswith("thing"))


def test_the_export_ready_message_has_its_title_and_fits_wechats_limits() -> None:
    facts = ExportFacts(
        job_id=12, area="和平社区居委会和平社区", first=date(2026, 11, 1), last=date(2026, 11, 30), rows=110250
    )
    rendered = ready(facts, _AT)
    assert rendered.title == TITLES["export_ready"] == READY_TITLE
    assert "110250" in rendered.body
    assert "12-01 17:30" in rendered.body  # the expiry in Shanghai time
    assert rendered.page == "pages/exports/index?id=12"
    for message in (rendered, failed(facts, "您已无权导出该区域的工作台账", _AT)):
        assert all(len(field["value"]) <= THING_MAX for key, field in message.data.items() if key.startswith("thing"))
