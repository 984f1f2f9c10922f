"""Redemption codes: random, unguessable, and easy to read aloud or type at a till (pure)."""

from __future__ import annotations

import secrets
from typing import Final

#: No 0/O, 1/I/L: a code is read out over a counter and typed on a phone or a till.
ALPHABET: Final = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
#: 31^10 ≈ 8·10^14 codes (about 49 bits): guessing one of the few thousand open at any time
#: takes on the order of 10^11 tries, far past what the API's rate limits let through.
LENGTH: Final = 10


def new_code() -> str:
    """A fresh code from the operating system's random source."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(typed: str) -> str:
    """What a person typed, as it is stored: without spaces or dashes (written in groups, read
    aloud in pairs), in capitals. Characters outside the alphabet stay, and so match nothing."""
    return "".join(ch for ch in typed.upper() if ch not in " -")


def looks_like_code(text: str) -> bool:
    """Could ``text`` (normalised) be a code at all? A cheap refusal before any lookup."""
    return len(text) == LENGTH and all(ch in ALPHABET for ch in text)
