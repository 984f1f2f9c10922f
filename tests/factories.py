"""Typed builders for test data, going through the same services the product uses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask.testing import FlaskClient

from app.areas.catalogue import create_category
from app.areas.models import AreaKind
from app.areas.tree import create_area
from app.identity.grants import assign_role
from app.identity.roles import Role
from app.runtime import Runtime


@dataclass(frozen=True)
class World:
    """Two communities under one street, each with a grid, a building and a category."""

    street: str = "JD1"
    community: str = "SQ1"
    grid: str = "SQ1-G1"
    building: str = "SQ1-G1-B3"
    other_community: str = "SQ2"
    other_grid: str = "SQ2-G1"


def make_world(rt: Runtime) -> World:
    world = World()
    with rt.db.write() as session:
        create_area(session, AreaKind.STREET, world.street, "新华街道")
        create_area(session, AreaKind.COMMUNITY, world.community, "和平社区", world.street)
        create_area(session, AreaKind.COMMUNITY, world.other_community, "幸福里社区", world.street)
        create_area(session, AreaKind.GRID, world.grid, "阳光小区", world.community)
        create_area(session, AreaKind.GRID, world.other_grid, "幸福里一网格", world.other_community)
        create_area(session, AreaKind.BUILDING, world.building, "3栋", world.grid)
        for community in (world.community, world.other_community):
            create_category(session, community, "grocery", "买菜代购", points=5, sla_hours=24)
    return world


def grant(rt: Runtime, openid: str, role: Role, area: str) -> None:
    with rt.db.write() as session:
        assign_role(session, openid, role, area)


def login(client: FlaskClient, openid: str) -> dict[str, str]:
    """Log in through the HTTP API with a simulator code; answer the Authorization header."""
    # A fresh code per login, as wx.login gives; the simulator maps "sim:<openid>#<nonce>" to openid.
    response = client.post("/api/v1/auth/login", json={"code": f"sim:{openid}#{uuid.uuid4().hex[:8]}"})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}
