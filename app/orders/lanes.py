"""三事分流 made to mean something: the lane each triage level suggests (``[orders.lanes]``), as
the order's answer shows it. ``app.orders.notifications`` tells the lane's people of a triage."""

from __future__ import annotations

from app.core.config import LanesSection
from app.orders import texts
from app.orders.shapes import LaneOut
from app.orders.workflow import LEVEL_LABELS, Lane, TriageLevel


def lane_of(level: TriageLevel, lanes: LanesSection) -> Lane:
    """The lane ``level`` suggests under this deployment's configuration."""
    return Lane(lanes.of(level.value))


def lane_out(level: TriageLevel | None, lanes: LanesSection) -> LaneOut | None:
    """What the answer says about an order's level and its lane; None until it is triaged."""
    if level is None:
        return None
    lane = lane_of(level, lanes)
    return LaneOut(level=level, level_label=LEVEL_LABELS[level], suggested=lane, label=texts.LANE_LABELS[lane])
