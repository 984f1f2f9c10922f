"""Excel in: the secretary imports residents and volunteers from a sheet (thin views over
app.community.imports)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import IO

from flask import Blueprint, Response, request

from app.community.imports import residents, template, volunteers
from app.community.imports.runner import ImportOut
from app.core.errors import InvalidInputError
from app.core.spreadsheets import MIME_TYPE
from app.identity.actor import Actor
from miniprogram_api import examples
from miniprogram_api.auth import runtime
from miniprogram_api.registry import endpoint
from miniprogram_api.schemas import CategoryQuery

bp = Blueprint("imports", __name__, url_prefix="/api/v1")

#: What a multipart form adds around the file (boundaries, part headers).
_FORM_OVERHEAD_BYTES = 64 * 1024
#: Spooled in memory up to this, on disk beyond (the template is a few KB).
_SPOOL_BYTES = 1024 * 1024


@endpoint(
    bp,
    "/imports/residents",
    method="POST",
    summary="从 Excel 导入居民（社区书记；全部导入或全部不导入）",
    description="multipart/form-data，.xlsx 文件放在字段 `file` 中，第一张工作表第 1 行为表头"
    "（姓名、手机号、网格、楼栋、单元、房号、备注，按名称匹配、顺序不限；姓名、手机号、网格、房号必填）。"
    "网格填编码或名称；网格登记了楼栋时，楼栋须是其中之一。空行跳过。"
    "任何一行有误答 400 import_rejected，details.rows 列出每处错误的行号（Excel 中的行号）、列名和原因，"
    "且不写入任何数据；手机号在文件内重复、或已是本社区居民，都算错误（不会更新已有居民）。"
    "导入的居民没有微信也可由网格员代下单；本人用同一手机号登录并绑定手机后，住址与工单归其微信账号。"
    "不是 .xlsx（含 .xls）、文件损坏答 400；超过 imports.max_bytes 答 413，超过 imports.max_rows 行答 400。",
    query=CategoryQuery,
    response=ImportOut,
    example=examples.IMPORTED,
    errors=(400, 401, 403, 404, 413),
    content_type="multipart/form-data",
)
def import_residents(actor: Actor, query: CategoryQuery) -> ImportOut:
    return residents.import_residents(runtime(), actor, query.community, _uploaded())


def _uploaded() -> IO[bytes]:
    """The form's .xlsx file, the body bounded by imports.max_bytes."""
    if request.mimetype != "multipart/form-data":
        raise InvalidInputError("请用 multipart/form-data 上传 .xlsx 文件，字段名为 file", details={"file": "required"})
    request.max_content_length = runtime().settings.imports.max_bytes + _FORM_OVERHEAD_BYTES
    file = request.files.get("file")  # parsing the form raises the 413 for a body over the limit
    if file is None:
        raise InvalidInputError("请选择要导入的 .xlsx 文件（字段名 file）", details={"file": "required"})
    return file.stream


@endpoint(
    bp,
    "/imports/residents/template.xlsx",
    method="GET",
    summary="居民导入模板（社区书记）：只有表头的空白 Excel",
    answer_type=MIME_TYPE,
    operation_id="getResidentsImportTemplate",
    errors=(401, 403),
)
def residents_template(actor: Actor) -> Response:
    return _template(actor, template.write_residents_template, "residents-template.xlsx")


@endpoint(
    bp,
    "/imports/volunteers",
    method="POST",
    summary="从 Excel 导入志愿者（社区书记；全部导入或全部不导入）",
    description="multipart/form-data，.xlsx 文件放在字段 `file` 中，第一张工作表第 1 行为表头"
    "（姓名、手机号、网格、技能、是否党员、报到单位、每年要求时长、服务队、最多同时接单，按名称匹配、顺序不限；"
    "姓名、手机号必填）。网格填编码或名称；技能填本社区技能库的名称或编码，服务队填本社区已有服务队的名称，"
    "多个用 、 , ，或空格分隔；是否党员填 是/否；报到单位（在职党员双报到）须是否党员为 是；"
    "每年要求时长（1–2000）只能与报到单位一起填；最多同时接单 1–10，不填为 3。空行跳过。"
    "任何一行有误答 400 import_rejected，details.rows 列出每处错误的行号、列名和原因，且不写入任何数据；"
    "手机号在文件内重复、或已是本社区志愿者，都算错误。手机号属于一位已有用户（居民或微信用户）时，"
    "该用户获得本社区志愿者身份，并加上表中的技能与服务队；其已有的志愿者信息（接单上限、党员信息）保留不变。"
    "新的手机号建立没有微信的志愿者，本人用同一手机号登录并绑定手机后，志愿者身份、技能与服务队归其微信账号。"
    "不是 .xlsx（含 .xls）、文件损坏答 400；超过 imports.max_bytes 答 413，超过 imports.max_rows 行答 400。",
    query=CategoryQuery,
    response=ImportOut,
    example=examples.IMPORTED,
    errors=(400, 401, 403, 404, 413),
    content_type="multipart/form-data",
)
def import_volunteers(actor: Actor, query: CategoryQuery) -> ImportOut:
    return volunteers.import_volunteers(runtime(), actor, query.community, _uploaded())


@endpoint(
    bp,
    "/imports/volunteers/template.xlsx",
    method="GET",
    summary="志愿者导入模板（社区书记）：只有表头的空白 Excel",
    answer_type=MIME_TYPE,
    operation_id="getVolunteersImportTemplate",
    errors=(401, 403),
)
def volunteers_template(actor: Actor) -> Response:
    return _template(actor, template.write_volunteers_template, "volunteers-template.xlsx")


def _template(actor: Actor, write: Callable[[Actor, IO[bytes]], None], filename: str) -> Response:
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as target:
        write(actor, target)
        target.seek(0)
        body = target.read()
    response = Response(body, mimetype=MIME_TYPE)
    response.headers["Content-Disposition"] = f"attachment; filename={filename}"
    return response
