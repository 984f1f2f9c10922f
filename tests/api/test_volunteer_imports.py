"""Excel in for volunteers over the API: all rows or none, every problem named by its Excel row;
skills, registry entry (双报到) and teams written; an existing user's phone gives that user the
role; an imported volunteer taken over by their WeChat account when they bind the phone."""

from __future__ import annotations

import io
import time
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient
from openpyxl import load_workbook

from app.core.spreadsheets import MIME_TYPE
from app.identity.models import Household, RoleMembership, User
from app.identity.roles import Role
from app.runtime import Runtime
from app.volunteers.models import TeamMember, UserSkill, VolunteerProfile
from app.volunteers.teams import add_team
from tests.factories import RESIDENT_PHONE, People, login, make_people, make_person, make_world
from tests.sheets import VOLUNTEER_HEADER, volunteers, xlsx

URL = "/api/v1/imports/volunteers"


def _post(client: FlaskClient, who: dict[str, str], rows: list[list[Any]], community: str = "SQ1") -> Any:
    return client.post(
        f"{URL}?community={community}",
        data={"file": (io.BytesIO(xlsx(rows, VOLUNTEER_HEADER)), "志愿者.xlsx")},
        headers=who,
        content_type="multipart/form-data",
    )


def _setup(rt: Runtime, client: FlaskClient) -> People:
    people = make_people(rt, make_world(rt), client=client)
    add_team(rt, "SQ1", "水电服务队")
    add_team(rt, "SQ1", "助老服务队")
    add_team(rt, "SQ2", "幸福里服务队")
    return people


def _problems(response: Any) -> list[tuple[int, str, str]]:
    body = response.get_json()
    assert response.status_code == 400, body
    assert body["error"]["code"] == "import_rejected"
    return [(p["row"], p["column"], p["message"]) for p in body["error"]["details"]["rows"]]


def _written(rt: Runtime) -> dict[str, int]:
    """Rows the import writes, counted (volunteer roles include li and chen of the usual cast)."""
    with rt.db.read() as session:

        def count(table: Any, *where: Any) -> int:
            return session.scalar(sa.select(sa.func.count()).select_from(table).where(*where)) or 0

        return {
            "imported": count(User, User.imported_at.is_not(None)),
            "volunteers": count(RoleMembership, RoleMembership.role == Role.VOLUNTEER),
            "skills": count(UserSkill),
            "profiles": count(VolunteerProfile),
            "members": count(TeamMember),
        }


NOTHING = {"imported": 0, "volunteers": 2, "skills": 0, "profiles": 0, "members": 0}


# -- refusals --------------------------------------------------------------------------------------


def test_only_the_communitys_secretary_may_import(rt: Runtime, client: FlaskClient) -> None:
    people = _setup(rt, client)
    rows = volunteers(2)
    for who in (people.resident, people.volunteer, people.grid_worker, people.street_admin):
        response = _post(client, who.headers, rows)
        assert response.status_code == 403, (who.openid, response.get_json())
    assert _post(client, people.secretary.headers, rows, community="SQ2").status_code == 404
    assert _post(client, people.secretary.headers, rows, community="NOPE").status_code == 404
    assert client.post(f"{URL}?community=SQ1", data={"file": (io.BytesIO(b"x"), "a.xlsx")}).status_code == 401
    not_xlsx = client.post(
        f"{URL}?community=SQ1",
        data={"file": (io.BytesIO(b"name,phone\n"), "a.csv")},
        headers=people.secretary.headers,
        content_type="multipart/form-data",
    )
    assert not_xlsx.status_code == 400
    assert not_xlsx.get_json()["error"]["details"]["file"] == "not_xlsx"
    assert _written(rt) == NOTHING


