"""Photo uploads: real images made with Pillow, EXIF (GPS) stripped, content-addressed files,
size limits, who may fetch a photo once it belongs to an order, and the signed, expiring links
that answers carry for ``<image src>``."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import struct
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from gunicorn.config import Config as GunicornConfig
from itsdangerous import URLSafeSerializer
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.serving import WSGIRequestHandler
from werkzeug.test import TestResponse, encode_multipart

from app.core.errors import InvalidInputError
from app.identity.models import RoleMembership
from app.identity.roles import Role
from app.orders.workflow import OrderStatus
from app.runtime import Runtime
from app.uploads.models import Attachment
from app.uploads.shapes import PHOTO_URL
from app.uploads.store import attach_uploads
from miniprogram_api import create_app
from miniprogram_api import uploads as uploads_api
from miniprogram_api.registry import ANSWER_CONTEXT
from miniprogram_api.server import AccessLogger, DevRequestHandler
from miniprogram_api.uploads import redact_photo_links
from tests.conftest import make_settings
from tests.factories import actor_of, grant, login, make_order, make_people, make_world

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


def _apng(frames: int) -> bytes:
    out = io.BytesIO()
    first, *rest = (Image.new("RGB", (32, 32), (i * 4 % 256, 0, 0)) for i in range(frames))
    first.save(out, "PNG", save_all=True, append_images=rest)
    return out.getvalue()


def _animated_webp(frames: int) -> bytes:
    out = io.BytesIO()
    first, *rest = (Image.new("RGB", (32, 32), (0, i * 4 % 256, 0)) for i in range(frames))
    first.save(out, "WEBP", save_all=True, append_images=rest)
    return out.getvalue()


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


def _bearer_path(upload_id: int) -> str:
    """The path that needs the Authorization header (the answers' urls are signed links)."""
    return f"/api/v1/uploads/{upload_id}"


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
    assert body["url"].startswith(f"/api/v1/photos/{body['id']}/")  # a signed link (tests below)
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
        (_apng(frames=60), "sticker.png", "unsupported_image"),  # animated PNG
        (_animated_webp(frames=60), "sticker.webp", "unsupported_image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "fake.png", "unsupported_image"),  # PNG magic, no PNG after it
        (b"\xff\xd8\xff\xe0" + b"\x00" * 200, "fake.jpg", "unsupported_image"),  # JPEG magic, no JPEG after it
        (b"GIF89a" + b"\x00" * 200, "photo.jpg", "unsupported_image"),  # a .jpg name on another format
    ],
    ids=["text", "empty", "gif", "bmp", "truncated-jpeg", "apng", "animated-webp", "png-magic", "jpeg-magic", "gif"],
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


@pytest.mark.parametrize(
    ("data", "name", "width", "height"),
    [
        (_png_header(8000, 5000), "40mp.png", 8000, 5000),  # a PNG is never decoded reduced: over 24 MP
        (_png_header(8000, 6000), "48mp.png", 8000, 6000),
        (_png_header(10000, 10000), "100mp.png", None, None),  # over Pillow's warning limit (96 MP)
        (_png_header(20000, 10000), "200mp.png", None, None),  # over Pillow's error limit (192 MP)
        (_png_header(65535, 65535), "4gp.png", None, None),
    ],
    ids=["40mp", "48mp", "100mp", "200mp", "4gp"],
)
def test_too_many_pixels_is_413_with_the_limit_and_nothing_is_written(
    client: FlaskClient, rt: Runtime, urt: Runtime, data: bytes, name: str, width: int | None, height: int | None
) -> None:
    assert len(data) < 2000  # a few bytes claim billions of pixels
    headers = login(client, "amy")
    response = _post(client, headers, data, name=name, ctype="image/png")
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "image_too_large"
    assert error["details"]["file"] == name
    assert "万像素" in error["message"]  # names the limit, in the unit phones are sold by
    if width is not None:
        # Refused by our own check on the header: the size and the limit for a PNG are named.
        assert (error["details"]["width"], error["details"]["height"]) == (width, height)
        assert error["details"]["max_pixels"] <= urt.settings.uploads.max_pixels
        assert f"{width}×{height}" in error["message"]
    _assert_nothing_written(rt, urt)


def test_a_real_flat_40_megapixel_png_is_refused_before_decoding(
    client: FlaskClient, rt: Runtime, urt: Runtime
) -> None:
    """The probe's file: one colour, 8000×5000, a few hundred KB; decoded it took 414 MB."""
    out = io.BytesIO()
    Image.new("RGB", (8000, 5000), (200, 120, 40)).save(out, "PNG")
    assert len(out.getvalue()) < 300 * 1024
    response = _post(client, login(client, "amy"), out.getvalue(), name="flat.png", ctype="image/png")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "image_too_large"
    _assert_nothing_written(rt, urt)


def test_a_large_phone_jpeg_is_accepted_downscaled_upright_and_without_exif(
    client: FlaskClient, rt: Runtime, urt: Runtime
) -> None:
    # 48 MP is over max_pixels, but a JPEG is decoded at 1/4 here (libjpeg's DCT scaling).
    out = io.BytesIO()
    Image.linear_gradient("L").resize((8000, 6000)).convert("RGB").save(
        out, "JPEG", quality=80, exif=_exif(orientation=6)
    )
    assert len(out.getvalue()) <= urt.settings.uploads.max_bytes
    response = _post(client, login(client, "amy"), out.getvalue(), name="phone.jpg")
    assert response.status_code == 201, response.get_json()
    [path] = _stored(urt)
    image = _assert_clean(path.read_bytes())
    assert image.format == "JPEG"
    longest = urt.settings.uploads.max_side
    assert image.size == (longest * 3 // 4, longest)  # scaled to max_side, then turned upright
    assert response.get_json()["byte_size"] == path.stat().st_size == _rows(rt)[0].byte_size


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


def test_over_the_daily_quota_is_429_until_shanghai_midnight_and_nothing_is_stored(rt: Runtime, tmp_path: Path) -> None:
    runtime = _runtime_with(rt, tmp_path / "quota", daily_quota=2)
    client = _make_app(runtime).test_client()
    # 23:30 in Shanghai: the day ends in 30 minutes. (Logged in then too: a token must not come
    # from the future.)
    with time_machine.travel(datetime(2027, 3, 9, 15, 30, tzinfo=UTC), tick=False) as clock:
        amy, bob = login(client, "amy"), login(client, "bob")
        for colour in ("red", "blue"):
            photo = io.BytesIO()
            Image.new("RGB", (8, 8), colour).save(photo, "PNG")
            assert _post(client, amy, photo.getvalue(), name="a.png").status_code == 201
        rows, files = _rows(rt), _stored(runtime)
        refused = _post(client, amy, _jpeg(), name="third.jpg")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "1800"
        error = refused.get_json()["error"]
        assert error["code"] == "rate_limited"
        assert error["details"] == {"retry_after": 1800}
        assert "2 张" in error["message"]
        assert [row.id for row in _rows(rt)] == [row.id for row in rows]  # no row
        assert _stored(runtime) == files  # and no file
        # The quota is per person: bob is not held back by amy.
        assert _post(client, bob, _jpeg(), name="bob.jpg").status_code == 201
        # Shanghai midnight (16:00 UTC): a new day, a new quota.
        clock.move_to(datetime(2027, 3, 9, 16, 0, tzinfo=UTC))
        assert _post(client, amy, _jpeg(), name="third.jpg").status_code == 201


def test_the_quota_counts_refused_uploads_not_at_all(rt: Runtime, tmp_path: Path) -> None:
    runtime = _runtime_with(rt, tmp_path / "quota", daily_quota=1)
    client = _make_app(runtime).test_client()
    amy = login(client, "amy")
    assert _post(client, amy, b"not a photo", name="x.jpg").status_code == 400
    assert _post(client, amy, _png_header(8000, 6000), name="big.png").status_code == 413
    assert _post(client, amy, _jpeg()).status_code == 201  # the one a day is still there
    assert _post(client, amy, _jpeg()).status_code == 429


def test_openapi_names_every_refusal_of_an_upload(client: FlaskClient) -> None:
    operation = client.get("/openapi.json").get_json()["paths"]["/api/v1/uploads"]["post"]
    assert {"201", "400", "401", "413", "429", "500"} <= set(operation["responses"])
    assert "image_too_large" in operation["description"]
    assert "Retry-After" in operation["description"]


def test_upload_needs_a_token(client: FlaskClient, rt: Runtime, urt: Runtime) -> None:
    response = _post(client, {}, _jpeg())
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"
    _assert_nothing_written(rt, urt)


# --- fetching ----------------------------------------------------------------------------------


def test_uploader_fetches_the_cleaned_bytes(client: FlaskClient, urt: Runtime) -> None:
    headers = login(client, "amy")
    upload = _post(client, headers, _webp(), name="a.webp").get_json()
    status, data, response_headers = _fetch(client, _bearer_path(upload["id"]), headers)
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
    upload_id = _post(client, owner, _jpeg()).get_json()["id"]
    path = _bearer_path(upload_id)
    foreign = client.get(path, headers=stranger)
    unknown = client.get(_bearer_path(upload_id + 1000), headers=owner)
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.get_json() == unknown.get_json()
    assert client.get(path).status_code == 401


def test_whoever_may_see_the_order_may_fetch_its_photos(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    grant(rt, "amy", Role.RESIDENT, world.community)
    grant(rt, "sec", Role.SECRETARY, world.community)
    grant(rt, "sec2", Role.SECRETARY, world.other_community)
    amy, sec, sec2, bob = (login(client, openid) for openid in ("amy", "sec", "sec2", "bob"))
    upload_id = _post(client, amy, _jpeg()).get_json()["id"]
    url = _bearer_path(upload_id)
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


def test_order_answers_link_their_photos_and_a_replay_links_them_too(
    client: FlaskClient, rt: Runtime, frozen: time_machine.Traveller
) -> None:
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
    [photo] = first.get_json()["order"]["photos"]
    assert photo["id"] == upload_id
    assert _link_claims(photo["url"]) == (upload_id, actor_of(rt, "amy").user_id)
    frozen.shift(timedelta(minutes=5))
    replay = client.post("/api/v1/orders", json=body, headers=headers)
    assert replay.status_code == 201
    assert replay.get_json()["order"]["photos"] == [photo]  # same window: the very same url
    order_id = first.get_json()["order"]["id"]
    detail = client.get(f"/api/v1/orders/{order_id}", headers=sec).get_json()["order"]
    [seen_by_sec] = detail["photos"]
    assert _link_claims(seen_by_sec["url"]) == (upload_id, actor_of(rt, "sec").user_id)  # each viewer their own
    assert detail["completion_photos"] == []
    for url in (photo["url"], seen_by_sec["url"]):
        assert _fetch(client, url, {})[0] == 200  # no Authorization header: what <image src> sends


# --- signed photo links ------------------------------------------------------------------------
# What the mini-program's <image src> loads: no Authorization header, so the link itself is the
# credential, signed over (photo, viewer, expiry). Bad links first.

#: Mid-window (windows of 30 minutes start on the hour and the half hour), so that a few minutes'
#: shift in a test stays in one window.
START = datetime(2026, 12, 1, 9, 10, tzinfo=UTC)


@pytest.fixture
def frozen() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _link_parts(url: str) -> tuple[int, str]:
    """(upload id, token) of a photo link."""
    match = re.fullmatch(r"/api/v1/photos/([0-9]+)/([A-Za-z0-9_.-]+)", url)
    assert match, url
    return int(match.group(1)), match.group(2)


def _link_claims(url: str) -> tuple[int, int]:
    """The (upload id, viewer id) a link was signed for, read without checking the signature."""
    upload_id, token = _link_parts(url)
    linked_id, viewer_id, _expires = URLSafeSerializer("only the payload is read").loads_unsafe(token)[1]
    assert linked_id == upload_id
    return linked_id, viewer_id


def _refused(client: FlaskClient, url: str, status: int, code: str) -> None:
    response = client.get(url)
    assert response.status_code == status, (url, response.get_data(as_text=True)[:200])
    error = response.get_json()["error"]
    assert error["code"] == code, (url, error)
    assert re.search(r"[\u4e00-\u9fff]", error["message"])  # Chinese, for display


def _flip(text: str, index: int) -> str:
    """``text`` with one URL-safe character at ``index`` changed."""
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


def test_a_tampered_or_truncated_link_is_403_bad_signature(
    client: FlaskClient, rt: Runtime, frozen: time_machine.Traveller
) -> None:
    upload_id, token = _link_parts(_post(client, login(client, "amy"), _jpeg()).get_json()["url"])
    payload, signature = token.split(".")
    amy_id, expires = actor_of(rt, "amy").user_id, rt.photo_links.expiry(START)
    other_viewer = URLSafeSerializer("x").dump_payload([upload_id, amy_id + 1, expires]).decode()
    forged_key = URLSafeSerializer("not the server's key", salt="linli.photo-link.v1")
    for bad in (
        _flip(token, len(token) - 1),  # the signature's last character
        _flip(token, 1),  # the claims
        f"{other_viewer}.{signature}",  # the claims swapped for another viewer's
        payload,  # no signature at all
        f"{payload}.",  # an empty one
        "not-a-link",
        forged_key.dumps([upload_id, amy_id, expires]),  # signed with another key
        rt.tokens.issue(amy_id, 0),  # a login token is no photo link
    ):
        _refused(client, f"/api/v1/photos/{upload_id}/{bad}", 403, "bad_signature")
    assert _fetch(client, f"/api/v1/photos/{upload_id}/{token}", {})[0] == 200  # the untouched link works


def test_a_link_under_another_photos_id_is_403(client: FlaskClient, frozen: time_machine.Traveller) -> None:
    amy = login(client, "amy")
    first_id, first_token = _link_parts(_post(client, amy, _jpeg()).get_json()["url"])
    second_id, _ = _link_parts(_post(client, amy, _png()).get_json()["url"])
    # amy may see both, and the token is genuine: but it was signed for the first photo only.
    _refused(client, f"/api/v1/photos/{second_id}/{first_token}", 403, "bad_signature")
    assert _fetch(client, f"/api/v1/photos/{first_id}/{first_token}", {})[0] == 200


def test_an_expired_link_is_403_link_expired(client: FlaskClient, rt: Runtime, frozen: time_machine.Traveller) -> None:
    url = _post(client, login(client, "amy"), _jpeg()).get_json()["url"]
    expires = datetime.fromtimestamp(rt.photo_links.expiry(START), UTC)
    assert expires == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # 9:10 + 30 min, rounded up to the half hour
    frozen.move_to(expires - timedelta(seconds=1))
    status, _data, headers = _fetch(client, url, {})
    assert status == 200
    assert headers["Cache-Control"] == "private, max-age=1"  # never cached past the link's end
    frozen.move_to(expires)
    _refused(client, url, 403, "link_expired")
    frozen.shift(timedelta(days=400))
    _refused(client, url, 403, "link_expired")


def test_a_path_without_a_token_is_no_link(client: FlaskClient, frozen: time_machine.Traveller) -> None:
    """A missing token is a path that names nothing (404, like any unknown path), not a 401: this
    route never asks for a login, and the bearer path is another one."""
    upload_id, _token = _link_parts(_post(client, login(client, "amy"), _jpeg()).get_json()["url"])
    for url in (f"/api/v1/photos/{upload_id}", f"/api/v1/photos/{upload_id}/"):
        _refused(client, url, 404, "not_found")


def test_a_link_lasts_only_while_its_viewer_may_see_the_photo(
    client: FlaskClient, rt: Runtime, frozen: time_machine.Traveller
) -> None:
    """The link names the viewer it was minted for, and each fetch asks again whether they may
    see the photo: the secretary's link dies with the secretary's role, the owner's does not."""
    world = make_world(rt)
    grant(rt, "amy", Role.RESIDENT, world.community)
    grant(rt, "sec", Role.SECRETARY, world.community)
    amy, sec = login(client, "amy"), login(client, "sec")
    upload_id = _post(client, amy, _jpeg()).get_json()["id"]
    order_id = make_order(rt, actor_of(rt, "amy"), world)
    _attach(rt, "amy", [upload_id], order_id)
    [owners] = client.get(f"/api/v1/orders/{order_id}", headers=amy).get_json()["order"]["photos"]
    [secretarys] = client.get(f"/api/v1/orders/{order_id}", headers=sec).get_json()["order"]["photos"]
    assert owners["url"] != secretarys["url"]
    assert _fetch(client, secretarys["url"], {})[0] == 200

    with rt.db.write() as session:
        session.execute(sa.delete(RoleMembership).where(RoleMembership.user_id == actor_of(rt, "sec").user_id))
    _refused(client, secretarys["url"], 403, "forbidden")
    assert _fetch(client, owners["url"], {})[0] == 200
    # An Authorization header changes nothing, even the owner's: the link is the credential.
    assert client.get(secretarys["url"], headers=amy).status_code == 403


def test_a_pool_link_dies_when_another_volunteer_claims_the_order(
    client: FlaskClient, rt: Runtime, frozen: time_machine.Traveller
) -> None:
    """A volunteer sees a pooled order's photos only while it is in the pool: the link they were
    given stops working when someone else claims it, long before it expires."""
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    upload_id = _post(client, people.resident.headers, _jpeg()).get_json()["id"]
    order_id = make_order(rt, people, world, status=OrderStatus.POOLED, photos=(upload_id,))
    detail = client.get(f"/api/v1/orders/{order_id}", headers=people.other_volunteer.headers).get_json()
    [seen_in_pool] = detail["order"]["photos"]
    assert _fetch(client, seen_in_pool["url"], {})[0] == 200
    claimed = client.post(f"/api/v1/orders/{order_id}/claim", json={}, headers=people.volunteer.headers)
    assert claimed.status_code == 200, claimed.get_json()
    _refused(client, seen_in_pool["url"], 403, "forbidden")
    [claimers] = claimed.get_json()["order"]["photos"]
    assert _fetch(client, claimers["url"], {})[0] == 200


def test_a_genuine_link_for_someone_who_may_not_see_the_photo_is_403(
    client: FlaskClient, rt: Runtime, frozen: time_machine.Traveller
) -> None:
    """The server never mints such a link; if it did (a bug, a leaked key), the rule still holds."""
    upload_id = _post(client, login(client, "amy"), _jpeg()).get_json()["id"]
    login(client, "bob")
    token = rt.photo_links.mint(upload_id, actor_of(rt, "bob").user_id, START)
    _refused(client, f"/api/v1/photos/{upload_id}/{token}", 403, "forbidden")
    gone = rt.photo_links.mint(upload_id, actor_of(rt, "bob").user_id + 1000, START)  # no such user
    _refused(client, f"/api/v1/photos/{upload_id}/{gone}", 403, "forbidden")


def test_a_genuine_link_to_a_missing_photo_or_file_is_404(
    client: FlaskClient, rt: Runtime, urt: Runtime, frozen: time_machine.Traveller
) -> None:
    upload_id = _post(client, login(client, "amy"), _jpeg()).get_json()["id"]
    amy_id = actor_of(rt, "amy").user_id
    unknown = rt.photo_links.mint(upload_id + 1000, amy_id, START)
    _refused(client, f"/api/v1/photos/{upload_id + 1000}/{unknown}", 404, "not_found")
    [path] = _stored(urt)
    path.unlink()  # a database restored newer than the files (docs/operations.md, Backups)
    _refused(client, f"/api/v1/photos/{upload_id}/{rt.photo_links.mint(upload_id, amy_id, START)}", 404, "not_found")


def test_the_upload_answers_link_loads_with_no_authorization_header(
    client: FlaskClient, urt: Runtime, frozen: time_machine.Traveller
) -> None:
    url = _post(client, login(client, "amy"), _webp(), name="a.webp").get_json()["url"]
    status, data, headers = _fetch(client, url, {})
    assert status == 200
    [path] = _stored(urt)
    assert data == path.read_bytes()
    assert headers["Content-Type"] == "image/webp"
    assert headers["X-Content-Type-Options"] == "nosniff"
    # 9:10 → valid until 10:00: cached as long as the link holds, by the phone only.
    assert headers["Cache-Control"] == "private, max-age=3000"
    assert "Expires" not in headers
    with client.get(url, headers={"If-None-Match": headers["ETag"]}) as again:
        assert again.status_code == 304  # the image cache may revalidate instead of downloading
    with client.head(url) as head:
        assert head.status_code == 200
        assert head.headers["Content-Type"] == "image/webp"


def test_one_photo_keeps_one_url_for_a_window(client: FlaskClient, rt: Runtime, frozen: time_machine.Traveller) -> None:
    """Repeated answers within a window give the same url, so the image cache keeps the photo;
    the next window gives a new one, and the old url still works until its own expiry."""
    world = make_world(rt)
    grant(rt, "amy", Role.RESIDENT, world.community)
    amy = login(client, "amy")
    upload_id = _post(client, amy, _jpeg()).get_json()["id"]
    order_id = make_order(rt, actor_of(rt, "amy"), world)
    _attach(rt, "amy", [upload_id], order_id)

    def url_now() -> str:
        [photo] = client.get(f"/api/v1/orders/{order_id}", headers=amy).get_json()["order"]["photos"]
        url: str = photo["url"]
        return url

    first = url_now()
    frozen.move_to(datetime(2026, 12, 1, 9, 29, 59, tzinfo=UTC))
    assert url_now() == first
    frozen.move_to(datetime(2026, 12, 1, 9, 30, 1, tzinfo=UTC))
    second = url_now()
    assert second != first
    assert _fetch(client, first, {})[0] == 200
    frozen.move_to(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    _refused(client, first, 403, "link_expired")
    assert _fetch(client, second, {})[0] == 200  # valid until 10:30


def test_with_no_caller_an_answer_links_the_bearer_path(app: Flask) -> None:
    """No answer with photos is anonymous today; should one be, there is nobody to sign for."""
    with app.test_request_context():
        assert ANSWER_CONTEXT[PHOTO_URL](5) == "/api/v1/uploads/5"


def test_a_photo_link_is_no_login_token(client: FlaskClient, frozen: time_machine.Traveller) -> None:
    """Two salts, two keys: a photo link's token does not authenticate anyone."""
    _upload_id, token = _link_parts(_post(client, login(client, "amy"), _jpeg()).get_json()["url"])
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"


def test_access_logs_carry_no_photo_link_tokens() -> None:
    """gunicorn's access log (``linli serve``) and Werkzeug's (``linli run``) keep the photo id
    and drop the token, in the request line, the path and any header that repeats it."""
    link = "/api/v1/photos/12/WzEyLDgsMTc5NjExOTIwMF0.vMbpuRcxHuclspqFvDy1NqRRFuU"
    token = link.rsplit("/", 1)[1]
    assert redact_photo_links(f"GET {link} HTTP/1.1") == "GET /api/v1/photos/12/[redacted] HTTP/1.1"
    assert redact_photo_links(f"GET /api/v1//photos/12//{token}?x=1") == "GET /api/v1//photos/12//[redacted]?x=1"
    assert redact_photo_links("GET /api/v1/uploads/12 HTTP/1.1") == "GET /api/v1/uploads/12 HTTP/1.1"

    logger = AccessLogger(GunicornConfig())
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": link, "PATH_INFO": link, "QUERY_STRING": "",
               "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_REFERER": f"https://servicewechat.com{link}"}  # fmt: skip
    response = SimpleNamespace(status="200 OK", headers=[("Content-Type", "image/jpeg")], sent=678)
    request = SimpleNamespace(headers=[("REFERER", f"https://servicewechat.com{link}")])
    atoms = logger.atoms(response, request, environ, timedelta(milliseconds=3))
    assert atoms["r"] == "GET /api/v1/photos/12/[redacted] HTTP/1.1"
    assert atoms["U"] == "/api/v1/photos/12/[redacted]"
    assert token not in repr(atoms)
    assert atoms["s"] == "200"

    lines: list[tuple[Any, ...]] = []
    handler = object.__new__(DevRequestHandler)  # no socket: only its log() is exercised
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(WSGIRequestHandler, "log", lambda _self, *args: lines.append(args))
        handler.log("info", '"%s" %s %s', f"GET {link} HTTP/1.1", "200", "678")
    assert lines == [("info", '"%s" %s %s', "GET /api/v1/photos/12/[redacted] HTTP/1.1", "200", "678")]


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
