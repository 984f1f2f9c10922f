"""Opaque cursors for the lists' ``next_cursor`` / ``?cursor=`` (docs/api.md, Paging)."""

from __future__ import annotations

import base64
import binascii

from app.core.errors import InvalidInputError
from app.core.ids import is_db_id


def encode_cursor(value: int) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        value = int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInputError("翻页参数无效", details={"cursor": cursor}) from None
    # A cursor holds an id or the offset of a later page, both 1..2^63 − 1 when the server made it;
    # any other number would reach the driver (an OverflowError, or a negative OFFSET) as a 500.
    if not is_db_id(value):
        raise InvalidInputError("翻页参数无效", details={"cursor": cursor})
    return value