def test_2000_rows_with_3_bad_ones_write_nothing_and_name_the_3(rt: Runtime, client: FlaskClient) -> None:
    people = _setup(rt, client)
    rows = volunteers(2000)
    rows[99][1] = "12345"  # Excel row 101
    rows[999][3] = "电工、开飞机"  # row 1001
    rows[1999][0] = ""  # row 2001
    started = time.perf_counter()
    response = _post(client, people.secretary.headers, rows)
    print(f"\n2,000 volunteer rows with 3 bad: refused in {time.perf_counter() - started:.2f} s")
    assert _problems(response) == [
        (101, "手机号", "手机号格式不正确（应为 11 位大陆手机号）"),
        (1001, "技能", "本社区的技能库中没有：开飞机"),
        (2001, "姓名", "“姓名”不能为空"),
    ]
    assert _written(rt) == NOTHING


def test_unknown_skills_teams_and_grids_of_the_community(rt: Runtime, client: FlaskClient) -> None:
    people = _setup(rt, client)
    rows = volunteers(4)
    rows[0][7] = "水电服务队，幸福里服务队"  # a team of SQ2
    rows[1][3] = "电工 魔术"
    rows[2][2] = "SQ2-G1"  # a grid of SQ2
    rows[3][7] = "助老服务队"  # fine
    assert _problems(_post(client, people.secretary.headers, rows)) == [
        (2, "服务队", "本社区没有服务队：幸福里服务队"),
        (3, "技能", "本社区的技能库中没有：魔术"),
        (4, "网格", "本社区没有网格“SQ2-G1”"),
    ]
    assert _written(rt) == NOTHING


def test_the_rules_of_the_registry_and_of_double_reporting(rt: Runtime, client: FlaskClient) -> None:
    people = _setup(rt, client)
    rows = volunteers(7)
    rows[0][4:7] = ["否", "区财政局", ""]  # a unit needs a party member
    rows[1][4:7] = ["", "区财政局", "20"]  # 是否党员 left empty: not one either
    rows[2][4:7] = ["是", "", "20"]  # hours without a unit
    rows[3][4:7] = ["是", "区财政局", "0"]
    rows[4][4] = "党员"
    rows[5][8] = "11"
    rows[6][8] = "两"
    assert _problems(_post(client, people.secretary.headers, rows)) == [
        (2, "报到单位", "填写报到单位（在职党员双报到）须“是否党员”为“是”"),
        (3, "报到单位", "填写报到单位（在职党员双报到）须“是否党员”为“是”"),
        (4, "每年要求时长", "只有填写了报到单位才能填写每年要求时长"),
        (5, "每年要求时长", "“每年要求时长”应为 1–2000 的整数"),
        (6, "是否党员", "“是否党员”应填“是”或“否”"),
        (7, "最多同时接单", "“最多同时接单”应为 1–10 的整数"),
        (8, "最多同时接单", "“最多同时接单”应为 1–10 的整数"),
    ]
    assert _written(rt) == NOTHING


def test_duplicates_in_the_file_and_volunteers_of_the_community(rt: Runtime, client: FlaskClient) -> None:
    people = _setup(rt, client)
    rows = volunteers(3)
    rows[2][1] = rows[0][1]  # row 4 repeats row 2
    assert _post(client, people.secretary.headers, [volunteers(1, first_phone=13811110000)[0]]).status_code == 200
    rows.append(["老王", "13811110000", "", "", "", "", "", "", ""])  # imported above: a volunteer of SQ1 now
    assert _problems(_post(client, people.secretary.headers, rows)) == [
        (4, "手机号", "手机号与第 2 行重复"),
        (5, "手机号", "该手机号已是本社区的志愿者"),
    ]
    assert _written(rt)["imported"] == 1


def test_the_template_has_the_headers_the_import_reads(rt: Runtime, client: FlaskClient) -> None:
    people = _setup(rt, client)
    assert client.get(f"{URL}/template.xlsx", headers=people.volunteer.headers).status_code == 403
    assert client.get(f"{URL}/template.xlsx").status_code == 401
    response = client.get(f"{URL}/template.xlsx", headers=people.secretary.headers)
    assert response.status_code == 200
    assert response.mimetype == MIME_TYPE
    sheet = load_workbook(io.BytesIO(response.data), read_only=True).worksheets[0]
    assert next(sheet.iter_rows(values_only=True)) == VOLUNTEER_HEADER


