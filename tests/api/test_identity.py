"""Phone binding, the household, and invitations that grant roles."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
import time_machine
from flask.testing import FlaskClient

from app.core.clock import now_utc
from app.identity.models import Household, Invitation, RoleMembership, User
from app.identity.roles import Role
from app.runtime import Runtime
from tests.factories import World, grant, login, make_world


def _roles(client: FlaskClient, headers: dict[str, str]) -> list[tuple[str, str]]:
    me = client.get("/api/v1/me", headers=headers).get_json()
    return [(r["role"], r["area"]["code"]) for r in me["roles"]]


def _count(rt: Runtime, model: type) -> int:
    with rt.db.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def test_phone_is_bound_and_answered_masked(client: FlaskClient, rt: Runtime) -> None:
    headers = login(client, "alice")
    response = client.post("/api/v1/auth/phone", json={"code": "sim-phone:13812345678"}, headers=headers)
    assert response.status_code == 200
    assert response.get_json() == {"phone": "138****5678"}
    assert client.get("/api/v1/me", headers=headers).get_json()["phone"] == "138****5678"
    with rt.db.read() as session:
        assert session.scalar(sa.select(User.phone).where(User.openid == "alice")) == "13812345678"


def test_bad_phone_code_is_400_and_changes_nothing(client: FlaskClient, rt: Runtime) -> None:
    headers = login(client, "alice")
    response = client.post("/api/v1/auth/phone", json={"code": "garbage"}, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_code"
    assert client.post("/api/v1/auth/phone", json={"code": "sim-phone:1"}).status_code == 401
    with rt.db.read() as session:
        assert session.scalar(sa.select(User.phone).where(User.openid == "alice")) is None


def test_household_makes_the_user_a_resident(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    headers = login(client, "alice")
    body = {"community": world.community, "grid": world.grid, "building": "3", "unit": "2", "room": "301"}
    response = client.put("/api/v1/me/household", json=body, headers=headers)
    assert response.status_code == 200
    profile = response.get_json()
    assert profile["household"]["community"]["code"] == world.community
    assert profile["household"]["grid"]["code"] == world.grid
    assert profile["household"]["verified"] is False
    assert ("resident", world.community) in _roles(client, headers)
    with rt.db.read() as session:
        household = session.scalar(sa.select(Household))
        assert household is not None
        assert household.building_id is not None  # "3" matched the known building 3栋


def test_moving_moves_the_resident_role(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    headers = login(client, "alice")
    client.put("/api/v1/me/household", json={"community": world.community}, headers=headers)
    response = client.put("/api/v1/me/household", json={"community": world.other_community}, headers=headers)
    assert response.status_code == 200
    assert _roles(client, headers) == [("resident", world.other_community)]
    assert _count(rt, Household) == 1


def test_bad_households_are_rejected_and_change_nothing(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    headers = login(client, "alice")
    cases = [
        ({"community": "NOPE"}, 404, "not_found"),
        ({"community": world.grid}, 404, "not_found"),  # a grid is not a community
        ({"community": world.community, "grid": world.other_grid}, 400, "invalid_input"),
        ({"community": world.community, "room": "x" * 33}, 400, "invalid_input"),
        ({"grid": world.grid}, 400, "invalid_input"),
        ({"community": world.community, "floor": 3}, 400, "invalid_input"),
    ]
    for body, status, code in cases:
        response = client.put("/api/v1/me/household", json=body, headers=headers)
        assert (response.status_code, response.get_json()["error"]["code"]) == (status, code), body
    assert _count(rt, Household) == 0
    assert _count(rt, RoleMembership) == 0


def _invite(client: FlaskClient, headers: dict[str, str], role: str, area: str) -> int:
    return client.post("/api/v1/invitations", json={"role": role, "area": area}, headers=headers).status_code


def _secretary(client: FlaskClient, rt: Runtime, world: World) -> dict[str, str]:
    grant(rt, "secretary-wang", Role.SECRETARY, world.community)
    return login(client, "secretary-wang")


def test_invitation_grants_a_role_once(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    secretary = _secretary(client, rt, world)
    created = client.post("/api/v1/invitations", json={"role": "volunteer", "area": world.community}, headers=secretary)
    assert created.status_code == 201
    code = created.get_json()["code"]
    assert len(code) == 8
    assert created.get_json()["expires_at"].endswith("+08:00")

    volunteer = login(client, "volunteer-li")
    redeemed = client.post("/api/v1/invitations/redeem", json={"code": code.lower()}, headers=volunteer)
    assert redeemed.status_code == 200
    assert ("volunteer", world.community) in _roles(client, volunteer)

    someone = login(client, "volunteer-chen")
    again = client.post("/api/v1/invitations/redeem", json={"code": code}, headers=someone)
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "invitation_used"
    assert _roles(client, someone) == []


def test_unknown_and_expired_invitations(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    secretary = _secretary(client, rt, world)
    user = login(client, "volunteer-li")
    unknown = client.post("/api/v1/invitations/redeem", json={"code": "ZZZZZZZZ"}, headers=user)
    assert unknown.status_code == 404
    assert unknown.get_json()["error"]["code"] == "not_found"
    bad = client.post("/api/v1/invitations/redeem", json={"code": ""}, headers=user)
    assert bad.status_code == 400

    code = client.post(
        "/api/v1/invitations", json={"role": "grid_worker", "area": world.grid}, headers=secretary
    ).get_json()["code"]
    later = now_utc() + timedelta(hours=rt.settings.auth.invitation_ttl_hours, minutes=1)
    with time_machine.travel(later, tick=False):
        # Log in again inside the future: the earlier token would have expired by then.
        user_later = login(client, "volunteer-li")
        expired = client.post("/api/v1/invitations/redeem", json={"code": code}, headers=user_later)
    assert expired.status_code == 409
    assert expired.get_json()["error"]["code"] == "invitation_expired"
    assert _roles(client, user) == []
    with rt.db.read() as session:
        assert session.scalar(sa.select(Invitation.redeemed_at)) is None


def test_who_may_invite(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    _secretary(client, rt, world)
    grant(rt, "volunteer-li", Role.VOLUNTEER, world.community)
    volunteer = login(client, "volunteer-li")
    forbidden = client.post(
        "/api/v1/invitations", json={"role": "volunteer", "area": world.community}, headers=volunteer
    )
    assert forbidden.status_code == 403

    secretary = login(client, "secretary-wang")
    other = client.post(
        "/api/v1/invitations", json={"role": "volunteer", "area": world.other_community}, headers=secretary
    )
    assert other.status_code == 404  # another community is not revealed
    wrong_level = client.post(
        "/api/v1/invitations", json={"role": "grid_worker", "area": world.street}, headers=secretary
    )
    assert wrong_level.status_code == 403  # a street is nobody's community to invite into
    # The hierarchy: a secretary does not appoint secretaries (the street admin does).
    peer = client.post("/api/v1/invitations", json={"role": "secretary", "area": world.community}, headers=secretary)
    assert (peer.status_code, peer.get_json()["error"]["code"]) == (403, "forbidden")
    not_invitable = client.post(
        "/api/v1/invitations", json={"role": "resident", "area": world.community}, headers=secretary
    )
    assert not_invitable.status_code == 400
    unknown_role = client.post(
        "/api/v1/invitations", json={"role": "mayor", "area": world.community}, headers=secretary
    )
    assert unknown_role.status_code == 400
    street = client.post("/api/v1/invitations", json={"role": "street_admin", "area": world.street}, headers=secretary)
    assert street.status_code == 403
    assert _count(rt, Invitation) == 0


def test_street_admin_invites_across_its_communities(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    grant(rt, "street-sun", Role.STREET_ADMIN, world.street)
    admin = login(client, "street-sun")
    for area in (world.community, world.other_community):
        response = client.post("/api/v1/invitations", json={"role": "secretary", "area": area}, headers=admin)
        assert response.status_code == 201, area
    # Only secretaries: the community's other roles are the secretary's to give, and street
    # admins are appointed by operators (linli grant); a secretary at the wrong level is a 400.
    for body in (
        {"role": "street_admin", "area": world.street},
        {"role": "volunteer", "area": world.community},
        {"role": "grid_worker", "area": world.grid},
    ):
        refused = client.post("/api/v1/invitations", json=body, headers=admin)
        assert (refused.status_code, refused.get_json()["error"]["code"]) == (403, "forbidden"), body
    wrong_level = client.post("/api/v1/invitations", json={"role": "secretary", "area": world.grid}, headers=admin)
    assert wrong_level.status_code == 400
    assert _count(rt, Invitation) == 2


def test_staff_verify_households_of_their_community_only(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    resident = login(client, "alice")
    client.put("/api/v1/me/household", json={"community": world.community, "room": "301"}, headers=resident)
    me = client.get("/api/v1/me", headers=resident).get_json()
    grant(rt, "gridworker-zhao", Role.GRID_WORKER, world.grid)
    grant(rt, "secretary-zhou", Role.SECRETARY, world.other_community)
    other = login(client, "secretary-zhou")
    assert client.post(f"/api/v1/households/{me['id']}/verify", headers=other).status_code == 404
    assert client.post(f"/api/v1/households/{me['id']}/verify", headers=resident).status_code == 403
    assert client.post("/api/v1/households/999999/verify", headers=other).status_code == 404
    assert client.get("/api/v1/me", headers=resident).get_json()["household"]["verified"] is False

    grid_worker = login(client, "gridworker-zhao")
    response = client.post(f"/api/v1/households/{me['id']}/verify", headers=grid_worker)
    assert response.status_code == 200
    assert response.get_json()["verified"] is True
    assert client.get("/api/v1/me", headers=resident).get_json()["household"]["verified"] is True
