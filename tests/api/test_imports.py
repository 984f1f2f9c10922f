"""Excel in over the API: residents imported all or none, the template, who may, and people
without WeChat ordered for by a grid worker, then taken over by their own WeChat account."""

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
from tests.factories import RESIDENT_PHONE, People, World, grant, login, make_people, make_world
from tests.sheets import RESIDENT_HEADER, residents, xlsx

URL = "/api/v1/imports/residents"


def _post(client: FlaskClient, who: dict[str, str], data: bytes, community: str = "SQ1") -> Any:
    return client.post(
        f"{URL}?community={community}",
        data={"file": (io.BytesIO(data), "居民.xlsx")},
        headers=who,
        content_type="multipart/form-data",
    )


def _imported(rt: Runtime) -> int:
    with rt.db.read() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(User).where(User.imported_at.is_not(None))) or 0


def _setup(rt: Runtime, client: FlaskClient) -> tuple[World, People]:
    world = make_world(rt)
    return world, make_people(rt, world, client=client)


def _problems(response: Any) -> list[tuple[int, str, str]]:
    body = response.get_json()
    assert response.status_code == 400, body
    assert body["error"]["code"] == "import_rejected"
    return [(p["row"], p["column"], p["message"]) for p in body["error"]["details"]["rows"]]


# -- refusals --------------------------------------------------------------------------------------


def test_only_the_communitys_secretary_may_import(rt: Runtime, client: FlaskClient) -> None:
    _, people = _setup(rt, client)
    data = xlsx(residents(2))
    for who in (people.resident, people.volunteer, people.grid_worker, people.street_admin):
        response = _post(client, who.headers, data)
        assert response.status_code == 403, (who.openid, response.get_json())
    # Another community's, or one that does not exist: the same 404.
    assert _post(client, people.secretary.headers, data, community="SQ2").status_code == 404
    assert _post(client, people.secretary.headers, data, community="NOPE").status_code == 404
    assert client.post(f"{URL}?community=SQ1", data={"file": (io.BytesIO(data), "a.xlsx")}).status_code == 401
    assert _imported(rt) == 0


def test_files_that_are_not_a_workbook_are_400_not_500(rt: Runtime, client: FlaskClient) -> None:
    _, people = _setup(rt, client)
    cases = {b"\xd0\xcf\x11\xe0" + b"\0" * 512: "xls", b"name,phone\n": "not_xlsx", b"PK\x03\x04garbage": "corrupt"}
    for data, kind in cases.items():
        response = _post(client, people.secretary.headers, data)
        assert response.status_code == 400, response.get_json()
        assert response.get_json()["error"]["details"]["file"] == kind
    no_file = client.post(
        f"{URL}?community=SQ1", data={}, headers=people.secretary.headers, content_type="multipart/form-data"
    )
    assert no_file.status_code == 400
    as_json = client.post(f"{URL}?community=SQ1", json={"file": "x"}, headers=people.secretary.headers)
    assert as_json.status_code == 400
    assert _imported(rt) == 0


