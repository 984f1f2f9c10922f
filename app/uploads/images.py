"""Decoding an untrusted photo within a memory budget, and encoding it again, phone-sized and
without metadata. No database and no settings object: ``app.uploads.store`` passes the limits.

File size says little about decode size: a flat-colour PNG of 165 KB can be 8000×5000 pixels, and
decoding it took a worker to 414 MB. So the header is read first (Pillow's ``Image.open`` is lazy)
and everything is decided before ``load()``: frames, pixels, and what decoding this format in this
mode will cost. A JPEG is decoded at 1/2, 1/4 or 1/8 of its size when that still covers the stored
size (``draft``: libjpeg scales in the DCT, so a 48 MP phone photo never exists at full size in
memory). PNG and WebP cannot be decoded smaller, so above the budget they are refused.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import struct
import warnings
from dataclasses import dataclass
from typing import Any, Final

from PIL import Image, UnidentifiedImageError
from PIL.JpegImagePlugin import JpegImageFile

from app.core.errors import InvalidInputError
from app.uploads.errors import ImageTooLargeError, UnsupportedImageError

log = logging.getLogger(__name__)

# Pillow's bomb check runs inside Image.open, before our own checks, and only warns below twice its
# limit; made an error (as Pillow's docs suggest), so that it refuses rather than prints, in
# production as in the tests.
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)

JPEG_QUALITY: Final = 90
WEBP_QUALITY: Final = 90
#: A source may have this many times ``max_pixels``: only a JPEG gets there (decoded at 1/2 or
#: less), and Pillow's own limit is set to the same number.
SOURCE_FACTOR: Final = 4
MB: Final = 1024 * 1024

#: Pillow format → (content type, file extension). Only these parsers ever see uploaded bytes.
FORMATS: Final[dict[str, tuple[str, str]]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
#: How a message names each format.
_LABELS: Final = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}
#: An MPO (a phone's multi-picture JPEG) opens through the JPEG parser; its first picture is kept.
_SAME_AS: Final = {"MPO": "JPEG"}
#: Modes each encoder writes as they are; anything else is converted first.
_KEEP_MODES: Final[dict[str, frozenset[str]]] = {
    "JPEG": frozenset({"L", "RGB"}),
    "PNG": frozenset({"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"}),
    "WEBP": frozenset({"RGB", "RGBA"}),
}
#: Bytes a decoded pixel takes in Pillow, by mode (RGB is padded to 4). Anything else: 4.
_MODE_BYTES: Final[dict[str, int]] = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2}
#: What WebP costs on top of the image, per pixel: Pillow decodes every WebP through libwebp's
#: animation decoder, which keeps two RGBA canvases, and copies the frame into bytes before the
#: image. Measured 17 bytes a pixel in all (bench/upload_memory.py).
_WEBP_EXTRA_BYTES: Final = 13
#: Modes that are converted at full size before resampling: a palette to colour (Pillow would
#: resample it with NEAREST), alpha to premultiplied alpha (Pillow does that itself).
_CONVERTED_TO_RESAMPLE: Final = frozenset({"1", "P", "PA", "LA", "La", "RGBA", "I;16", "I;16B", "I;16L"})
#: EXIF orientation → the transpose that makes the picture upright (as ImageOps.exif_transpose).
_UPRIGHT: Final[dict[int, Image.Transpose]] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_ORIENTATION_TAG: Final = 0x0112
#: What a broken or hostile file makes Pillow raise while identifying, decoding or re-encoding it.
_DECODE_ERRORS: Final = (OSError, SyntaxError, ValueError, EOFError, struct.error)
_BOMB_ERRORS: Final = (Image.DecompressionBombError, Image.DecompressionBombWarning)


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """How much one upload may cost to decode, and how large it is kept."""

    max_pixels: int
    max_decode_bytes: int
    max_side: int

    @property
    def source_pixels(self) -> int:
        """The largest source in any format (a JPEG, decoded reduced); Pillow's limit too."""
        return self.max_pixels * SOURCE_FACTOR


@dataclass(frozen=True, slots=True)
class Cleaned:
    """The re-encoded photo: pixels only, no metadata, at most ``max_side`` on its longest side."""

    data: bytes
    content_type: str
    extension: str
    sha256: str
    size: tuple[int, int]