# -- written ---------------------------------------------------------------------------------------


def test_a_good_2000_row_file_writes_everyone(rt: Runtime, client: FlaskClient) -> None:
    people = _setup(rt, client)
    rows = volunteers(2000)
    started = time.perf_counter()
    response = _post(client, people.secretary.headers, rows)
    print(f"\n2,000 good volunteer rows imported in {time.perf_counter() - started:.2f} s")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"imported": 2000}
    assert _written(rt) == {"imported": 2000, "volunteers": 2002, "skills": 4000, "profiles": 2000, "members": 0}


def test_each_column_lands_in_the_registry(rt: Runtime, client: FlaskClient) -> None:
    people = _setup(rt, client)
    row = ["周师傅", "13822223333", "阳光小区", "电工,水暖工 电工", "是", "区财政局", 40, "水电服务队、助老服务队", 5]
    assert _post(client, people.secretary.headers, [row]).get_json() == {"imported": 1}
    with rt.db.read() as session:
        user = session.scalar(sa.select(User).where(User.phone == "13822223333"))
        assert user is not None
        assert (user.openid, user.nickname) == (None, "周师傅")
        user_id = user.id
        profile = session.get(VolunteerProfile, user.id)
        assert profile is not None
        assert (profile.max_active, profile.party_member, profile.in_service) == (5, True, True)
        assert (profile.employer_unit, profile.unit_hours) == ("区财政局", 40)
        skills = session.scalars(sa.select(UserSkill.skill).where(UserSkill.user_id == user.id)).all()
        teams = session.scalar(sa.select(sa.func.count()).select_from(TeamMember).where(TeamMember.user_id == user.id))
        grid = session.scalar(sa.select(Household.grid_id).where(Household.user_id == user_id))
    assert sorted(skills) == ["electrician", "plumber"]
    assert teams == 2
    assert grid is not None  # 阳光小区 by its name: the ranking's "lives in the grid"
    # The staff's picker lists them among the community's volunteers.
    picker = client.get("/api/v1/volunteers?community=SQ1", headers=people.secretary.headers)
    assert picker.status_code == 200, picker.get_json()
    assert user_id in [item["id"] for item in picker.get_json()["items"]]


def test_an_existing_users_phone_gives_that_user_the_role_and_keeps_their_own_entry(
    rt: Runtime, client: FlaskClient
) -> None:
    """Decision: alice (a resident with WeChat and this phone) becomes the volunteer herself, no
    twin is made; the volunteer li, who said his capacity himself, is a volunteer of SQ2 now, and
    keeps his own registry entry while gaining the sheet's skills."""
    people = _setup(rt, client)
    own = {"skills": ["electrician"], "availability": [], "max_active": 1, "party_member": False, "in_service": False}
    assert client.put("/api/v1/me/volunteer", json=own, headers=people.volunteer.headers).status_code == 200
    li_phone = "13855556666"
    response = client.post(
        "/api/v1/auth/phone", json={"code": f"sim-phone:{li_phone}"}, headers=people.volunteer.headers
    )
    assert response.status_code == 200, response.get_json()
    alice = ["爱丽丝", RESIDENT_PHONE, "", "助老服务", "是", "", "", "助老服务队", ""]
    assert _post(client, people.secretary.headers, [alice]).get_json() == {"imported": 1}
    me = client.get("/api/v1/me/volunteer", headers=people.resident.headers)
    assert me.status_code == 200, me.get_json()
    assert (me.get_json()["skills"], me.get_json()["party_member"]) == (["elder_care"], True)
    assert _written(rt)["imported"] == 0

    sq2 = make_person(rt, "secretary-sq2", (Role.SECRETARY, "SQ2"), client=client).headers
    li = ["李志愿", li_phone, "", "plumber", "是", "", "", "幸福里服务队", "8"]
    assert _post(client, sq2, [li], community="SQ2").get_json() == {"imported": 1}
    entry = client.get("/api/v1/me/volunteer", headers=people.volunteer.headers).get_json()
    assert (entry["skills"], entry["max_active"], entry["party_member"]) == (["electrician", "plumber"], 1, False)
    with rt.db.read() as session:
        roles = session.scalars(
            sa.select(RoleMembership.area_id).where(
                RoleMembership.user_id == people.volunteer.id, RoleMembership.role == Role.VOLUNTEER
            )
        ).all()
    assert len(roles) == 2


