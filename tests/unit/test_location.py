"""A 随手拍's coordinates (app/orders/location.py): checked, rounded, and who sees them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from app.core.errors import InvalidInputError
from app.orders.location import coordinates, sees_location
from app.orders.workflow import Party


def test_coordinates_are_kept_to_six_places() -> None:
    place = coordinates(39.90918749, 116.3974515)
    assert (place.latitude, place.longitude) == (Decimal("39.909187"), Decimal("116.397452"))
    assert coordinates(31, 121).degrees == (31.0, 121.0)


@pytest.mark.parametrize(
    ("latitude", "longitude", "field"),
    [
        (0, 0, "location.latitude"),  # what a failed fix gives
        (39.9, -74.0, "location.longitude"),  # New York: GCJ-02 is China's
        (-33.9, 151.2, "location.latitude"),
        (60.0, 116.4, "location.latitude"),
        (float("nan"), 116.4, "location.latitude"),
        (39.9, float("inf"), "location.longitude"),
        (True, 116.4, "location.latitude"),
        ("39.9", 116.4, "location.latitude"),
    ],
)
def test_coordinates_outside_china_or_not_numbers_are_refused(latitude: Any, longitude: Any, field: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        coordinates(latitude, longitude)
    assert refused.value.details["fields"][0]["field"] == field


def test_staff_the_owner_and_the_holder_at_work_see_them_nobody_else() -> None:
    for party in (Party.OWNER, Party.SECRETARY, Party.GRID_WORKER, Party.STREET_ADMIN):
        assert sees_location({party}, holds_actively=False)
    assert not sees_location({Party.VOLUNTEER}, holds_actively=False)
    assert not sees_location({Party.ASSIGNEE, Party.VOLUNTEER}, holds_actively=False)  # assigned, not accepted
    assert sees_location({Party.ASSIGNEE}, holds_actively=True)
    assert not sees_location(set(), holds_actively=False)
