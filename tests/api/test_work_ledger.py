"""GET /api/v1/exports/orders.xlsx and `linli export orders`: the work ledger (工作台账).

Orders are made through the services and their creation moved to March 2026, as in test_stats."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from app.community import stats_cache
from app.core.clock import to_shanghai
from app.core.config import ExportsSection
from app.identity.roles import Role
from app.orders.workflow import OrderStatus
from app.runtime import Runtime
from cli.main import main
from tests.api.test_statement_counts import counting
from tests.api.test_stats import MARCH, T0, _order, _rows, _set
from tests.factories import RESIDENT_PHONE, People, Person, make_people, make_person, make_world

S = OrderStatus
URL = "/api/v1/exports/orders.xlsx"


@pytest.fixture
def people(rt: Runtime, client: FlaskClient) -> People:
    return make_people(rt, make_world(rt), client=client)


def _get(client: FlaskClient, who: Person, query: str) -> Any:
    return client.get(f"{URL}?{query}", headers=who.headers)


def _book(client: FlaskClient, who: Person, query: str) -> openpyxl.Workbook:
    response = _get(client, who, query)
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return openpyxl.load_workbook(io.BytesIO(response.data))


def _lines(sheet: Any) -> list[dict[str, Any]]:
    header = [cell.value for cell in sheet[1]]
    return [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)]


def _month(rt: Runtime, people: People) -> None:
    """Four orders in March (one breached, one rated), one in February (not in the range)."""
    _order(rt, people, S.CLOSED, T0, due_at=T0 + timedelta(hours=1), completed_at=T0 + timedelta(hours=5))
    _order(rt, people, S.ACCEPTED, T0 + timedelta(days=1))
    _order(rt, people, S.SUBMITTED, T0 + timedelta(days=2))
    hostile = _order(rt, people, S.SUBMITTED, T0 + timedelta(days=3))
    _set(rt, hostile, title='=HYPERLINK("http://evil.example","点我")')
    _order(rt, people, S.CLOSED, T0 - timedelta(days=30))


# -- bad paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "area=SQ1&from=2026-03-31&to=2026-03-01",  # reversed
        "area=SQ1&from=2025-01-01&to=2026-03-01",  # longer than 366 days
        "area=SQ1&from=2026-02-30&to=2026-03-01",  # no such day
        "area=SQ1&to=2026-03-01",  # no from
        f"{MARCH}",  # no area
        f"area=SQ1&{MARCH}&format=csv",  # unknown parameter
    ],
)
def test_a_bad_range_is_400_and_writes_nothing(query: str, rt: Runtime, client: FlaskClient, people: People) -> None:
    _month(rt, people)
    before = _rows(rt)
    response = _get(client, people.secretary, query)
    assert response.status_code == 400, response.get_json()
    assert _rows(rt) == before


def test_a_range_over_the_rows_one_request_may_write_is_422_and_writes_nothing(
    rt: Runtime, client: FlaskClient, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(rt.settings.__dict__, "exports", ExportsSection(max_rows=3))
    _month(rt, people)  # four orders in March
    before = _rows(rt)
    response = _get(client, people.secretary, f"area=SQ1&{MARCH}")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "export_too_large"
    assert error["details"] == {
        "rows": 4,
        "max_rows": 3,
        # Where the same ledger is made in the background (tests/api/test_ledger_exports.py).
        "background": {"method": "POST", "path": "/api/v1/exports/orders"},
    }
    assert "缩小日期范围" in error["message"]
    assert _rows(rt) == before
    # From the 11th, three orders: within the limit.
    assert _get(client, people.secretary, "area=SQ1&from=2026-03-11&to=2026-03-31").status_code == 200


def test_others_than_secretaries_and_street_admins_are_403(rt: Runtime, client: FlaskClient, people: People) -> None:
    before = _rows(rt)
    for who in (people.grid_worker, people.volunteer, people.resident):
        assert _get(client, who, f"area=SQ1&{MARCH}").status_code == 403
    assert client.get(f"{URL}?area=SQ1&{MARCH}").status_code == 401
    assert _rows(rt) == before


def test_an_area_not_theirs_is_404(rt: Runtime, client: FlaskClient, people: People) -> None:
    other = make_person(rt, "secretary-sq2", (Role.SECRETARY, "SQ2"), client=client)
    before = _rows(rt)
    assert _get(client, other, f"area=SQ1&{MARCH}").status_code == 404
    assert _get(client, people.secretary, f"area=JD1&{MARCH}").status_code == 404
    assert _get(client, people.secretary, f"area=SQ1-G1&{MARCH}").status_code == 404
    assert _get(client, people.secretary, f"area=NOPE&{MARCH}").status_code == 404
    assert _rows(rt) == before


# -- the workbook ------------------------------------------------------------------------------


def test_the_workbook_has_four_sheets_with_frozen_chinese_headers_and_dates(
    rt: Runtime, client: FlaskClient, people: People
) -> None:
    _month(rt, people)
    book = _book(client, people.secretary, f"area=SQ1&{MARCH}")
    assert book.sheetnames == ["工单台账", "志愿者服务", "汇总", "民情收集"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
    orders = book["工单台账"]
    assert [cell.value for cell in orders[1]][:3] == ["工单号", "创建时间", "社区"]
    lines = _lines(orders)
    assert len(lines) == 4  # February's order is not in March's ledger
    assert orders["B2"].is_date
    assert lines[0]["创建时间"] == to_shanghai(T0).replace(tzinfo=None)  # Shanghai time, 09:00
    assert lines[0]["状态"] == "已完成"
    assert lines[0]["是否超时"] == "是"
    assert lines[0]["评分"] == 4
    assert "提交" in lines[0]["处理经过"]
    assert [line["是否超时"] for line in lines[1:]] == ["否", "否", "否"]
    summary = book["汇总"]
    assert summary["B2"].is_date
    assert [cell.value for cell in book["志愿者服务"][1]][:4] == ["志愿者", "服务队", "双报到单位", "服务时长（小时）"]


def test_the_summary_equals_the_stats_totals_for_the_same_range(
    rt: Runtime, client: FlaskClient, people: People
) -> None:
    _month(rt, people)
    totals = client.get(f"/api/v1/stats?area=JD1&{MARCH}", headers=people.street_admin.headers).get_json()["totals"]
    (line,) = _lines(_book(client, people.street_admin, f"area=JD1&{MARCH}")["汇总"])
    assert line["工单数"] == totals["orders"] == 4
    assert line["超时数"] == totals["sla_breaches"] == 1
    assert line["评价数"] == totals["ratings"] == 1
    assert line["平均满意度"] == totals["satisfaction"]
    assert line["已完成"] == totals["by_status"]["closed"]
    assert line["待派单"] == totals["by_status"]["submitted"]
    assert sum(line[label] for label in ("待派单", "已派单", "待认领", "已接单", "服务中", "待评价", "已完成")) + sum(
        line[label] for label in ("已驳回", "已上报", "已取消")
    ) == sum(totals["by_status"].values())


def test_phones_are_masked_and_residents_formulas_stay_text(rt: Runtime, client: FlaskClient, people: People) -> None:
    _month(rt, people)
    response = _get(client, people.secretary, f"area=SQ1&{MARCH}")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    lines = _lines(book["工单台账"])
    assert {line["联系电话"] for line in lines} == {"138****5678"}
    # Not in any cell, nor anywhere in the file's XML.
    assert RESIDENT_PHONE.encode() not in _unzipped(response.data)
    hostile = book["工单台账"].cell(row=5, column=8)
    assert hostile.value == '=HYPERLINK("http://evil.example","点我")'
    assert hostile.data_type == "s"


def _unzipped(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return b"".join(archive.read(name) for name in archive.namelist())


def test_statements_grow_with_the_batches_not_the_orders(
    rt: Runtime, client: FlaskClient, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.community.work_ledger.BATCH", 2)

    def cost() -> int:
        # Every count with the 汇总's period before computed, none of them kept from the last.
        stats_cache.clear()
        with counting(rt) as statements:
            assert _get(client, people.secretary, f"area=SQ1&{MARCH}").status_code == 200
        return len(statements)

    for day in range(2):
        _order(rt, people, S.CLOSED, T0 + timedelta(days=day))
    two = cost()  # one page, then the empty page that ends it
    for day in range(2, 4):
        _order(rt, people, S.CLOSED, T0 + timedelta(days=day))
    assert cost() == two + 2  # one more page: its orders and its events
    monkeypatch.setattr("app.community.work_ledger.BATCH", 500)
    for day in range(4, 12):
        _order(rt, people, S.ACCEPTED, T0 + timedelta(days=day))
    assert cost() == two  # twelve orders in one page cost what two did


# -- the command line ------------------------------------------------------------------------


def _env(rt: Runtime, tmp_path: Path) -> dict[str, str]:
    return {
        "LINLI_DATABASE__URL": rt.db.engine.url.render_as_string(hide_password=False),
        "LINLI_APP__VAR_DIR": str(tmp_path),
    }


def test_the_command_says_why_on_bad_input_and_writes_no_file(rt: Runtime, people: People, tmp_path: Path) -> None:
    target = tmp_path / "ledger.xlsx"
    for args, message in [
        (["--area", "NOPE", "--from", "2026-03-01", "--to", "2026-03-31"], "找不到社区或街道 NOPE"),
        (["--area", "SQ1", "--from", "2026-03-31", "--to", "2026-03-01"], "开始日期不能晚于结束日期"),
        (["--area", "SQ1", "--from", "2026-03-xx", "--to", "2026-03-01"], "--from"),
    ]:
        result = CliRunner().invoke(main, ["export", "orders", *args, "-o", str(target)], env=_env(rt, tmp_path))
        assert result.exit_code != 0
        assert message in result.output
        assert not target.exists()


def test_the_command_writes_the_ledger(rt: Runtime, people: People, tmp_path: Path) -> None:
    _month(rt, people)
    target = tmp_path / "ledger.xlsx"
    args = ["export", "orders", "--area", "JD1", "--from", "2026-03-01", "--to", "2026-03-31", "-o", str(target)]
    result = CliRunner().invoke(main, args, env=_env(rt, tmp_path))
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(target)
    assert len(_lines(book["工单台账"])) == 4
    assert _lines(book["汇总"])[0]["工单数"] == 4


def test_an_order_with_no_due_time_is_never_breached(rt: Runtime, client: FlaskClient, people: People) -> None:
    order = _order(rt, people, S.SUBMITTED, T0)
    _set(rt, order, due_at=None)
    (line,) = _lines(_book(client, people.secretary, f"area=SQ1&{MARCH}")["工单台账"])
    assert line["是否超时"] == "否"
    assert line["时限"] is None
