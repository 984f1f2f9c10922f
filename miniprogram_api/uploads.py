"""Photo uploads and downloads (thin views over app.uploads and app.orders.photos)."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, Response, request, send_file

from app.core.clock import now_utc
from app.core.errors import InvalidInputError
from app.identity.actor import Actor
from app.orders import photos
from app.uploads import store
from app.uploads.store import UploadOut
from miniprogram_api import examples
from miniprogram_api.auth import runtime
from miniprogram_api.registry import endpoint

bp = Blueprint("uploads", __name__, url_prefix="/api/v1")

#: Photos never change under one id (content-addressed), but they are private: browsers and the
#: WeChat client may keep them a day, shared caches must not.
_CACHE_CONTROL = "private, max-age=86400"

#: A signed photo link's token in a request line or path, for the access logs
#: (miniprogram_api/server.py): whoever reads a log must not be able to load the photos in it.
#: The id before it stays (whatever it is: a path the router refuses is logged too), so a line
#: still says which photo was fetched. Repeated slashes count:
#: the router answers them with a redirect, and the log line would still carry a working token.
PHOTO_LINK_TOKEN = re.compile(r"(/photos/+[^/?#\s]+/+)[^/?#\s]+")


def redact_photo_links(text: str) -> str:
    """``text`` with every photo link's token replaced by ``[redacted]``."""
    return PHOTO_LINK_TOKEN.sub(r"\1[redacted]", text)


def _send_photo(path: Path, content_type: str, cache_control: str) -> Response:
    response = send_file(path, mimetype=content_type, conditional=True, etag=True, max_age=None)
    response.headers["Cache-Control"] = cache_control
    response.headers.pop("Expires", None)
    # The stored type is what Pillow decoded, never the client's say-so; nosniff keeps a browser
    # from second-guessing it.
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@endpoint(
    bp,
    "/uploads",
    method="POST",
    summary="上传照片（JPEG/PNG/WebP，不超过 5 MB；EXIF 与定位信息会被去除）",
    example=examples.UPLOAD,
    operation_id="uploadPhoto",
    description="multipart/form-data，文件放在字段 `file` 中（wx.uploadFile 的 name 填 file）。"
    "答复中的 id 用于工单的 photos 和完成时的 photos。"
    "照片会缩小到最长边不超过 2000 像素（uploads.max_side）保存。"
    "文件超过 5 MB 答 413 payload_too_large；像素太多（PNG/WebP 超过约 2400 万像素，"
    "JPEG 超过约 9600 万像素，或解码所需内存超过预算）答 413 image_too_large，details 给出 max_pixels；"
    "动图答 400 unsupported_image；每人每天（北京时间）最多上传 uploads.daily_quota 张，"
    "超过答 429 rate_limited，Retry-After 为距北京时间零点的秒数。",
    response=UploadOut,
    status=201,
    errors=(400, 401, 413, 429),
    content_type="multipart/form-data",
)
def create_upload(actor: Actor) -> UploadOut:
    if request.mimetype != "multipart/form-data":
        raise InvalidInputError("请用 multipart/form-data 上传照片，字段名为 file", details={"file": "required"})
    file = request.files.get("file")  # parsing the form raises the 413 for a body over MAX_CONTENT_LENGTH
    if file is None:
        raise InvalidInputError("请选择要上传的照片（字段名 file）", details={"file": "required"})
    return store.store_upload(
        runtime(), actor, filename=file.filename or "", stream=file.stream, declared_type=file.mimetype or None
    )


@endpoint(
    bp,
    "/uploads/<id:upload_id>",
    method="GET",
    summary="下载照片（上传者，或能查看所属工单的人）",
    answer_type="image/*",
    operation_id="getPhoto",
    errors=(401, 404),
)
def get_upload(actor: Actor, upload_id: int) -> Response:
    path, content_type = photos.open_upload(runtime(), actor, upload_id)
    return _send_photo(path, content_type, _CACHE_CONTROL)


@endpoint(
    bp,
    "/photos/<id:upload_id>/<token>",
    method="GET",
    summary="通过签名链接查看照片（无需登录，供 <image src> 使用；链接会过期）",
    description="答复（上传、工单）里照片的 url 就是这个地址，直接放进 <image src>，不需要 Authorization。"
    "链接签给当时的查看者，每次取图都会重新检查该查看者是否仍有权查看（否则 403 forbidden）。"
    "链接过期答 403 link_expired，被改动答 403 bad_signature：重新获取工单或上传答复即可拿到新链接。"
    "同一窗口期内同一张照片的链接不变，便于图片缓存。",
    answer_type="image/*",
    operation_id="getPhotoByLink",
    auth=False,
    errors=(403, 404),
)
def get_photo(upload_id: int, token: str) -> Response:
    photo = photos.open_linked_photo(runtime(), upload_id, token)
    # Cached no longer than the link is valid: a cached copy must not outlive the permission the
    # link stands for. Private: the bytes are someone's, never a shared cache's.
    remaining = max(0, int((photo.expires_at - now_utc()).total_seconds()))
    return _send_photo(photo.path, photo.content_type, f"private, max-age={remaining}")
