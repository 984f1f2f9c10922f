"""Background work ledgers: POST /api/v1/exports/orders, the export_ledgers job, the download.

Bad paths first (nothing written), then a request taken through the job (called directly, as the
other job tests do) to a file whose 汇总 is /stats' totals; one job for a repeated request; one
writer for two racing job processes (threads; they really overlap on PostgreSQL); a running
export abandoned past its timeout taken again; expiry deleting the file; the requester told once.
"""

from __future__ import annotations

import io
import shutil
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import openpyxl
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.community.exports import runner
from app.community.exports.files import exports_dir
from app.community.exports.models import ExportJob, ExportStatus
from app.community.exports.requests import request_export
from app.community.exports.runner import claim_next, run_exports
from app.community.exports.texts import FAILED_TITLE, READY_TITLE
from app.core.clock import now_utc
from app.core.config import ExportsSection
from app.identity.models import RoleMembership
from app.identity.roles import Role
from app.notify.models import Notification
from app.notify.templates import TITLES
from app.orders.workflow import OrderStatus
from app.runtime import Runtime
from tests.api.test_stats import MARCH, T0, _order, _rows
from tests.factories import People, Person, make_people, make_person, make_world

T = TypeVar("T")

S = OrderStatus
URL = "/api/v1/exports/orders"
MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RANGE = {"from": "2026-03-01", "to": "2026-03-31"}


@pytest.fixture(autouse=True)
def _no_files(rt: Runtime) -> None:
    """The var directory lasts the session: each test starts with no export files in it."""
    directory = exports_dir(rt.settings)
    if directory.exists():
        shutil.rmtree(directory)


@pytest.fixture
def people(rt: Runtime, client: FlaskClient) -> People:
    return make_people(rt, make_world(rt), client=client)


def _month(rt: Runtime, people: People) -> None:
    """Three orders in March (one breached and closed), one in February (not in the range)."""
    _order(rt, people, S.CLOSED, T0, due_at=T0 + timedelta(hours=1), completed_at=T0 + timedelta(hours=5))
    _order(rt, people, S.ACCEPTED, T0 + timedelta(days=1))
    _order(rt, people, S.SUBMITTED, T0 + timedelta(days=2))
    _order(rt, people, S.CLOSED, T0 - timedelta(days=30))


def _ask(client: FlaskClient, who: Person, area: str = "SQ1", **body: Any) -> Any:
    return client.post(URL, json={"area": area, **RANGE, **body}, headers=who.headers)


def _jobs(rt: Runtime) -> list[ExportJob]:
    with rt.db.read() as session:
        jobs = list(session.scalars(sa.select(ExportJob).order_by(ExportJob.id)))
        session.expunge_all()  # kept as read: the read's rollback would expire them
        return jobs


def _told(rt: Runtime, user_id: int) -> list[str]:
    with rt.db.read() as session:
        return list(
            session.scalars(
                sa.select(Notification.title).where(
                    Notification.user_id == user_id, Notification.template_key == "export_ready"
                )
            )
        )


def _later(minutes: float = 1) -> datetime:
    return now_utc() + timedelta(minutes=minutes)


def _at_once(count: int, call: Callable[[], T]) -> list[T]:
    """``call()``'s results from ``count`` threads released together; any thread's exception is
    raised here (a thread's exception is otherwise lost)."""
    barrier = threading.Barrier(count)
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(call())
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return results


def _book(client: FlaskClient, who: Person, job_id: int) -> openpyxl.Workbook:
    response = client.get(f"{URL}/{job_id}/file", headers=who.headers)
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == MIME
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    return openpyxl.load_workbook(io.BytesIO(response.data))


def _lines(sheet: Any) -> list[dict[str, Any]]:
    header = [cell.value for cell in sheet[1]]
    return [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)]


# -- bad paths ---------------------------------------------------------------------------------


def test_others_than_secretaries_and_street_admins_are_403_and_nothing_is_written(
    rt: Runtime, client: FlaskClient, people: People
) -> None:
    before = _rows(rt)
    for who in (people.grid_worker, people.volunteer, people.resident):
        response = _ask(client, who)
        assert response.status_code == 403, response.get_json()
    assert client.post(URL, json={"area": "SQ1", **RANGE}).status_code == 401
    assert _jobs(rt) == []
    assert _rows(rt) == before


def test_an_area_not_theirs_is_404_and_nothing_is_written(rt: Runtime, client: FlaskClient, people: People) -> None:
    other = make_person(rt, "secretary-sq2", (Role.SECRETARY, "SQ2"), client=client)
    assert _ask(client, other, "SQ1").status_code == 404
    for area in ("JD1", "SQ1-G1", "NOPE"):
        assert _ask(client, people.secretary, area).status_code == 404
    assert _jobs(rt) == []


