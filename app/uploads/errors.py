"""What an upload can be refused for, each with its stable code and a Chinese message."""

from __future__ import annotations

from app.core.errors import InvalidInputError, LinliError, RateLimitedError


class PayloadTooLargeError(LinliError):
    """More bytes than ``uploads.max_bytes``."""

    code = "payload_too_large"
    http_status = 413
    default_message = "照片太大，请压缩后再上传"


class ImageTooLargeError(PayloadTooLargeError):
    """Few bytes, but too many pixels to decode within the budget (a decompression bomb, or a
    PNG or WebP larger than a phone photo needs to be). The remedy is the client's, as for too
    many bytes: make it smaller. Hence 413, with a code of its own."""

    code = "image_too_large"
    default_message = "照片尺寸太大，请缩小后再上传"


class UnsupportedImageError(InvalidInputError):
    code = "unsupported_image"
    default_message = "只能上传 JPEG、PNG 或 WebP 格式的照片"


class UploadQuotaError(RateLimitedError):
    """The user's uploads of this Shanghai day reached ``uploads.daily_quota``."""

    default_message = "今天上传的照片已达上限，请明天再试"
