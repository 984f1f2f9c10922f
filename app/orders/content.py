"""Content security (WeChat msgSecCheck) for what people write that others will read about an
order: a new order's title and description, and the reasons, notes, comments and departments of
its actions. Asked before any write transaction opens: it is an HTTP call, and a transaction
(on SQLite, the database's one write lock) must never wait on WeChat."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from app.core.errors import ContentRejectedError
from app.identity.actor import Actor
from app.runtime import Runtime
from app.wechat.errors import WeChatError
from app.wechat.gateway import Verdict

log = logging.getLogger(__name__)

#: msgSecCheck v2's scene for comments (评论): what residents and staff write on an order.
COMMENT_SCENE = 2


def check_texts(rt: Runtime, actor: Actor, fields: Mapping[str, str]) -> Verdict | None:
    """Ask WeChat about the non-empty ``fields`` (field name → text), in one call.

    Raises ContentRejectedError (422 ``content_rejected``, ``details.fields`` naming the risky
    fields) when WeChat judges the text risky. Otherwise answers the verdict: PASS without a call
    when there is nothing to check, REVIEW, or None when WeChat could not be asked; what those
    mean is the caller's to decide.
    """
    written = {field: text.strip() for field, text in fields.items() if text and text.strip()}
    if not written:
        return Verdict.PASS
    try:
        verdict = _ask(rt, actor, "\n".join(written.values()))
    except WeChatError as exc:
        log.warning("content security unavailable for %s: %s", ", ".join(written), exc)
        return None
    if verdict is Verdict.RISKY:
        raise ContentRejectedError(details={"fields": _risky_fields(rt, actor, written)})
    return verdict


def _ask(rt: Runtime, actor: Actor, content: str) -> Verdict:
    return rt.wechat.check_text(content, openid=actor.openid, scene=COMMENT_SCENE)


def _risky_fields(rt: Runtime, actor: Actor, written: Mapping[str, str]) -> list[str]:
    """Which of several fields to fix. One call answered for them all (the usual case costs one
    call); only a refusal asks again field by field. If none is risky alone, or WeChat cannot
    say, they are named together."""
    if len(written) == 1:
        return list(written)
    try:
        risky = [field for field, text in written.items() if _ask(rt, actor, text) is Verdict.RISKY]
    except WeChatError:
        risky = []
    return risky or list(written)
