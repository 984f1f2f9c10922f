"""Opaque cursors for the lists' ``next_cursor`` / ``?cursor=`` (docs/api.md, Paging)."""

from __future__ import annotations

import base64
import binascii

from app.core.errors import InvalidInputError


def encode_cursor(value: int) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInputError("翻页参数无效", details={"cursor": cursor}) from None
