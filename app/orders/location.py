"""Where a 随手拍 is: the mini-program's coordinates, checked and rounded, and who may see them.

Pure: no database, no Flask. wx.getLocation answers GCJ-02 degrees, the datum every map of mainland
China uses; GCJ-02 is defined only there, so coordinates outside China's bounding box are refused
as surely wrong, as is (0, 0), what a failed location gives. They are kept to 6 decimal places of
a degree (about 0.1 m), finer than any phone measures.

Privacy: a report is about a public place, but coordinates sent from home reveal the home. So they
are shown only to those who must find the spot: staff of the order's community (secretary, grid
worker of its grid, street admin), the resident who posted it, and whoever holds the work while
doing it. Volunteers browsing the pool, a team member merely assigned, residents offered it as a
likely duplicate: none of them see coordinates, only the grid and building. They never go into
messages either.
"""

from __future__ import annotations

import math
from collections.abc import Set
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

from app.core.errors import InvalidInputError
from app.orders.workflow import Party

#: Decimal places kept (the database column is NUMERIC(9, 6)).
PLACES: Final = 6
_QUANTUM: Final = Decimal(1).scaleb(-PLACES)
#: Mainland China, Hong Kong, Macao and Taiwan with a margin: (south, north), (west, east).
LATITUDES: Final = (3.5, 54.0)
LONGITUDES: Final = (73.0, 136.0)

#: The parties who see coordinates besides the holder at work (see the module's note).
SEE_LOCATION: Final = frozenset({Party.OWNER, Party.SECRETARY, Party.GRID_WORKER, Party.STREET_ADMIN})


@dataclass(frozen=True, slots=True)
class Coordinates:
    latitude: Decimal
    longitude: Decimal

    @property
    def degrees(self) -> tuple[float, float]:
        return float(self.latitude), float(self.longitude)


def _problem(field: str, problem: str) -> InvalidInputError:
    return InvalidInputError(problem, details={"fields": [{"field": field, "problem": problem}]})


def _degree(value: float, bounds: tuple[float, float], field: str, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _problem(field, f"{name}必须是数字")
    low, high = bounds
    if not low <= value <= high:
        raise _problem(field, f"{name}不在中国境内（应在 {low:g} 到 {high:g} 之间），请重新定位")
    return Decimal(repr(float(value))).quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)


def coordinates(latitude: float, longitude: float) -> Coordinates:
    """The checked, rounded coordinates; InvalidInputError naming ``location.latitude`` or
    ``location.longitude`` otherwise."""
    lat = _degree(latitude, LATITUDES, "location.latitude", "纬度")
    lon = _degree(longitude, LONGITUDES, "location.longitude", "经度")
    return Coordinates(lat, lon)


def sees_location(parties: Set[Party], *, holds_actively: bool) -> bool:
    """Whether a viewer with ``parties`` to the order sees its coordinates; ``holds_actively``:
    they accepted the work and are doing it now (they must find the spot)."""
    return holds_actively or bool(parties & SEE_LOCATION)