@pytest.mark.parametrize(
    "body",
    [
        {"area": "SQ1", "from": "2026-03-31", "to": "2026-03-01"},  # reversed
        {"area": "SQ1", "from": "2025-01-01", "to": "2026-03-01"},  # longer than 366 days
        {"area": "SQ1", "from": "2026-02-30", "to": "2026-03-01"},  # no such day
        {"area": "SQ1", "to": "2026-03-01"},  # no from
        {"area": "SQ1", **RANGE, "format": "csv"},  # unknown field
    ],
)
def test_a_bad_range_is_400_and_nothing_is_written(
    body: dict[str, str], rt: Runtime, client: FlaskClient, people: People
) -> None:
    response = client.post(URL, json=body, headers=people.secretary.headers)
    assert response.status_code == 400, response.get_json()
    assert _jobs(rt) == []


def test_another_users_export_is_404_like_a_missing_one(rt: Runtime, client: FlaskClient, people: People) -> None:
    job_id = _ask(client, people.secretary).get_json()["id"]
    run_exports(rt, _later())
    colleague = make_person(rt, "secretary-li", (Role.SECRETARY, "SQ1"), client=client)
    for who in (colleague, people.street_admin, people.resident):
        for path in (f"{URL}/{job_id}", f"{URL}/{job_id}/file"):
            response = client.get(path, headers=who.headers)
            assert response.status_code == 404, (who.openid, path, response.get_json())
        assert client.get(URL, headers=who.headers).get_json()["items"] == []
    assert client.get(f"{URL}/{job_id + 1}", headers=people.secretary.headers).status_code == 404


def test_the_file_before_it_is_written_is_409(rt: Runtime, client: FlaskClient, people: People) -> None:
    job_id = _ask(client, people.secretary).get_json()["id"]
    response = client.get(f"{URL}/{job_id}/file", headers=people.secretary.headers)
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "export_not_ready"
    assert "生成中" in error["message"]


