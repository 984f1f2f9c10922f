"""Masking of personal data for people who may not see it in full (PIPL minimum scope)."""

from __future__ import annotations

#: Digits shown at each end of a masked phone number: 138****5678.
_HEAD, _TAIL = 3, 4


def mask_phone(phone: str | None) -> str | None:
    """``13812345678`` → ``138****5678``; short or missing numbers are hidden entirely."""
    if not phone:
        return None
    if len(phone) <= _HEAD + _TAIL:
        return "*" * len(phone)
    return phone[:_HEAD] + "*" * (len(phone) - _HEAD - _TAIL) + phone[-_TAIL:]


def mask_room(room: str) -> str:
    """A room number is shown as ``***`` to those who may not know where the resident lives."""
    return "***" if room else ""
