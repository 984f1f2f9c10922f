"""Photo uploads: real images made with Pillow, EXIF (GPS) stripped, content-addressed files,
size limits, and who may fetch a photo once it belongs to an order."""

from __future__ import annotations

import dataclasses
import io
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import TestResponse, encode_multipart

from app.core.errors import InvalidInputError
from app.identity.roles import Role
from app.runtime import Runtime
from app.uploads.models import Attachment
from app.uploads.store import attach_uploads
from miniprogram_api import create_app
from miniprogram_api import uploads as uploads_api
from tests.conftest import make_settings
from tests.factories import actor_of, grant, login, make_order, make_world

GPS_IFD = 0x8825
ORIENTATION = 0x0112
MAKE = 0x010F
#: A camera make written into the EXIF, so that the stored bytes can be searched for it.
SENTINEL = "LinliSpyCam"


# --- building blocks ---------------------------------------------------------------------------


def _runtime_with(rt: Runtime, var_dir: Path, **uploads: Any) -> Runtime:
    """The test runtime (same database and engine) with its own var dir and upload settings."""
    overrides = {"uploads": uploads} if uploads else {}
    settings = make_settings(rt.settings.database_url, rt.settings.wechat.api_base, var_dir, **overrides)
    return dataclasses.replace(rt, settings=settings)


def _make_app(runtime: Runtime) -> Flask:
    flask_app = create_app(runtime=runtime)
    flask_app.testing = True
    if "uploads" not in flask_app.blueprints:
        flask_app.register_blueprint(uploads_api.bp)
    return flask_app


@pytest.fixture
def urt(rt: Runtime, tmp_path: Path) -> Runtime:
    return _runtime_with(rt, tmp_path / "var")


@pytest.fixture
def app(urt: Runtime) -> Flask:
    return _make_app(urt)


def _exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[MAKE] = SENTINEL
    exif[GPS_IFD] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 0.0)}
    if orientation is not None:
        exif[ORIENTATION] = orientation
    return exif


def _noise(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    channels = len(mode)
    return Image.frombytes(mode, size, os.urandom(size[0] * size[1] * channels))


def _jpeg(size: tuple[int, int] = (20, 10), orientation: int | None = None, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    image = Image.new(mode, size, "red" if mode == "RGB" else None)
    image.save(out, "JPEG", exif=_exif(orientation), xmp=b"<x:xmpmeta><GPSLatitude>39,54N</GPSLatitude></x:xmpmeta>")
    return out.getvalue()


def _png(image: Image.Image | None = None) -> bytes:
    out = io.BytesIO()
    (image or Image.new("RGBA", (16, 12), (0, 128, 255, 100))).save(out, "PNG", exif=_exif())
    return out.getvalue()


def _webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 12), "green").save(out, "WEBP", exif=_exif())
    return out.getvalue()


