"""The error vocabulary shared by the API, the bot and the jobs; no Flask here.

Each error carries a stable ``code`` (API contract), an HTTP status and a Chinese message that
the mini-program can show as it is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar


class LinliError(Exception):
    """Base of every error a caller is expected to see and understand."""

    code: ClassVar[str] = "bad_request"
    http_status: ClassVar[int] = 400
    default_message: ClassVar[str] = "请求有误"

    def __init__(self, message: str | None = None, *, details: Mapping[str, Any] | None = None) -> None:
        self.message = message or self.default_message
        self.details: dict[str, Any] = dict(details or {})
        super().__init__(self.message)


class InvalidInputError(LinliError):
    code = "invalid_input"
    default_message = "输入有误"


class ImportRejectedError(InvalidInputError):
    """An Excel import with bad rows: ``details.rows`` lists each problem; nothing was written."""

    code = "import_rejected"
    default_message = "导入文件有误，未导入任何数据"


class InvalidCodeError(LinliError):
    code = "invalid_code"
    default_message = "登录凭证无效或已使用，请重新进入小程序"


class UnauthenticatedError(LinliError):
    code = "unauthenticated"
    http_status = 401
    default_message = "请先登录"


class TokenExpiredError(UnauthenticatedError):
    code = "token_expired"
    default_message = "登录已过期，请重新登录"


class ForbiddenError(LinliError):
    code = "forbidden"
    http_status = 403
    default_message = "没有权限进行此操作"


class NotFoundError(LinliError):
    """No such object, or an object of another community (never reveal that it exists)."""

    code = "not_found"
    http_status = 404
    default_message = "找不到该记录"


class ConflictError(LinliError):
    code = "conflict"
    http_status = 409
    default_message = "与现有数据冲突"


class InvalidTransitionError(ConflictError):
    code = "invalid_transition"
    default_message = "当前状态不允许此操作"


class AlreadyClaimedError(ConflictError):
    code = "already_claimed"
    default_message = "手慢了，该任务已被其他志愿者认领"


class InsufficientPointsError(ConflictError):
    code = "insufficient_points"
    default_message = "积分不足"


class AlreadySettledError(ConflictError):
    """A second entry where the ledger allows one per order, volunteer and settlement."""

    code = "already_settled"
    default_message = "该工单的积分已经结算过了"


class ContentRejectedError(LinliError):
    code = "content_rejected"
    http_status = 422
    default_message = "内容未通过安全检查，请修改后再提交"


class ExportTooLargeError(LinliError):
    """An export over the rows one request may write (``details.rows``, ``details.max_rows``)."""

    code = "export_too_large"
    http_status = 422
    default_message = "导出范围内的数据过多，请缩小日期范围"


class TooManyExportsError(ConflictError):
    """One more background export than ``[exports] max_open_per_user`` queued or running at once."""

    code = "too_many_exports"
    default_message = "您已有多个工作台账正在生成，请等待完成后再申请"


class ExportNotReadyError(ConflictError):
    """A background export's file asked for before it is written (or when it failed)."""

    code = "export_not_ready"
    default_message = "工作台账还在生成中，请稍后再下载"


class GoneError(LinliError):
    """Something that existed and was deleted on purpose (an expired export's file)."""

    code = "gone"
    http_status = 410
    default_message = "该文件已过期删除，请重新申请"


class RateLimitedError(LinliError):
    """Too many requests (a rate limit, or urging an order again too soon).

    ``retry_after`` is the whole seconds to wait: the API sends it as the ``Retry-After`` header
    and as ``details.retry_after``.
    """

    code = "rate_limited"
    http_status = 429
    default_message = "操作太频繁，请稍后再试"

    def __init__(self, message: str | None = None, *, retry_after: int) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(message or _wait_message(self.retry_after), details={"retry_after": self.retry_after})


def _wait_message(seconds: int) -> str:
    wait = f"{seconds} 秒" if seconds < 60 else f"{math.ceil(seconds / 60)} 分钟"  # noqa: PLR2004
    return f"操作太频繁，请 {wait}后再试"


class ServiceUnavailableError(LinliError):
    """A dependency (WeChat, the database) cannot be reached right now; retrying later may work."""

    code = "service_unavailable"
    http_status = 503
    default_message = "服务暂时不可用，请稍后再试"


class WeChatUnavailableServiceError(ServiceUnavailableError):
    code = "wechat_unavailable"
    default_message = "微信服务暂时无法连接，请稍后再试"
