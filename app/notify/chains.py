"""Which channel carries a message: the chain of channels per purpose, and the pure rule that
walks it for one recipient as they are now (no database, no WeChat: tested on plain values).

A purpose is who the message is for (:class:`Addressee`), optionally narrowed to one message
(``"member.order_dispatched"``); ``[notify.chains]`` maps purposes to channels tried in order.
The first channel that can reach the person carries the message; one that cannot (no grant, not
following, no robot) is skipped, which is not a failure; when none can, the inbox (always
written) is all there is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from app.notify.models import Channel


class Addressee(StrEnum):
    """Who a message is for, which decides where it is tried first."""

    #: Residents and volunteers: they live in the mini-program (subscribe messages first).
    MEMBER = "member"
    #: Secretaries, grid workers, street admins, property staff: they follow the Official Account
    #: and sit in the community's WeCom work group.
    STAFF = "staff"


def chain_for(chains: Mapping[str, Sequence[str]], addressee: Addressee, template_key: str) -> list[Channel]:
    """The channels for one message: its own purpose if configured, else its addressee's (the
    settings always hold both addressees' chains: app/core/config.py fills in the defaults)."""
    chosen = chains.get(f"{addressee.value}.{template_key}")
    if chosen is None:
        chosen = chains.get(addressee.value, ())
    return [Channel(name) for name in chosen]


@dataclass(frozen=True, slots=True)
class Reach:
    """What one recipient has, as far as the channels care, when a message is to go."""

    openid: str | None = None
    #: A one-time grant is left for this template (or this message already holds one).
    grant: bool = False
    oa_openid: str | None = None
    following: bool = False
    blocked: bool = False
    #: The WeCom robot key of the community the message is about (staff only).
    robot_key: str | None = None
    #: Template ids configured for this message's key, per channel.
    template_ids: Mapping[Channel, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Skip:
    channel: Channel
    reason: str


@dataclass(frozen=True, slots=True)
class Route:
    """The channel that will carry the message, to whom, and with which template."""

    channel: Channel
    recipient: str
    template_id: str = ""


def _why_not_subscribe(reach: Reach) -> str | None:
    if not reach.template_ids.get(Channel.SUBSCRIBE):
        return "no_template"
    if not reach.openid:
        return "no_openid"  # imported and never logged in
    return None if reach.grant else "no_grant"


def _why_not_template(reach: Reach) -> str | None:
    if not reach.template_ids.get(Channel.TEMPLATE):
        return "no_template"
    if not reach.oa_openid:
        return "not_bound"
    if not reach.following:
        return "not_following"
    return "blocked" if reach.blocked else None


def _why_not(channel: Channel, reach: Reach) -> str | None:
    """Why ``channel`` cannot reach the person now (None: it can)."""
    if channel is Channel.SUBSCRIBE:
        return _why_not_subscribe(reach)
    if channel is Channel.TEMPLATE:
        return _why_not_template(reach)
    if channel is Channel.WECOM:
        return None if reach.robot_key else "no_robot"
    return None


def _address(channel: Channel, reach: Reach) -> str:
    if channel is Channel.SUBSCRIBE:
        return reach.openid or ""
    if channel is Channel.TEMPLATE:
        return reach.oa_openid or ""
    return reach.robot_key or ""


def choose(chain: Sequence[Channel], reach: Reach) -> tuple[Route | None, list[Skip], list[Channel]]:
    """Walk ``chain`` for one person: the route of the first channel that can reach them (None if
    none can), the channels skipped before it and why, and the chain left from the route on."""
    skips: list[Skip] = []
    for index, channel in enumerate(chain):
        reason = _why_not(channel, reach)
        if reason is not None:
            skips.append(Skip(channel, reason))
            continue
        template_id = reach.template_ids.get(channel, "")
        return Route(channel, _address(channel, reach), template_id), skips, list(chain[index:])
    return None, skips, []


def trail_entry(channel: Channel, outcome: str, detail: str, at: datetime) -> dict[str, str]:
    """One line of a message's trail (``OutboxMessage.trail``)."""
    return {"channel": channel.value, "outcome": outcome, "detail": detail[:200], "at": at.isoformat()}