def _png_header(width: int, height: int) -> bytes:
    """A small PNG file that claims a huge size (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _multipart(field: str, data: bytes, name: str, ctype: str) -> tuple[bytes, str]:
    """A multipart body built in memory (the test client would spool a big one to a temp file
    that it never closes unless it follows redirects)."""
    boundary, body = encode_multipart({field: FileStorage(io.BytesIO(data), filename=name, content_type=ctype)})
    return body, f"multipart/form-data; boundary={boundary}"


def _post(
    client: FlaskClient,
    headers: dict[str, str],
    data: bytes,
    name: str = "photo.jpg",
    ctype: str = "image/jpeg",
    field: str = "file",
) -> TestResponse:
    body, content_type = _multipart(field, data, name, ctype)
    return client.post("/api/v1/uploads", data=body, headers={**headers, "Content-Type": content_type})


def _fetch(client: FlaskClient, url: str, headers: dict[str, str]) -> tuple[int, bytes, Any]:
    """GET and close the response (a real server closes the file send_file opened)."""
    with client.get(url, headers=headers) as response:
        return response.status_code, response.get_data(), response.headers


def _stored(runtime: Runtime) -> list[Path]:
    root = runtime.settings.var_path / "uploads"
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def _rows(rt: Runtime) -> list[Attachment]:
    with rt.db.read() as session:
        rows = list(session.scalars(sa.select(Attachment).order_by(Attachment.id)))
        session.expunge_all()  # keep them readable after the read session rolls back
        return rows


def _assert_nothing_written(rt: Runtime, urt: Runtime) -> None:
    assert _rows(rt) == []
    assert _stored(urt) == []


def _assert_clean(data: bytes) -> Image.Image:
    """The stored bytes carry no EXIF, GPS, XMP or camera make."""
    for marker in (b"Exif", b"EXIF", b"eXIf", SENTINEL.encode(), b"GPSLatitude", b"xmpmeta"):
        assert marker not in data, marker
    image = Image.open(io.BytesIO(data))
    exif = image.getexif()
    assert dict(exif) == {}
    assert exif.get_ifd(GPS_IFD) == {}
    assert "exif" not in image.info
    assert "xmp" not in image.info
    return image


# --- uploading ---------------------------------------------------------------------------------


def test_jpeg_is_stored_without_exif_gps_or_xmp(client: FlaskClient, rt: Runtime, urt: Runtime) -> None:
    original = _jpeg()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the input really has GPS
    headers = login(client, "amy")
    response = _post(client, headers, original)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["url"] == f"/api/v1/uploads/{body['id']}"
    assert body["content_type"] == "image/jpeg"
    [row] = _rows(rt)
    [path] = _stored(urt)
    assert row.id == body["id"]
    assert row.order_id is None
    assert row.purpose == "request"
    assert row.byte_size == body["byte_size"] == path.stat().st_size
    assert path == urt.settings.var_path / "uploads" / row.sha256[:2] / f"{row.sha256}.jpg"
    image = _assert_clean(path.read_bytes())
    assert image.format == "JPEG"
    assert image.size == (20, 10)


@pytest.mark.parametrize(
    ("data", "name", "content_type", "extension", "mode"),
    [
        (_png(), "a.png", "image/png", "png", "RGBA"),
        (_png(Image.new("P", (8, 8), 3)), "p.png", "image/png", "png", "P"),
        (_webp(), "a.webp", "image/webp", "webp", "RGB"),
        (_jpeg(mode="CMYK"), "cmyk.jpg", "image/jpeg", "jpg", "RGB"),
    ],
    ids=["png-rgba", "png-palette", "webp", "jpeg-cmyk"],
)
def test_each_format_is_kept_and_cleaned(
    client: FlaskClient, rt: Runtime, urt: Runtime, data: bytes, name: str, content_type: str, extension: str, mode: str
) -> None:
    headers = login(client, "amy")
    # The client's declared type is not trusted: the content decides.
    response = _post(client, headers, data, name=name, ctype="application/octet-stream")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["content_type"] == content_type
    [path] = _stored(urt)
    assert path.suffix == f".{extension}"
    image = _assert_clean(path.read_bytes())
    assert image.mode == mode
    assert _rows(rt)[0].content_type == content_type


def test_orientation_is_applied_before_exif_is_dropped(client: FlaskClient, urt: Runtime) -> None:
    headers = login(client, "amy")
    response = _post(client, headers, _jpeg(size=(20, 10), orientation=6))
    assert response.status_code == 201
    [path] = _stored(urt)
    image = _assert_clean(path.read_bytes())
    assert image.size == (10, 20)  # turned upright, as the phone showed it


def test_same_photo_twice_is_one_file_and_two_rows(client: FlaskClient, rt: Runtime, urt: Runtime) -> None:
    headers = login(client, "amy")
    data = _jpeg()
    first = _post(client, headers, data).get_json()
    second = _post(client, headers, data).get_json()
    assert first["id"] != second["id"]
    rows = _rows(rt)
    assert len(rows) == 2
    assert rows[0].sha256 == rows[1].sha256
    assert len(_stored(urt)) == 1


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"just some text, not a photo\n" * 10, "x.jpg", "unsupported_image"),
        (b"", "empty.jpg", "invalid_input"),
        (None, "anim.gif", "unsupported_image"),  # a GIF, built below
        (None, "bitmap.bmp", "unsupported_image"),  # a BMP, built below
        (None, "cut.jpg", "invalid_input"),  # a truncated JPEG, built below
        (_png_header(8000, 6000), "48mp.png", "invalid_input"),  # over our 40 MP guard
        (_png_header(10000, 10000), "100mp.png", "invalid_input"),  # over Pillow's warning limit
        (_png_header(20000, 10000), "200mp.png", "invalid_input"),  # over Pillow's error limit
    ],
    ids=["text", "empty", "gif", "bmp", "truncated-jpeg", "48mp", "100mp", "200mp"],
)
def test_bad_files_are_400_and_nothing_is_written(
    client: FlaskClient, rt: Runtime, urt: Runtime, data: bytes | None, name: str, code: str
) -> None:
    if data is None:
        out = io.BytesIO()
        if name.endswith(".gif"):
            Image.new("P", (10, 10)).save(out, "GIF")
        elif name.endswith(".bmp"):
            Image.new("RGB", (10, 10)).save(out, "BMP")
        else:
            _noise((200, 200)).save(out, "JPEG")
        data = out.getvalue()
        if name == "cut.jpg":
            data = data[: len(data) * 2 // 3]
            with pytest.raises(OSError, match="truncated"):
                Image.open(io.BytesIO(data)).load()
    headers = login(client, "amy")
    response = _post(client, headers, data, name=name)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["details"]["file"] == name
    assert error["message"]  # Chinese, for display
    _assert_nothing_written(rt, urt)


def test_missing_file_field_is_400(client: FlaskClient, rt: Runtime, urt: Runtime) -> None:
    headers = login(client, "amy")
    response = _post(client, headers, _jpeg(), field="photo")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_input"
    assert response.get_json()["error"]["details"] == {"file": "required"}
    _assert_nothing_written(rt, urt)


def test_not_multipart_is_400(client: FlaskClient, rt: Runtime, urt: Runtime) -> None:
    headers = login(client, "amy")
    as_json = client.post("/api/v1/uploads", json={"file": "aGVsbG8="}, headers=headers)
    raw = client.post("/api/v1/uploads", data=_jpeg(), headers={**headers, "Content-Type": "image/jpeg"})
    for response in (as_json, raw):
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "invalid_input"
    _assert_nothing_written(rt, urt)


def test_body_over_the_request_limit_is_413_envelope(client: FlaskClient, rt: Runtime, urt: Runtime) -> None:
    headers = login(client, "amy")
    response = _post(client, headers, b"\xff" * (6 * 1024 * 1024), name="big.jpg")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    _assert_nothing_written(rt, urt)


def test_file_one_byte_over_max_bytes_is_413(rt: Runtime, tmp_path: Path) -> None:
    """Within Flask's allowance for multipart overhead, so the service itself must refuse it."""
    photo = _png(_noise((40, 40)))
    too_small = _runtime_with(rt, tmp_path / "tight", max_bytes=len(photo) - 1)
    exact = _runtime_with(rt, tmp_path / "exact", max_bytes=len(photo))
    refused_client = _make_app(too_small).test_client()
    response = _post(refused_client, login(refused_client, "amy"), photo, name="a.png")
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "payload_too_large"
    assert error["details"] == {"file": "a.png", "max_bytes": len(photo) - 1}
    _assert_nothing_written(rt, too_small)

    accepted_client = _make_app(exact).test_client()
    assert _post(accepted_client, login(accepted_client, "amy"), photo, name="a.png").status_code == 201
    assert len(_rows(rt)) == 1
    assert len(_stored(exact)) == 1