def test_a_file_over_the_limit_is_413(rt: Runtime, client: FlaskClient) -> None:
    _, people = _setup(rt, client)
    too_big = b"PK\x03\x04" + b"\0" * (rt.settings.imports.max_bytes + 128 * 1024)
    # The form built by hand: the test client would spool a body this size to a file it never closes.
    boundary = "linli-import-test"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.xlsx"\r\n\r\n'.encode()
        + too_big
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {**people.secretary.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    response = client.post(f"{URL}?community=SQ1", data=body, headers=headers)
    assert response.status_code == 413, response.status_code
    assert response.get_json()["error"]["code"] == "payload_too_large"
    assert _imported(rt) == 0


def test_wrong_headers_are_named_and_no_row_is_read(rt: Runtime, client: FlaskClient) -> None:
    _, people = _setup(rt, client)
    header = ("姓名", "电话", "网格", "房号", "标签")
    problems = _problems(
        _post(client, people.secretary.headers, xlsx([["张三", "13911112222", "SQ1-G1", "1"]], header))
    )
    assert {(row, column) for row, column, _ in problems} == {(1, "电话"), (1, "标签"), (1, "手机号")}
    assert all(message for _, _, message in problems)


def test_5000_rows_with_3_bad_ones_write_nothing_and_name_the_3(rt: Runtime, client: FlaskClient) -> None:
    _, people = _setup(rt, client)
    rows = residents(5000)
    rows[99][1] = "12345"  # Excel row 101
    rows[2499][2] = "不存在的网格"  # row 2501
    rows[4999][0] = ""  # row 5001
    started = time.perf_counter()
    response = _post(client, people.secretary.headers, xlsx(rows))
    print(f"\n5,000 rows with 3 bad: refused in {time.perf_counter() - started:.2f} s")
    assert _problems(response) == [
        (101, "手机号", "手机号格式不正确（应为 11 位大陆手机号）"),
        (2501, "网格", "本社区没有网格“不存在的网格”"),
        (5001, "姓名", "“姓名”不能为空"),
    ]
    assert _imported(rt) == 0


def test_duplicates_in_the_file_and_with_the_communitys_residents(rt: Runtime, client: FlaskClient) -> None:
    _, people = _setup(rt, client)
    rows = residents(3)
    rows[2][1] = rows[0][1]  # row 4 repeats row 2
    rows.append(["爱丽丝", RESIDENT_PHONE, "SQ1-G1", "3", "2", "301", ""])  # alice is a resident already
    assert _problems(_post(client, people.secretary.headers, xlsx(rows))) == [
        (4, "手机号", "手机号与第 2 行重复"),
        (5, "手机号", "该手机号已是本社区登记的居民"),
    ]
    assert _imported(rt) == 0


def test_a_resident_already_registered_is_an_error_not_an_update(rt: Runtime, client: FlaskClient) -> None:
    _, people = _setup(rt, client)
    assert _post(client, people.secretary.headers, xlsx(residents(2))).status_code == 200
    again = _problems(_post(client, people.secretary.headers, xlsx(residents(2))))
    assert again == [(2, "手机号", "该手机号已是本社区登记的居民"), (3, "手机号", "该手机号已是本社区登记的居民")]
    assert _imported(rt) == 2


def test_unknown_grid_and_unknown_building_of_a_grid_with_buildings(rt: Runtime, client: FlaskClient) -> None:
    _, people = _setup(rt, client)
    rows = residents(4)
    rows[0][2] = "SQ2-G1"  # a grid of the other community
    rows[1][3] = "5"  # SQ1-G1 knows only 3栋
    rows[2][2], rows[2][3] = "阳光小区", "3栋"  # by name, and by the building's full name: fine
    problems = _problems(_post(client, people.secretary.headers, xlsx(rows)))
    assert problems == [(2, "网格", "本社区没有网格“SQ2-G1”"), (3, "楼栋", "网格“SQ1-G1”没有楼栋“5”")]


def test_a_good_5000_row_import_writes_everyone(rt: Runtime, client: FlaskClient) -> None:
    _, people = _setup(rt, client)
    data = xlsx(residents(5000))
    started = time.perf_counter()
    response = _post(client, people.secretary.headers, data)
    print(f"\n5,000 good rows ({len(data)} bytes) imported in {time.perf_counter() - started:.2f} s")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"imported": 5000}
    with rt.db.read() as session:
        assert _imported(rt) == 5000
        homes = session.scalar(
            sa.select(sa.func.count())
            .select_from(Household)
            .where(Household.building_id.is_not(None), Household.verified)
        )
        roles = session.scalar(
            sa.select(sa.func.count()).select_from(RoleMembership).where(RoleMembership.role == Role.RESIDENT)
        )
        nobody = session.scalar(sa.select(sa.func.count()).select_from(User).where(User.openid.is_(None)))
    assert homes == 5000
    assert roles == 5000 + 1  # and alice
    assert nobody == 5000


def test_the_template_has_the_headers_the_import_reads(rt: Runtime, client: FlaskClient) -> None:
    _, people = _setup(rt, client)
    assert client.get(f"{URL}/template.xlsx", headers=people.volunteer.headers).status_code == 403
    response = client.get(f"{URL}/template.xlsx", headers=people.secretary.headers)
    assert response.status_code == 200
    assert response.mimetype == MIME_TYPE
    sheet = load_workbook(io.BytesIO(response.data), read_only=True).worksheets[0]
    assert next(sheet.iter_rows(values_only=True)) == RESIDENT_HEADER
    # The empty template, filled in, imports.
    assert _post(client, people.secretary.headers, xlsx(residents(1))).get_json() == {"imported": 1}


# -- people without WeChat --------------------------------------------------------------------------

ZHANG = "13911112222"


