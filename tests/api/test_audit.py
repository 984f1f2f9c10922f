"""The audit trail of acts on people: grants and household verification are recorded with the act,
and secretaries and street admins read their own communities' entries only."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from app.audit.models import AuditEntry, AuditKind
from app.identity.roles import Role
from app.runtime import Runtime
from tests.factories import World, grant, login, make_world


def _entries(rt: Runtime) -> list[tuple[Any, ...]]:
    with rt.db.read() as session:
        rows = session.execute(
            sa.select(AuditEntry.kind, AuditEntry.actor_id, AuditEntry.subject_id, AuditEntry.detail).order_by(
                AuditEntry.id
            )
        ).all()
    return [tuple(row) for row in rows]


def _id(client: FlaskClient, headers: dict[str, str]) -> int:
    return int(client.get("/api/v1/me", headers=headers).get_json()["id"])


def _setup(client: FlaskClient, rt: Runtime) -> tuple[World, dict[str, str], dict[str, str]]:
    world = make_world(rt)
    grant(rt, "secretary-wang", Role.SECRETARY, world.community)
    grant(rt, "admin-liu", Role.STREET_ADMIN, world.street)
    return world, login(client, "secretary-wang"), login(client, "admin-liu")


def test_refused_grants_and_verifications_write_no_entry(client: FlaskClient, rt: Runtime) -> None:
    world, secretary, _admin = _setup(client, rt)
    before = _entries(rt)
    volunteer = login(client, "volunteer-li")
    assert client.post("/api/v1/invitations/redeem", json={"code": "ZZZZZZZZ"}, headers=volunteer).status_code == 404
    refused = client.post("/api/v1/invitations", json={"role": "secretary", "area": world.community}, headers=secretary)
    assert refused.status_code == 403
    resident = login(client, "alice")
    client.put("/api/v1/me/household", json={"community": world.community, "room": "301"}, headers=resident)
    assert client.post(f"/api/v1/households/{_id(client, resident)}/verify", headers=resident).status_code == 403
    grant(rt, "secretary-zhou", Role.SECRETARY, world.other_community)
    before = _entries(rt)  # the grant just made is the only new entry
    other = login(client, "secretary-zhou")
    assert client.post(f"/api/v1/households/{_id(client, resident)}/verify", headers=other).status_code == 404
    assert _entries(rt) == before


def test_a_redeemed_invitation_and_a_verification_are_recorded_once(client: FlaskClient, rt: Runtime) -> None:
    world, secretary, admin = _setup(client, rt)
    secretary_id, admin_id = _id(client, secretary), _id(client, admin)
    # Operators' grants (the set-up above) are recorded with no actor.
    assert _entries(rt) == [
        (AuditKind.ROLE_GRANTED, None, secretary_id, "secretary"),
        (AuditKind.ROLE_GRANTED, None, admin_id, "street_admin"),
    ]
    code = client.post(
        "/api/v1/invitations", json={"role": "volunteer", "area": world.community}, headers=secretary
    ).get_json()["code"]
    volunteer = login(client, "volunteer-li")
    assert client.post("/api/v1/invitations/redeem", json={"code": code}, headers=volunteer).status_code == 200
    resident = login(client, "alice")
    client.put("/api/v1/me/household", json={"community": world.community, "room": "301"}, headers=resident)
    resident_id = _id(client, resident)
    for _twice in range(2):  # verifying an already verified household records nothing more
        assert client.post(f"/api/v1/households/{resident_id}/verify", headers=secretary).status_code == 200
    assert _entries(rt)[2:] == [
        (AuditKind.ROLE_GRANTED, secretary_id, _id(client, volunteer), "volunteer"),
        (AuditKind.HOUSEHOLD_VERIFIED, secretary_id, resident_id, ""),
    ]

    # The secretary lists the community's entries, newest first, one kind or all.
    listed = client.get(f"/api/v1/audit/entries?area={world.community}", headers=secretary).get_json()["items"]
    assert [(e["kind"], e["detail"]) for e in listed] == [
        ("household_verified", ""),
        ("role_granted", "志愿者"),
        ("role_granted", "社区书记"),
    ]
    assert listed[1]["actor"] == {"id": secretary_id, "name": listed[1]["actor"]["name"]}
    assert listed[2]["actor"] is None  # an operator at the command line
    only = client.get(f"/api/v1/audit/entries?area={world.community}&kind=household_verified", headers=secretary)
    assert [e["subject"]["id"] for e in only.get_json()["items"]] == [resident_id]
    # Pages of one, following the cursor, give the same entries.
    seen, cursor = [], None
    while True:
        url = f"/api/v1/audit/entries?area={world.community}&limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=secretary).get_json()
        seen += [e["id"] for e in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == [e["id"] for e in listed]
    # The street admin sees the street's own entry and its communities'.
    street = client.get(f"/api/v1/audit/entries?area={world.street}", headers=admin).get_json()["items"]
    assert [(e["area"], e["detail"]) for e in street] == [
        (world.community, ""),
        (world.community, "志愿者"),
        (world.street, "街道管理员"),
        (world.community, "社区书记"),
    ]


def test_only_secretaries_and_street_admins_of_the_area_read_it(client: FlaskClient, rt: Runtime) -> None:
    world, secretary, _admin = _setup(client, rt)
    grant(rt, "gridworker-zhao", Role.GRID_WORKER, world.grid)
    grant(rt, "secretary-zhou", Role.SECRETARY, world.other_community)
    gridworker, other = login(client, "gridworker-zhao"), login(client, "secretary-zhou")
    url = f"/api/v1/audit/entries?area={world.community}"
    for headers, status in (({}, 401), (gridworker, 403), (login(client, "nobody"), 403), (other, 404)):
        response = client.get(url, headers=headers)
        assert response.status_code == status, response.get_json()
    # A secretary may not read the street's entries, nor name an unknown area or kind.
    assert client.get(f"/api/v1/audit/entries?area={world.street}", headers=secretary).status_code == 404
    assert client.get("/api/v1/audit/entries?area=NOPE", headers=secretary).status_code == 404
    bad_kind = client.get(f"{url}&kind=everything", headers=secretary)
    assert bad_kind.status_code == 400
    assert [f["field"] for f in bad_kind.get_json()["error"]["details"]["fields"]] == ["kind"]
    assert client.get(f"/api/v1/audit/reveals?area={world.community}&limit=0", headers=secretary).status_code == 400
