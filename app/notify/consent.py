"""Subscribe-message consent: one-time grants, from the mini-program's report (POST
/subscriptions) or from WeChat's consent events (the bot), and spending one per message.

One acceptance reaches us twice (the page reports it, WeChat pushes it), so only one path adds
grants, ``[notify] consent_from``: ``api`` (the report) or ``events`` (the push). A refusal in an
event clears grants either way: a refusal is never counted twice, and it must never be missed."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from app.core.config import TEMPLATE_KEYS
from app.core.errors import InvalidInputError
from app.identity.actor import Actor
from app.identity.models import User
from app.notify.models import SubscriptionGrant
from app.notify.shapes import GrantsOut
from app.runtime import Runtime


def add_grants(session: sa.orm.Session, user_id: int, template_keys: list[str]) -> None:
    """One more one-time grant per key (flush only; the bot's consent events call this too)."""
    for key in template_keys:
        grant = session.get(SubscriptionGrant, (user_id, key))
        if grant is None:
            session.add(SubscriptionGrant(user_id=user_id, template_key=key, remaining=1))
        else:
            grant.remaining += 1
    session.flush()


def record_grants(rt: Runtime, actor: Actor, accepted: list[str]) -> GrantsOut:
    """Any user: what ``wx.requestSubscribeMessage`` answered ``accept`` for, by Linli template key.

    Each acceptance allows exactly one message (WeChat's one-time subscription), counted here only
    when ``notify.consent_from`` is ``api``; with ``events`` the push counts it and this answers
    the remaining grants unchanged. Unknown keys are refused either way.
    """
    unknown = sorted(set(accepted) - set(TEMPLATE_KEYS))
    if unknown:
        raise InvalidInputError("未知的消息模板", details={"unknown": unknown, "known": list(TEMPLATE_KEYS)})
    with rt.db.write() as session:
        if rt.settings.notify.consent_from == "api":
            add_grants(session, actor.user_id, accepted)
        return GrantsOut(remaining=_remaining(session, actor.user_id))


def _remaining(session: sa.orm.Session, user_id: int) -> dict[str, int]:
    rows = session.scalars(sa.select(SubscriptionGrant).where(SubscriptionGrant.user_id == user_id))
    return {row.template_key: row.remaining for row in rows}


def record_consent(
    rt: Runtime, user_id: int, decisions: Sequence[tuple[str, str]], *, popup: bool
) -> dict[str, int] | None:
    """WeChat told us what a user chose for subscribe-message templates (the bot found the user
    by mini-program openid, OA openid or unionid).

    ``decisions`` are (template id, SubscribeStatusString). In a popup, ``accept`` is one more
    one-time send for the Linli template key configured with that id, when ``notify.consent_from``
    is ``events``. ``reject`` (or ``ban``), in a popup or a settings change, leaves none. A change
    to ``accept`` grants nothing: it is a setting, not consent to a send. Unknown template ids are
    ignored. Answers the user's remaining grants, or None if the user is gone.
    """
    cfg = rt.settings.notify
    by_template = {template_id: key for key, template_id in cfg.subscribe_templates.items()}
    counted = popup and cfg.consent_from == "events"
    accepted = [by_template[t] for t, status in decisions if counted and status == "accept" and t in by_template]
    refused = {by_template[t] for t, status in decisions if status in {"reject", "ban"} and t in by_template}
    with rt.db.write() as session:
        if session.scalar(sa.select(User.id).where(User.id == user_id, User.deleted_at.is_(None))) is None:
            return None
        add_grants(session, user_id, accepted)
        if refused:
            session.execute(
                sa.update(SubscriptionGrant)
                .where(SubscriptionGrant.user_id == user_id, SubscriptionGrant.template_key.in_(refused))
                .values(remaining=0)
            )
        return _remaining(session, user_id)