def _import_zhang(rt: Runtime, client: FlaskClient, people: People) -> int:
    row = ["张大爷", ZHANG, "SQ1-G1", "3", "1", "102", "独居，耳背"]
    assert _post(client, people.secretary.headers, xlsx([row])).status_code == 200
    with rt.db.read() as session:
        user_id = session.scalar(sa.select(User.id).where(User.phone == ZHANG))
    assert user_id is not None
    return user_id


def _order_for(client: FlaskClient, people: People, resident_id: int) -> int:
    body = {
        "community": "SQ1",
        "category": "grocery",
        "kind": "service",
        "title": "帮张大爷买菜",
        "description": "两斤青菜",
        "on_behalf_of": resident_id,
    }
    response = client.post("/api/v1/orders", json=body, headers=people.grid_worker.headers)
    assert response.status_code == 201, response.get_json()
    order: dict[str, Any] = response.get_json()["order"]
    assert order["resident"]["id"] == resident_id
    return int(order["id"])


def _bind(client: FlaskClient, headers: dict[str, str], phone: str) -> None:
    response = client.post("/api/v1/auth/phone", json={"code": f"sim-phone:{phone}"}, headers=headers)
    assert response.status_code == 200, response.get_json()


def _mine(client: FlaskClient, headers: dict[str, str]) -> list[int]:
    response = client.get("/api/v1/orders?scope=mine", headers=headers)
    assert response.status_code == 200, response.get_json()
    return [order["id"] for order in response.get_json()["items"]]


def test_a_different_phone_takes_nobody_over(rt: Runtime, client: FlaskClient) -> None:
    _, people = _setup(rt, client)
    zhang_id = _import_zhang(rt, client, people)
    _order_for(client, people, zhang_id)
    stranger = login(client, "stranger-wx")
    _bind(client, stranger, "13933334444")
    assert _mine(client, stranger) == []
    assert client.get("/api/v1/me", headers=stranger).get_json()["household"] is None
    assert _imported(rt) == 1


def test_an_imported_resident_ordered_for_then_logging_in_sees_the_order_as_theirs(
    rt: Runtime, client: FlaskClient
) -> None:
    _, people = _setup(rt, client)
    zhang_id = _import_zhang(rt, client, people)
    order_id = _order_for(client, people, zhang_id)
    # The staff see the imported resident's phone masked, as anyone's.
    seen = client.get(f"/api/v1/orders/{order_id}", headers=people.volunteer.headers).get_json()
    assert ZHANG not in str(seen)

    zhang = login(client, "zhang-wx")
    _bind(client, zhang, ZHANG)
    me = client.get("/api/v1/me", headers=zhang).get_json()
    assert me["household"]["room"] == "102"
    assert me["household"]["grid"]["code"] == "SQ1-G1"
    assert "resident" in {role["role"] for role in me["roles"]}
    assert _mine(client, zhang) == [order_id]
    order = client.get(f"/api/v1/orders/{order_id}", headers=zhang)
    assert order.status_code == 200, order.get_json()
    assert order.get_json()["order"]["resident"]["id"] == me["id"] != zhang_id
    with rt.db.read() as session:
        assert session.get(User, zhang_id) is None  # taken over once: the imported row is gone
        assert session.scalar(sa.select(Household.note).where(Household.user_id == me["id"])) == "独居，耳背"
    assert _imported(rt) == 1  # the WeChat user keeps when they were imported

    # Once: a second WeChat account binding the same phone takes nothing.
    other = login(client, "zhang-second-phone")
    _bind(client, other, ZHANG)
    assert client.get("/api/v1/me", headers=other).get_json()["household"] is None
    assert _mine(client, other) == []


def test_someone_with_a_home_of_their_own_is_not_moved_by_surprise(rt: Runtime, client: FlaskClient) -> None:
    _, people = _setup(rt, client)
    # alice lives in SQ1 already; SQ2's secretary lists her phone in SQ2.
    grant(rt, "secretary-sq2", Role.SECRETARY, "SQ2")
    sq2 = login(client, "secretary-sq2")
    assert (
        _post(client, sq2, xlsx([["爱丽丝", RESIDENT_PHONE, "SQ2-G1", "", "", "5", ""]]), community="SQ2").status_code
        == 200
    )
    _bind(client, people.resident.headers, RESIDENT_PHONE)
    me = client.get("/api/v1/me", headers=people.resident.headers).get_json()
    assert me["household"]["community"]["code"] == "SQ1"
    assert _imported(rt) == 1
