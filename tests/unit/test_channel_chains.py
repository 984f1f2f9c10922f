"""The chain rule on plain values: which channel carries a message for a person as they are, and
the ``[notify.chains]`` settings it reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.core.config import NotifySection
from app.notify.chains import Addressee, Reach, Route, Skip, chain_for, choose, trail_entry
from app.notify.models import Channel

SUB, TPL, BOT = Channel.SUBSCRIBE, Channel.TEMPLATE, Channel.WECOM
BOTH = {SUB: "tmpl-sub", TPL: "tmpl-oa"}
MEMBER = [SUB, TPL]
STAFF = [TPL, SUB, BOT]


def reach(**values: object) -> Reach:
    return Reach(**{"openid": "mp-1", "template_ids": BOTH, **values})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("chain", "person", "route", "skipped"),
    [
        (MEMBER, reach(grant=True), Route(SUB, "mp-1", "tmpl-sub"), []),
        # Following and bound, with a grant: the grant's channel comes first in a member's chain.
        (MEMBER, reach(grant=True, oa_openid="oa-1", following=True), Route(SUB, "mp-1", "tmpl-sub"), []),
        (MEMBER, reach(oa_openid="oa-1", following=True), Route(TPL, "oa-1", "tmpl-oa"), [Skip(SUB, "no_grant")]),
        (MEMBER, reach(), None, [Skip(SUB, "no_grant"), Skip(TPL, "not_bound")]),
        (MEMBER, reach(oa_openid="oa-1"), None, [Skip(SUB, "no_grant"), Skip(TPL, "not_following")]),
        (
            MEMBER,
            reach(oa_openid="oa-1", following=True, blocked=True),
            None,
            [Skip(SUB, "no_grant"), Skip(TPL, "blocked")],
        ),
        # Imported and never logged in: no openid, whatever the grants say.
        (MEMBER, reach(openid=None, grant=True), None, [Skip(SUB, "no_openid"), Skip(TPL, "not_bound")]),
        # A channel without a template for the message cannot carry it.
        (
            MEMBER,
            reach(grant=True, template_ids={TPL: "tmpl-oa"}),
            None,
            [Skip(SUB, "no_template"), Skip(TPL, "not_bound")],
        ),
        (STAFF, reach(oa_openid="oa-1", following=True, grant=True), Route(TPL, "oa-1", "tmpl-oa"), []),
        (STAFF, reach(grant=True), Route(SUB, "mp-1", "tmpl-sub"), [Skip(TPL, "not_bound")]),
        (STAFF, reach(robot_key="robot-1"), Route(BOT, "robot-1", ""), [Skip(TPL, "not_bound"), Skip(SUB, "no_grant")]),
        (STAFF, reach(), None, [Skip(TPL, "not_bound"), Skip(SUB, "no_grant"), Skip(BOT, "no_robot")]),
        ([], reach(grant=True), None, []),
    ],
)
def test_the_first_channel_that_can_reach_the_person_carries_the_message(
    chain: list[Channel], person: Reach, route: Route | None, skipped: list[Skip]
) -> None:
    chosen, skips, rest = choose(chain, person)
    assert (chosen, skips) == (route, skipped)
    # What is left of the chain starts at the chosen channel: the fallbacks after a refusal.
    assert rest == (chain[chain.index(route.channel) :] if route else [])


def test_chains_come_from_the_settings_with_the_defaults_kept() -> None:
    defaults = NotifySection().chains
    assert chain_for(defaults, Addressee.MEMBER, "order_dispatched") == [SUB, TPL]
    assert chain_for(defaults, Addressee.STAFF, "reminder") == [TPL, SUB, BOT]
    # One message's own chain; the addressees' defaults stay for everything else.
    custom = NotifySection(chains={"member.order_dispatched": ["template", "subscribe"]}).chains
    assert chain_for(custom, Addressee.MEMBER, "order_dispatched") == [TPL, SUB]
    assert chain_for(custom, Addressee.MEMBER, "order_claimed") == [SUB, TPL]
    assert chain_for(custom, Addressee.STAFF, "order_dispatched") == [TPL, SUB, BOT]
    # An empty chain is allowed: the inbox only.
    assert chain_for(NotifySection(chains={"staff": []}).chains, Addressee.STAFF, "digest") == []


@pytest.mark.parametrize(
    "chains",
    [
        {"volunteer": ["subscribe"]},  # not an addressee
        {"member.no_such_message": ["subscribe"]},
        {"member": ["subscribe", "subscribe"]},
        {"member": ["sms"]},  # not a channel
        {"member": ["customer_service"]},  # bot replies only, never a chain's
    ],
)
def test_bad_chains_are_refused_when_the_settings_load(chains: dict[str, list[str]]) -> None:
    with pytest.raises(ValueError, match=r"chain|channel|purpose|Input should be"):
        NotifySection(chains=chains)


def test_a_trail_entry_is_short_and_dated() -> None:
    at = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
    entry = trail_entry(SUB, "skipped", "x" * 500, at)
    assert entry == {"channel": "subscribe", "outcome": "skipped", "detail": "x" * 200, "at": at.isoformat()}