def fit(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """``size`` scaled down (never up) so that its longest side is at most ``max_side``."""
    width, height = size
    longest = max(width, height)
    if longest <= max_side:
        return size
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def _coefficient_bytes(opened: Image.Image) -> int:
    """A progressive JPEG's DCT coefficients, which libjpeg keeps for the whole source (16 bits
    each, per component at its sampling) whatever size it is decoded at."""
    if not isinstance(opened, JpegImageFile) or not (opened.info.get("progressive") or opened.info.get("progression")):
        return 0
    width, height = opened.size  # before draft: the coefficients are the source's
    layers = opened.layer or [(0, 1, 1, 0)]
    h_max = max(layer[1] for layer in layers) or 1
    v_max = max(layer[2] for layer in layers) or 1
    blocks = sum(math.ceil(width * layer[1] / h_max / 8) * math.ceil(height * layer[2] / v_max / 8) for layer in layers)
    return blocks * 64 * 2


def decode_cost(fmt: str, mode: str, decoded: tuple[int, int], target: tuple[int, int], coefficients: int = 0) -> int:
    """Bytes of memory that decoding ``decoded`` pixels of ``fmt``/``mode``, scaling them to
    ``target`` and encoding the result take at their peak. The terms are Pillow 13's, and match
    what bench/upload_memory.py measures within a few MB (a little above it, never below)."""
    width, height = decoded
    pixels = width * height
    pixel_bytes = _MODE_BYTES.get(mode, 4)
    cost = pixels * pixel_bytes + coefficients
    if fmt == "WEBP":
        cost += pixels * _WEBP_EXTRA_BYTES
    if target != decoded:
        if mode in _CONVERTED_TO_RESAMPLE:
            cost += pixels * 4
            pixel_bytes = 4
        # Pillow resamples in two passes; the first (horizontal) one is target width × source height.
        cost += target[0] * height * pixel_bytes
    # The stored image, and for a moment a second one (turned upright, or converted for the encoder).
    return cost + 2 * target[0] * target[1] * pixel_bytes


def _wan(pixels: int) -> str:
    """Pixels in 万 (10 000), as Chinese phone specs state them: 2400 万像素."""
    return f"{pixels / 10_000:.0f}"


def _too_large(fmt: str, source: tuple[int, int], limit: int, where: dict[str, Any]) -> ImageTooLargeError:
    width, height = source
    return ImageTooLargeError(
        f"照片尺寸太大（{width}×{height}），{_LABELS[fmt]} 照片最多约 {_wan(limit)} 万像素，请缩小后再上传",
        details={**where, "width": width, "height": height, "max_pixels": limit},
    )


def _check_frames(opened: Image.Image, parsed_as: str, where: dict[str, Any]) -> None:
    # Only the first frame would ever be decoded, so frames cost nothing; but an animation is no
    # photo of a problem or of work done. An MPO's further pictures are the same shot (a depth
    # map, a preview): its first is kept.
    frames = int(getattr(opened, "n_frames", 1))
    if parsed_as != "MPO" and frames > 1:
        raise UnsupportedImageError("不支持动图，请上传静态照片", details={**where, "frames": frames})


def _jpeg_draft_size(source: tuple[int, int], target: tuple[int, int]) -> tuple[int, int]:
    """The size Pillow's JPEG ``draft`` picks for ``target`` (1/8, 1/4, 1/2 or whole); only for
    naming a limit, the decision itself reads the size after the real ``draft``."""
    scale = min(source[0] // target[0], source[1] // target[1])
    step = next(step for step in (8, 4, 2, 1) if scale >= step)
    return (source[0] + step - 1) // step, (source[1] + step - 1) // step


def _fits(fmt: str, mode: str, size: tuple[int, int], coefficients: int, limits: DecodeLimits) -> bool:
    target = fit(size, limits.max_side)
    decoded = _jpeg_draft_size(size, target) if fmt == "JPEG" else size
    cap = limits.source_pixels if fmt == "JPEG" else limits.max_pixels
    return (
        size[0] * size[1] <= cap
        and decoded[0] * decoded[1] <= limits.max_pixels
        and decode_cost(fmt, mode, decoded, target, coefficients) <= limits.max_decode_bytes
    )


def _largest_accepted(fmt: str, mode: str, source: tuple[int, int], coefficients: int, limits: DecodeLimits) -> int:
    """The most pixels a file like this one (format, mode, shape) may have: what the refusal
    names, so that a user who shrinks a photo to it is not refused again."""
    width, height = source
    low, high = 0.0, 1.0
    for _ in range(24):  # to within a few hundred pixels of the limit
        scale = (low + high) / 2
        size = (max(1, int(width * scale)), max(1, int(height * scale)))
        # A progressive JPEG's coefficients shrink with its pixels.
        if _fits(fmt, mode, size, int(coefficients * scale * scale), limits):
            low = scale
        else:
            high = scale
    return int(width * low) * int(height * low)


def _check_budget(opened: Image.Image, fmt: str, limits: DecodeLimits, where: dict[str, Any]) -> tuple[int, int]:
    """Decide, from the header alone, whether to decode; reduce a JPEG's decode size first.
    Returns the stored size. Raises ImageTooLargeError naming the limit for this kind of file."""
    source = opened.size
    target = fit(source, limits.max_side)
    cap = limits.source_pixels if fmt == "JPEG" else limits.max_pixels
    coefficients = _coefficient_bytes(opened)
    refused = source[0] * source[1] > cap
    if not refused:
        if fmt == "JPEG" and target != source:
            # DCT scaling: the smallest of 1/2, 1/4, 1/8 that still covers the target; nothing
            # is decoded yet.
            opened.draft(None, target)
        decoded = opened.size
        cost = decode_cost(fmt, opened.mode, decoded, target, coefficients)
        refused = decoded[0] * decoded[1] > limits.max_pixels or cost > limits.max_decode_bytes
    if refused:
        raise _too_large(fmt, source, _largest_accepted(fmt, opened.mode, source, coefficients, limits), where)
    return target


def _orientation(opened: Image.Image) -> int:
    """The EXIF orientation; 1 (as shot) when there is none or it cannot be parsed, since that EXIF
    is thrown away anyway."""
    try:
        value = opened.getexif().get(_ORIENTATION_TAG, 1)
    except (*_DECODE_ERRORS, KeyError, IndexError, TypeError):
        log.info("ignoring unreadable EXIF orientation")
        return 1
    return value if isinstance(value, int) else 1


def _scaled(opened: Image.Image, target: tuple[int, int]) -> Image.Image:
    """A new image of ``target`` size (a copy when no scaling is needed): the caller can then
    close the full-size one and release its memory."""
    if opened.size == target:
        return opened.copy()
    image: Image.Image = opened
    if image.mode in {"1", "P", "PA"}:
        # Pillow resamples these with NEAREST only: jagged. Colour first (counted in decode_cost).
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    return image.resize(target, Image.Resampling.LANCZOS)


def _encode(image: Image.Image, fmt: str) -> bytes:
    keep_transparency = fmt == "PNG" and "transparency" in image.info
    transparency = image.info.get("transparency")
    if image.mode not in _KEEP_MODES[fmt]:
        image = image.convert("RGBA" if fmt != "JPEG" and image.has_transparency_data else "RGB")
        keep_transparency = False
    # Drop everything Pillow carried over (EXIF, XMP, ICC, comments, text chunks): encoders read
    # some of these from ``info`` by default, so it must be empty, not merely not passed.
    image.info = {"transparency": transparency} if keep_transparency else {}
    out = io.BytesIO()
    if fmt == "JPEG":
        image.save(out, "JPEG", quality=JPEG_QUALITY)
    elif fmt == "WEBP":
        image.save(out, "WEBP", quality=WEBP_QUALITY)
    else:
        image.save(out, "PNG")
    return out.getvalue()


def reencode(raw: bytes, filename: str, limits: DecodeLimits) -> Cleaned:
    """Decode ``raw`` within ``limits`` and encode its pixels again in the same format, upright,
    at most ``limits.max_side`` on the longest side, without metadata.

    Raises UnsupportedImageError (400: not JPEG/PNG/WebP, or animated), ImageTooLargeError (413:
    over the pixel or memory budget, a decompression bomb) or InvalidInputError (400: corrupt,
    truncated).
    """
    where: dict[str, Any] = {"file": filename}
    # Pillow's guard agrees with ours: it warns (an error here, see above) where we refuse. One
    # value per process, as the settings are.
    Image.MAX_IMAGE_PIXELS = limits.source_pixels
    try:
        # formats=: never run another parser (EPS would start Ghostscript) on untrusted bytes.
        with Image.open(io.BytesIO(raw), formats=list(FORMATS)) as opened:
            parsed_as = opened.format or ""
            _check_frames(opened, parsed_as, where)
            fmt = _SAME_AS.get(parsed_as, parsed_as)
            target = _check_budget(opened, fmt, limits, where)
            opened.load()  # decodes every pixel: a truncated or corrupt file fails here
            orientation = _orientation(opened)
            image = _scaled(opened, target)
        # Leaving the block closed the full-size image and freed its pixels; only ``image`` is left.
        if orientation in _UPRIGHT:
            image = image.transpose(_UPRIGHT[orientation])
        data = _encode(image, fmt)
    except UnidentifiedImageError as exc:
        raise UnsupportedImageError(details=where) from exc
    except _BOMB_ERRORS as exc:
        # A header over the source limit: Pillow's check inside Image.open comes before ours.
        raise ImageTooLargeError(
            f"照片尺寸太大，最多约 {_wan(limits.source_pixels)} 万像素，请缩小后再上传",
            details={**where, "max_pixels": limits.source_pixels},
        ) from exc
    except _DECODE_ERRORS as exc:
        raise InvalidInputError("照片已损坏或无法识别，请重新选择", details=where) from exc
    content_type, extension = FORMATS[fmt]
    return Cleaned(data, content_type, extension, hashlib.sha256(data).hexdigest(), image.size)
