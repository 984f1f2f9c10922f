"""The daily purge of unused uploads (jobs/purge_uploads.py → app.uploads.purge): rows older than a
day with no order go; a file goes only with the last row of its content; orders' photos, recent
uploads and shared files stay; a second run finds nothing."""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from PIL import Image

from app.runtime import Runtime
from app.uploads import purge
from app.uploads.models import Attachment
from app.uploads.store import attach_uploads, store_upload, stored_file
from jobs import purge_uploads
from jobs.registry import job_specs
from tests.conftest import make_settings
from tests.factories import actor_of, make_order, make_person, make_world

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
DAY = timedelta(hours=24)


@pytest.fixture
def prt(rt: Runtime, tmp_path: Path) -> Runtime:
    """The test runtime with a var dir of its own, so that the files of this test can be counted."""
    settings = make_settings(rt.settings.database_url, rt.settings.wechat.api_base, tmp_path / "var")
    return dataclasses.replace(rt, settings=settings)


def _photo(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(out, "PNG")
    return out.getvalue()


def _upload(rt: Runtime, openid: str, data: bytes, at: datetime) -> int:
    with time_machine.travel(at, tick=False):
        return store_upload(
            rt, actor_of(rt, openid), filename="p.png", stream=io.BytesIO(data), declared_type="image/png"
        ).id


def _ids(rt: Runtime) -> set[int]:
    with rt.db.read() as session:
        return set(session.scalars(sa.select(Attachment.id)))


def _files(rt: Runtime) -> set[Path]:
    return {path for path in (rt.settings.var_path / "uploads").rglob("*") if path.is_file()}


def test_the_purge_deletes_unused_uploads_and_their_unshared_files_only(prt: Runtime) -> None:
    world = make_world(prt)
    make_person(prt, "amy", home=(world.community, world.grid))
    make_person(prt, "bob")
    old = T0 - DAY - timedelta(minutes=1)
    unused = _upload(prt, "amy", _photo("red"), old)  # the only row of its content: row and file go
    shared_unused = _upload(prt, "amy", _photo("blue"), old)  # its content is also bob's, below
    bobs_recent = _upload(prt, "bob", _photo("blue"), T0 - timedelta(hours=23))  # under a day: kept
    on_order = _upload(prt, "amy", _photo("green"), old)  # used by an order: kept however old
    order_id = make_order(prt, actor_of(prt, "amy"), world)
    with prt.db.write() as session:
        attach_uploads(session, actor_of(prt, "amy").user_id, [on_order], order_id, "request")
    with prt.db.read() as session:
        red = stored_file(prt.settings.var_path, session.get_one(Attachment, unused))
        blue = stored_file(prt.settings.var_path, session.get_one(Attachment, bobs_recent))
        green = stored_file(prt.settings.var_path, session.get_one(Attachment, on_order))
    assert red is not None
    assert blue is not None
    assert green is not None
    assert _files(prt) == {red, blue, green}

    assert purge_uploads.run(prt, T0) == "rows=2 files=1 missing=0"
    assert _ids(prt) == {bobs_recent, on_order}
    assert shared_unused not in _ids(prt)
    assert _files(prt) == {blue, green}  # blue is still bob's
    assert not red.parent.exists()  # its two-hex-digit folder went with its last file

    # Idempotent: nothing is left to do, and nothing else is touched.
    assert purge_uploads.run(prt, T0) == "rows=0 files=0 missing=0"
    # A day later bob's is old and unused too, and blue goes with it.
    assert purge_uploads.run(prt, T0 + DAY) == "rows=1 files=1 missing=0"
    assert _ids(prt) == {on_order}
    assert _files(prt) == {green}


def test_the_purge_works_in_batches_and_counts_files_already_gone(
    prt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_person(prt, "amy")
    monkeypatch.setattr(purge, "BATCH", 2)
    ids = [_upload(prt, "amy", _photo(colour), T0 - 2 * DAY) for colour in ("red", "blue", "green", "white", "black")]
    with prt.db.read() as session:
        gone = stored_file(prt.settings.var_path, session.get_one(Attachment, ids[0]))
    assert gone is not None
    gone.unlink()  # a purge interrupted after its unlink, or someone tidying var/ by hand
    report = purge.purge_unattached(prt, T0)
    assert (report.rows, report.files, report.missing) == (5, 4, 1)
    assert _ids(prt) == set()
    assert _files(prt) == set()


def test_an_upload_of_purged_content_gets_its_file_back(prt: Runtime) -> None:
    make_person(prt, "amy")
    _upload(prt, "amy", _photo("red"), T0 - 2 * DAY)
    purge.purge_unattached(prt, T0)
    assert _files(prt) == set()
    again = _upload(prt, "amy", _photo("red"), T0)
    with prt.db.read() as session:
        path = stored_file(prt.settings.var_path, session.get_one(Attachment, again))
    assert path is not None
    assert path.is_file()


def test_the_purge_is_a_daily_job_in_a_quiet_hour(rt: Runtime) -> None:
    [spec] = [spec for spec in job_specs(rt.settings) if spec.id == "purge_uploads"]
    assert (spec.daily_at, spec.exclusive) == ((4, 0), True)
    assert spec.slot(T0) == "2026-12-01"
