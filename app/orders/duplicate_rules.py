"""随手拍 likely duplicates: how similar two reports are. Pure: no database.

Text: the Sørensen–Dice coefficient of the character bigrams of title and description, after
dropping whitespace and punctuation (Chinese has no spaces between words, so bigrams of characters
are what "the same words" means; 「路灯坏了」 and 「小区路灯坏了不亮」 share 路灯, 灯坏, 坏了).
Place: when both reports carry coordinates, those farther apart than the radius are never the same
problem (similarity 0); nearer ones weigh closeness in, a fifth of the score, so that the same
spot lifts a loosely worded report and a far corner of the grid lowers it.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

#: Closeness's share of the score when both reports have coordinates.
PLACE_WEIGHT: Final = 0.2
_EARTH_RADIUS_M: Final = 6_371_000.0
_GRAM: Final = 2


@dataclass(frozen=True, slots=True)
class Report:
    """What the rule looks at of one report."""

    id: int
    title: str
    description: str = ""
    #: (latitude, longitude) in degrees, or None.
    point: tuple[float, float] | None = None


@dataclass(frozen=True, slots=True)
class Match:
    id: int
    similarity: float


def _kept(char: str) -> bool:
    # Letters and digits of any script; punctuation, symbols and spaces are dropped.
    return unicodedata.category(char)[0] in {"L", "N"}


def bigrams(text: str) -> frozenset[str]:
    """The character bigrams of ``text`` (case-folded, width-normalised, punctuation dropped); a
    one-character text is its own one gram, so that it can still match itself."""
    kept = "".join(char for char in unicodedata.normalize("NFKC", text).casefold() if _kept(char))
    if len(kept) < _GRAM:
        return frozenset({kept}) if kept else frozenset()
    return frozenset(kept[i : i + _GRAM] for i in range(len(kept) - _GRAM + 1))


def text_similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Dice: 2·|A∩B| / (|A| + |B|); 0 when either is empty."""
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres (haversine). GCJ-02 shifts points of one neighbourhood by
    nearly the same offset, so distances within a grid are as good as in WGS-84."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _words(report: Report) -> frozenset[str]:
    return bigrams(report.title) | bigrams(report.description)


def similarity(new: Report, old: Report, *, radius_m: float) -> float:
    """0–1, rounded to 2 places: how likely ``old`` reports the same problem as ``new``."""
    text = text_similarity(_words(new), _words(old))
    if new.point is None or old.point is None:
        return round(text, 2)
    distance = distance_m(new.point, old.point)
    if distance > radius_m:
        return 0.0
    closeness = 1 - distance / radius_m
    return round((1 - PLACE_WEIGHT) * text + PLACE_WEIGHT * closeness, 2)


def likely_duplicates(
    new: Report, candidates: Iterable[Report], *, threshold: float, radius_m: float, limit: int
) -> Sequence[Match]:
    """The candidates at least ``threshold`` similar to ``new`` (never ``new`` itself), most similar
    first and, among equals, the oldest (lowest id) first: the one most likely the original."""
    matches = [
        Match(old.id, score)
        for old in candidates
        if old.id != new.id and (score := similarity(new, old, radius_m=radius_m)) >= threshold
    ]
    matches.sort(key=lambda match: (-match.similarity, match.id))
    return matches[:limit]