def test_more_open_exports_than_allowed_is_409_and_nothing_is_written(
    rt: Runtime, client: FlaskClient, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(rt.settings.__dict__, "exports", ExportsSection(max_open_per_user=2))
    assert _ask(client, people.secretary, **{"from": "2026-03-01"}).status_code == 202
    assert _ask(client, people.secretary, **{"from": "2026-03-02"}).status_code == 202
    response = _ask(client, people.secretary, **{"from": "2026-03-03"})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "too_many_exports"
    assert error["details"] == {"open": 2, "max_open": 2}
    assert len(_jobs(rt)) == 2
    # Once written they no longer count.
    run_exports(rt, _later())
    assert _ask(client, people.secretary, **{"from": "2026-03-03"}).status_code == 202


# -- over the HTTP cap -------------------------------------------------------------------------


def test_the_get_over_the_cap_points_to_the_background_export_which_takes_it(
    rt: Runtime, client: FlaskClient, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(rt.settings.__dict__, "exports", ExportsSection(max_rows=2))
    _month(rt, people)  # three orders in March
    response = client.get(f"{URL}.xlsx?area=SQ1&{MARCH}", headers=people.secretary.headers)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["details"]["background"] == {"method": "POST", "path": URL}
    assert "后台" in error["message"]
    asked = _ask(client, people.secretary)
    assert asked.status_code == 202
    assert asked.get_json()["rows"] == 3
    run_exports(rt, _later())
    assert len(_lines(_book(client, people.secretary, asked.get_json()["id"])["工单台账"])) == 3


# -- the job -----------------------------------------------------------------------------------


def test_a_request_is_written_by_the_job_and_its_summary_is_the_stats_totals(
    rt: Runtime, client: FlaskClient, people: People
) -> None:
    _month(rt, people)
    asked = _ask(client, people.street_admin, "JD1")
    assert asked.status_code == 202, asked.get_json()
    job = asked.get_json()
    assert (job["status"], job["area"], job["from"], job["to"], job["rows"]) == (
        "queued",
        "JD1",
        "2026-03-01",
        "2026-03-31",
        3,
    )
    assert job["created_at"].endswith("+08:00")
    assert _told(rt, people.street_admin.id) == []

    report = run_exports(rt, _later())
    assert (report.done, report.failed) == (1, 0)
    seen = client.get(f"{URL}/{job['id']}", headers=people.street_admin.headers).get_json()
    assert seen["status"] == "done"
    assert seen["attempts"] == 1
    assert seen["file_size"] > 0
    (written,) = _jobs(rt)
    assert written.file_name is not None
    assert len(written.file_name) >= 40  # random, not derived from the id
    assert (exports_dir(rt.settings) / written.file_name).is_file()
    assert [p.name for p in exports_dir(rt.settings).iterdir()] == [written.file_name]  # no .part left

    book = _book(client, people.street_admin, job["id"])
    assert book.sheetnames == ["工单台账", "志愿者服务", "汇总", "民情收集"]
    totals = client.get(f"/api/v1/stats?area=JD1&{MARCH}", headers=people.street_admin.headers).get_json()["totals"]
    (line,) = _lines(book["汇总"])
    assert line["工单数"] == totals["orders"] == 3
    assert line["超时数"] == totals["sla_breaches"] == 1
    assert line["已完成"] == totals["by_status"]["closed"]

    listed = client.get(URL, headers=people.street_admin.headers).get_json()
    assert [item["id"] for item in listed["items"]] == [job["id"]]
    assert listed["next_cursor"] is None


def test_the_same_request_while_open_gives_the_same_export(rt: Runtime, client: FlaskClient, people: People) -> None:
    first = _ask(client, people.secretary)
    again = _ask(client, people.secretary)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert len(_jobs(rt)) == 1
    # Another range is another export; once written, the same one asked again is a new one.
    assert _ask(client, people.secretary, **{"to": "2026-03-30"}).status_code == 202
    run_exports(rt, _later())
    assert _ask(client, people.secretary).status_code == 202
    assert len(_jobs(rt)) == 3


def test_the_same_request_racing_makes_one_export(rt: Runtime, client: FlaskClient, people: People) -> None:
    """Four taps at once (threads; on PostgreSQL they overlap, serialised by the user row lock)."""
    actor = people.secretary.actor(rt)
    created = _at_once(
        4, lambda: request_export(rt, actor, area="SQ1", first=date(2026, 3, 1), last=date(2026, 3, 31)).created
    )
    assert sorted(created) == [False, False, False, True]
    assert len(_jobs(rt)) == 1


def test_the_requester_is_told_once(rt: Runtime, client: FlaskClient, people: People) -> None:
    _ask(client, people.secretary)
    run_exports(rt, _later())
    run_exports(rt, _later(2))
    assert _told(rt, people.secretary.id) == [READY_TITLE] == [TITLES["export_ready"]]


def test_two_job_processes_racing_write_each_export_once(rt: Runtime, client: FlaskClient, people: People) -> None:
    _month(rt, people)
    _ask(client, people.secretary)
    claims = _at_once(2, lambda: claim_next(rt, _later()))
    assert sorted(claim is None for claim in claims) == [False, True]
    (job,) = _jobs(rt)
    assert (job.status, job.attempts) == (ExportStatus.RUNNING, 1)


def test_two_whole_runs_racing_make_one_file_and_one_message(rt: Runtime, client: FlaskClient, people: People) -> None:
    _month(rt, people)
    for day in ("2026-03-01", "2026-03-02", "2026-03-03"):
        _ask(client, people.secretary, **{"from": day})
    barrier = threading.Barrier(2)
    reports: list[runner.ExportReport] = []

    def run() -> None:
        barrier.wait(timeout=30)
        reports.append(run_exports(rt, _later()))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sum(report.done for report in reports) == 3
    assert {job.status for job in _jobs(rt)} == {ExportStatus.DONE}
    assert {job.attempts for job in _jobs(rt)} == {1}
    assert len(list(exports_dir(rt.settings).iterdir())) == 3
    assert len(_told(rt, people.secretary.id)) == 3


def test_a_running_export_past_its_timeout_is_taken_again(rt: Runtime, client: FlaskClient, people: People) -> None:
    job_id = _ask(client, people.secretary).get_json()["id"]
    killed_at = _later()
    assert claim_next(rt, killed_at) is not None  # then the process died
    timeout = rt.settings.exports.run_timeout_minutes
    # Within the timeout it is still somebody's.
    assert claim_next(rt, killed_at + timedelta(minutes=timeout - 1)) is None
    report = run_exports(rt, killed_at + timedelta(minutes=timeout))
    assert report.done == 1
    (job,) = _jobs(rt)
    assert (job.id, job.status, job.attempts) == (job_id, ExportStatus.DONE, 2)


def test_a_stalled_writer_overtaken_throws_its_file_away(rt: Runtime, client: FlaskClient, people: People) -> None:
    _ask(client, people.secretary)
    at = _later()
    stalled = claim_next(rt, at)
    assert stalled is not None
    later = at + timedelta(minutes=rt.settings.exports.run_timeout_minutes)
    assert run_exports(rt, later).done == 1  # another process took it again and wrote it
    report = runner.ExportReport()
    runner._one(rt, stalled, later, report)  # the first one wakes up and finishes
    assert (report.done, report.overtaken) == (0, 1)
    (job,) = _jobs(rt)
    assert [p.name for p in exports_dir(rt.settings).iterdir()] == [job.file_name]
    assert len(_told(rt, people.secretary.id)) == 1


def test_an_abandoned_export_out_of_attempts_fails_and_says_so(
    rt: Runtime, client: FlaskClient, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(rt.settings.__dict__, "exports", ExportsSection(max_attempts=1, run_timeout_minutes=5))
    job_id = _ask(client, people.secretary).get_json()["id"]
    at = _later()
    assert claim_next(rt, at) is not None
    assert claim_next(rt, at + timedelta(minutes=5)) is None  # out of attempts: not taken again
    report = run_exports(rt, at + timedelta(minutes=5))
    assert (report.done, report.failed) == (0, 1)
    seen = client.get(f"{URL}/{job_id}", headers=people.secretary.headers).get_json()
    assert seen["status"] == "failed"
    assert seen["error"]
    response = client.get(f"{URL}/{job_id}/file", headers=people.secretary.headers)
    assert response.status_code == 409
    assert response.get_json()["error"]["details"] == {"status": "failed"}
    assert _told(rt, people.secretary.id) == [FAILED_TITLE]


def test_an_error_while_writing_is_retried_then_fails(
    rt: Runtime, client: FlaskClient, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(rt.settings.__dict__, "exports", ExportsSection(max_attempts=2))

    def broken(*_args: object) -> list[object]:
        raise OSError("disk full")

    monkeypatch.setattr(runner, "ledger_sheets", broken)
    _ask(client, people.secretary)
    first = run_exports(rt, _later())
    # Put back after the first attempt, for the next run; that one is the last allowed.
    assert (first.retried, first.failed, first.done) == (1, 0, 0)
    (job,) = _jobs(rt)
    assert (job.status, job.attempts, job.error) == (ExportStatus.QUEUED, 1, "生成时出错")
    assert _told(rt, people.secretary.id) == []
    second = run_exports(rt, _later(2))
    assert (second.retried, second.failed, second.done) == (0, 1, 0)
    (job,) = _jobs(rt)
    assert (job.status, job.attempts) == (ExportStatus.FAILED, 2)
    assert list(exports_dir(rt.settings).glob("*")) == []
    assert _told(rt, people.secretary.id) == [FAILED_TITLE]


def test_a_requester_who_lost_the_role_gets_no_ledger(rt: Runtime, client: FlaskClient, people: People) -> None:
    _ask(client, people.secretary)
    with rt.db.write() as session:
        session.execute(sa.delete(RoleMembership).where(RoleMembership.user_id == people.secretary.id))
    report = run_exports(rt, _later())
    assert (report.done, report.failed) == (0, 1)
    (job,) = _jobs(rt)
    assert job.status is ExportStatus.FAILED
    assert "无权" in job.error
    assert not exports_dir(rt.settings).exists() or list(exports_dir(rt.settings).iterdir()) == []


def test_expiry_deletes_the_file_and_the_download_is_410(rt: Runtime, client: FlaskClient, people: People) -> None:
    job_id = _ask(client, people.secretary).get_json()["id"]
    written_at = _later()
    run_exports(rt, written_at)
    (job,) = _jobs(rt)
    assert job.file_name is not None
    path: Path = exports_dir(rt.settings) / job.file_name
    assert path.is_file()
    keep = timedelta(days=rt.settings.exports.keep_days)
    assert run_exports(rt, written_at + keep - timedelta(minutes=1)).expired == 0
    assert path.is_file()
    assert run_exports(rt, written_at + keep).expired == 1
    assert not path.exists()
    seen = client.get(f"{URL}/{job_id}", headers=people.secretary.headers).get_json()
    assert seen["status"] == "expired"
    response = client.get(f"{URL}/{job_id}/file", headers=people.secretary.headers)
    assert response.status_code == 410
    assert response.get_json()["error"]["code"] == "gone"


def test_a_deleted_accounts_files_go_at_the_next_run(rt: Runtime, client: FlaskClient, people: People) -> None:
    _ask(client, people.secretary)
    run_exports(rt, _later())
    (job,) = _jobs(rt)
    assert job.file_name is not None
    assert client.delete("/api/v1/me", headers=people.secretary.headers).status_code == 204
    assert run_exports(rt, _later(2)).expired == 1
    assert not (exports_dir(rt.settings) / job.file_name).exists()


def test_the_job_says_what_it_did(rt: Runtime, client: FlaskClient, people: People) -> None:
    from jobs import export_ledgers

    assert export_ledgers.run(rt, _later()).startswith("claimed=0 ")  # quiet: nothing to do
    _ask(client, people.secretary)
    assert export_ledgers.run(rt, _later()) == "claimed=1 done=1 failed=0 retried=0 overtaken=0 expired=0"
    keep = timedelta(days=rt.settings.exports.keep_days)
    assert export_ledgers.run(rt, _later() + keep).startswith("expired=1 ")