def test_upload_needs_a_token(client: FlaskClient, rt: Runtime, urt: Runtime) -> None:
    response = _post(client, {}, _jpeg())
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"
    _assert_nothing_written(rt, urt)


# --- fetching ----------------------------------------------------------------------------------


def test_uploader_fetches_the_cleaned_bytes(client: FlaskClient, urt: Runtime) -> None:
    headers = login(client, "amy")
    upload = _post(client, headers, _webp(), name="a.webp").get_json()
    status, data, response_headers = _fetch(client, upload["url"], headers)
    assert status == 200
    assert response_headers["Content-Type"] == "image/webp"
    [path] = _stored(urt)
    assert data == path.read_bytes()
    assert response_headers["Cache-Control"] == "private, max-age=86400"
    assert response_headers["X-Content-Type-Options"] == "nosniff"
    assert "Expires" not in response_headers


def test_others_and_unknown_ids_get_the_same_404(client: FlaskClient) -> None:
    owner = login(client, "amy")
    stranger = login(client, "bob")
    upload = _post(client, owner, _jpeg()).get_json()
    foreign = client.get(upload["url"], headers=stranger)
    unknown = client.get(f"/api/v1/uploads/{upload['id'] + 1000}", headers=owner)
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.get_json() == unknown.get_json()
    assert client.get(upload["url"]).status_code == 401


