"""Fetching a photo: its uploader, or anyone who may see the order it belongs to. The rule is the
order's, so it lives here and ``app.uploads`` only stores and finds files."""

from __future__ import annotations

from pathlib import Path

from app.core.errors import NotFoundError
from app.identity.actor import Actor
from app.orders.access import load_visible_order
from app.runtime import Runtime
from app.uploads.models import Attachment
from app.uploads.store import stored_file


def open_upload(rt: Runtime, actor: Actor, upload_id: int) -> tuple[Path, str]:
    """The uploader, or anyone who may see the order the photo belongs to: its file and type.

    Raises NotFoundError otherwise, the same answer as for an id that does not exist.
    """
    not_found = NotFoundError("找不到该照片")
    with rt.db.read() as session:
        attachment = session.get(Attachment, upload_id)
        if attachment is None:
            raise not_found
        if attachment.uploader_id != actor.user_id:
            if attachment.order_id is None:
                raise not_found
            try:
                load_visible_order(session, actor, attachment.order_id)
            except NotFoundError:
                # Its own message would say "order", telling the caller the photo exists.
                raise not_found from None
        path, content_type = stored_file(rt.settings.var_path, attachment), attachment.content_type
    if path is None:
        raise not_found
    return path, content_type
