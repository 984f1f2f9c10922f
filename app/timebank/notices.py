"""Telling a volunteer their points moved: the inbox always, and the ``points_changed`` subscribe
message where they granted one (``app.timebank.texts``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.core.config import NotifySection
from app.identity.models import User
from app.notify.chains import Addressee
from app.notify.outbox import notify_user
from app.notify.payloads import Rendered, character_string, thing, time_value
from app.timebank.labels import KIND_LABELS
from app.timebank.ledger import PointsEntry, PointsKind, kind_of
from app.timebank.texts import POINTS_KEY, POINTS_PAGE


def _sentence(entry: PointsEntry, kind: PointsKind, about: str) -> str:
    where = f"（{about}）" if about else ""
    if kind is PointsKind.HELD:
        return f"{entry.held_points or 0} 积分待社区回访后确认{where}"
    if kind is PointsKind.FORFEITED:
        return f"待确认的积分未予发放{where}"
    return f"积分 {entry.delta:+d}{where}"


def tell_volunteer(session: Session, cfg: NotifySection, entry: PointsEntry, *, about: str = "") -> None:
    """Queue the message about one ledger entry (flushes through ``notify_user``); ``about``:
    the order number or the adjustment's reason, shown in brackets."""
    user = session.get(User, entry.user_id)
    if user is None:
        return
    kind = kind_of(entry)
    label = KIND_LABELS[kind]
    sentence = _sentence(entry, kind, about)
    rendered = Rendered(
        data={
            "character_string1": character_string(f"{entry.delta:+d}"),
            "thing2": thing(label),
            "thing3": thing(sentence),
            "time4": time_value(entry.created_at),
        },
        title=label,
        body=sentence,
        page=POINTS_PAGE,
    )
    notify_user(
        session,
        cfg,
        user=user,
        template_key=POINTS_KEY,
        rendered=rendered,
        dedupe_key=f"points:{entry.id}",
        addressee=Addressee.MEMBER,
        order_id=entry.order_id,
        now=entry.created_at,
    )
