"""Fetching a photo: its uploader, or anyone who may see the order it belongs to. The rule is the
order's, so it lives here and ``app.uploads`` only stores and finds files.

Two ways in, one rule: a bearer token names the caller (``open_upload``); a signed photo link names
the viewer it was minted for (``open_linked_photo``), and the rule is applied to that viewer again
at each fetch, so a link stops working as soon as its viewer loses sight of the order, not only
when it expires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from app.core.clock import now_utc
from app.core.errors import ForbiddenError, NotFoundError
from app.identity.actor import Actor, actor_by_id
from app.orders.access import load_visible_order
from app.runtime import Runtime
from app.uploads.models import Attachment
from app.uploads.store import stored_file


@dataclass(frozen=True, slots=True)
class LinkedPhoto:
    """A photo fetched through a signed link: its file, its type, and until when the link holds."""

    path: Path
    content_type: str
    expires_at: datetime


def _may_see(session: Session, actor: Actor, attachment: Attachment) -> bool:
    if attachment.uploader_id == actor.user_id:
        return True
    if attachment.order_id is None:
        return False  # not on any order yet: the uploader's alone
    try:
        load_visible_order(session, actor, attachment.order_id)
    except NotFoundError:
        return False
    return True


def open_upload(rt: Runtime, actor: Actor, upload_id: int) -> tuple[Path, str]:
    """The uploader, or anyone who may see the order the photo belongs to: its file and type.

    Raises NotFoundError otherwise, the same answer as for an id that does not exist.
    """
    # One message for every refusal: the order's own would say "order", telling the caller the
    # photo exists.
    not_found = NotFoundError("找不到该照片")
    with rt.db.read() as session:
        attachment = session.get(Attachment, upload_id)
        if attachment is None or not _may_see(session, actor, attachment):
            raise not_found
        path, content_type = stored_file(rt.settings.var_path, attachment), attachment.content_type
    if path is None:
        raise not_found
    return path, content_type


def open_linked_photo(rt: Runtime, upload_id: int, token: str) -> LinkedPhoto:
    """Anyone holding a photo link (no login: ``<image src>`` sends no header): the file, if the
    link is genuine, unexpired and its viewer may still see the photo.

    Raises BadSignatureError or LinkExpiredError (403) for the link itself, ForbiddenError (403)
    when the viewer is gone or may no longer see it, NotFoundError (404) when the photo or its
    file is gone. Unlike ``open_upload`` a refusal is not disguised as a 404: the link shows that
    this server once let its viewer see the photo, so a 403 tells nobody anything new, and it
    tells the mini-program not to retry.
    """
    link = rt.photo_links.check(token, upload_id, now_utc())  # no database for a forged link
    with rt.db.read() as session:
        viewer = actor_by_id(session, link.viewer_id)
        attachment = session.get(Attachment, upload_id)
        if attachment is None:
            raise NotFoundError("找不到该照片")
        if viewer is None or not _may_see(session, viewer, attachment):
            raise ForbiddenError("你已无权查看这张照片")
        path, content_type = stored_file(rt.settings.var_path, attachment), attachment.content_type
    if path is None:
        raise NotFoundError("找不到该照片")
    return LinkedPhoto(path=path, content_type=content_type, expires_at=link.expires_at)
