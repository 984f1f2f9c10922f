"""Photo uploads and downloads (thin views over app.uploads and app.orders.photos)."""

from __future__ import annotations

from flask import Blueprint, Response, request, send_file

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


@endpoint(
    bp,
    "/uploads",
    method="POST",
    summary="上传照片（JPEG/PNG/WebP，不超过 5 MB；EXIF 与定位信息会被去除）",
    example=examples.UPLOAD,
    operation_id="uploadPhoto",
    description="multipart/form-data，文件放在字段 `file` 中（wx.uploadFile 的 name 填 file）。"
    "答复中的 id 用于工单的 photos 和完成时的 photos。",
    response=UploadOut,
    status=201,
    errors=(400, 401, 413),
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
    response = send_file(path, mimetype=content_type, conditional=True, etag=True, max_age=None)
    response.headers["Cache-Control"] = _CACHE_CONTROL
    response.headers.pop("Expires", None)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