# -- taken over ------------------------------------------------------------------------------------


def test_an_imported_volunteer_logging_in_and_binding_the_phone_is_a_volunteer_with_their_entry(
    rt: Runtime, client: FlaskClient
) -> None:
    people = _setup(rt, client)
    row = ["钱阿姨", "13899990000", "SQ1-G1", "护理、陪诊陪护", "是", "区卫健委", 30, "助老服务队", 2]
    assert _post(client, people.secretary.headers, [row]).get_json() == {"imported": 1}
    with rt.db.read() as session:
        imported_id = session.scalar(sa.select(User.id).where(User.phone == "13899990000"))
    qian = login(client, "qian-wx")
    assert client.get("/api/v1/me/volunteer", headers=qian).status_code == 403  # not before the phone
    response = client.post("/api/v1/auth/phone", json={"code": "sim-phone:13899990000"}, headers=qian)
    assert response.status_code == 200, response.get_json()
    me = client.get("/api/v1/me", headers=qian).get_json()
    assert me["id"] != imported_id
    assert me["household"]["grid"]["code"] == "SQ1-G1"
    assert {(role["role"], role["area"]["code"]) for role in me["roles"]} >= {("volunteer", "SQ1")}
    entry = client.get("/api/v1/me/volunteer", headers=qian)
    assert entry.status_code == 200, entry.get_json()
    body = entry.get_json()
    assert body["skills"] == ["escort", "nursing"]
    assert (body["max_active"], body["in_service"], body["employer_unit"], body["unit_hours"]) == (
        2,
        True,
        "区卫健委",
        30,
    )
    with rt.db.read() as session:
        assert session.get(User, imported_id) is None
        member = session.scalar(sa.select(TeamMember.team_id).where(TeamMember.user_id == me["id"]))
    assert member is not None
    teams = client.get("/api/v1/teams?community=SQ1", headers=people.secretary.headers).get_json()
    helpers = next(team for team in teams["items"] if team["name"] == "助老服务队")
    members = client.get(f"/api/v1/volunteers?community=SQ1&team={helpers['id']}", headers=people.secretary.headers)
    assert [person["id"] for person in members.get_json()["items"]] == [me["id"]]


def test_a_takeover_keeps_what_the_wechat_user_had_and_moves_the_rest(rt: Runtime, client: FlaskClient) -> None:
    """chen volunteers in SQ1 already (his own entry, skill 护理) without a phone bound; the sheet
    lists him by a new phone. On binding it, his own role, skill and entry stay (no collision),
    the sheet's other skill and team come to him, and the imported row is gone."""
    people = _setup(rt, client)
    own = {"skills": ["nursing"], "availability": [], "max_active": 4, "party_member": False, "in_service": False}
    assert client.put("/api/v1/me/volunteer", json=own, headers=people.other_volunteer.headers).status_code == 200
    row = ["陈志愿", "13866667777", "", "护理、电工", "是", "", "", "水电服务队", "1"]
    assert _post(client, people.secretary.headers, [row]).get_json() == {"imported": 1}
    response = client.post(
        "/api/v1/auth/phone", json={"code": "sim-phone:13866667777"}, headers=people.other_volunteer.headers
    )
    assert response.status_code == 200, response.get_json()
    entry = client.get("/api/v1/me/volunteer", headers=people.other_volunteer.headers).get_json()
    assert (entry["skills"], entry["max_active"], entry["party_member"]) == (["electrician", "nursing"], 4, False)
    assert _written(rt) == {"imported": 1, "volunteers": 2, "skills": 2, "profiles": 1, "members": 1}