def test_whoever_may_see_the_order_may_fetch_its_photos(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    grant(rt, "amy", Role.RESIDENT, world.community)
    grant(rt, "sec", Role.SECRETARY, world.community)
    grant(rt, "sec2", Role.SECRETARY, world.other_community)
    amy, sec, sec2, bob = (login(client, openid) for openid in ("amy", "sec", "sec2", "bob"))
    url = _post(client, amy, _jpeg()).get_json()["url"]
    upload_id = int(url.rsplit("/", 1)[1])
    assert client.get(url, headers=sec).status_code == 404  # not on any order yet: the uploader's alone

    order_id = make_order(rt, actor_of(rt, "amy"), world)
    with rt.db.write() as session:
        attach_uploads(session, actor_of(rt, "amy").user_id, [upload_id], order_id, "request")
    [row] = _rows(rt)
    assert (row.order_id, row.purpose) == (order_id, "request")

    assert _fetch(client, url, amy)[0] == 200
    assert _fetch(client, url, sec)[0] == 200
    for outsider in (sec2, bob):
        response = client.get(url, headers=outsider)
        assert response.status_code == 404
        assert response.get_json()["error"]["message"] == "找不到该照片"  # not "order": nothing revealed


def test_order_answers_link_their_photos_and_a_replay_links_them_too(client: FlaskClient, rt: Runtime) -> None:
    # Use cases answer photo ids only; the API makes each url when it serialises the answer, so a
    # stored Idempotency-Key answer (kept without urls) gets them on replay as well.
    world = make_world(rt)
    grant(rt, "amy", Role.RESIDENT, world.community)
    grant(rt, "sec", Role.SECRETARY, world.community)
    amy, sec = login(client, "amy"), login(client, "sec")
    upload_id = _post(client, amy, _jpeg()).get_json()["id"]
    body = {
        "community": world.community,
        "category": "grocery",
        "kind": "service",
        "title": "买菜",
        "photos": [upload_id],
    }
    headers = {**amy, "Idempotency-Key": "photo-order-1"}
    first = client.post("/api/v1/orders", json=body, headers=headers)
    assert first.status_code == 201, first.get_json()
    expected = [{"id": upload_id, "url": f"/api/v1/uploads/{upload_id}"}]
    assert first.get_json()["order"]["photos"] == expected
    replay = client.post("/api/v1/orders", json=body, headers=headers)
    assert replay.status_code == 201
    assert replay.get_json()["order"]["photos"] == expected
    order_id = first.get_json()["order"]["id"]
    detail = client.get(f"/api/v1/orders/{order_id}", headers=sec).get_json()["order"]
    assert detail["photos"] == expected
    assert detail["completion_photos"] == []
    assert _fetch(client, expected[0]["url"], sec)[0] == 200


# --- attach_uploads ----------------------------------------------------------------------------


def _attach(rt: Runtime, openid: str, ids: list[int], order_id: int) -> None:
    with rt.db.write() as session:
        attach_uploads(session, actor_of(rt, openid).user_id, ids, order_id, "request")


def test_attach_refuses_foreign_used_and_unknown_photos_atomically(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    grant(rt, "amy", Role.RESIDENT, world.community)
    amy, bob = login(client, "amy"), login(client, "bob")
    mine = _post(client, amy, _jpeg()).get_json()["id"]
    mine_too = _post(client, amy, _png()).get_json()["id"]
    bobs = _post(client, bob, _webp()).get_json()["id"]
    order_id = make_order(rt, actor_of(rt, "amy"), world)

    with pytest.raises(InvalidInputError) as refused:
        _attach(rt, "amy", [mine, bobs, 9999], order_id)
    assert refused.value.details == {"photos": [bobs, 9999]}
    assert all(row.order_id is None for row in _rows(rt))  # the good one was rolled back too

    _attach(rt, "amy", [mine, mine], order_id)  # a repeated id counts once
    with pytest.raises(InvalidInputError) as used:
        _attach(rt, "amy", [mine, mine_too], order_id)
    assert used.value.details == {"photos": [mine]}
    assert {row.id: row.order_id for row in _rows(rt)} == {mine: order_id, mine_too: None, bobs: None}


def test_attach_allows_at_most_nine_photos(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    grant(rt, "amy", Role.RESIDENT, world.community)
    headers = login(client, "amy")
    ids = [_post(client, headers, _png(_noise((4, 4)))).get_json()["id"] for _ in range(10)]
    order_id = make_order(rt, actor_of(rt, "amy"), world)
    with pytest.raises(InvalidInputError):
        _attach(rt, "amy", ids, order_id)
    assert all(row.order_id is None for row in _rows(rt))
    _attach(rt, "amy", ids[:9], order_id)
    assert sum(row.order_id == order_id for row in _rows(rt)) == 9
