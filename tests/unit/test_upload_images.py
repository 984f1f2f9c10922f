"""The decode budget of uploads (app/uploads/images.py), without a database: what is refused from
the header alone, what a JPEG is decoded at, what is kept, and the peak memory of a real decode
measured in a fresh process. Bad inputs first."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

from app.core.config import load_settings
from app.core.errors import InvalidInputError
from app.uploads.errors import ImageTooLargeError, UnsupportedImageError
from app.uploads.images import MB, DecodeLimits, decode_cost, fit, reencode

ROOT = Path(__file__).resolve().parents[2]
LIMITS = DecodeLimits(max_pixels=24_000_000, max_decode_bytes=96 * MB, max_side=2000)


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _gradient(size: tuple[int, int]) -> Image.Image:
    """Smooth content: many megapixels in a JPEG of a few hundred KB, as phones write them."""
    return Image.linear_gradient("L").resize(size).convert("RGB")


def _png_header(width: int, height: int) -> bytes:
    """A small, valid-looking PNG that claims ``width`` × ``height`` (a bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


# --- refused ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height"), [(8000, 5000), (6000, 4001), (60_000, 500)], ids=["40mp", "24mp+", "strip"]
)
def test_a_png_over_max_pixels_is_refused_from_its_header(width: int, height: int) -> None:
    with pytest.raises(ImageTooLargeError) as caught:
        reencode(_png_header(width, height), "bomb.png", LIMITS)
    error = caught.value
    assert error.http_status == 413
    assert error.code == "image_too_large"
    # The limit named is this kind of PNG's (RGB, this shape): under max_pixels where the memory
    # budget binds first, never over it.
    limit = error.details["max_pixels"]
    assert error.details == {"file": "bomb.png", "width": width, "height": height, "max_pixels": limit}
    assert 10_000_000 < limit <= 24_000_000
    wan = f"{limit / 10_000:.0f}"
    assert error.message == f"照片尺寸太大（{width}×{height}），PNG 照片最多约 {wan} 万像素，请缩小后再上传"


@pytest.mark.parametrize(
    ("width", "height"), [(10_000, 10_000), (20_000, 10_000), (65_535, 65_535)], ids=["warn", "error", "max"]
)
def test_pillows_bomb_check_is_a_413_never_a_500(width: int, height: int) -> None:
    # Over Pillow's limit (4 × max_pixels: a warning, made an error) and over twice it (an error),
    # Pillow refuses inside Image.open, before our check: the same 413.
    with pytest.raises(ImageTooLargeError) as caught:
        reencode(_png_header(width, height), "bomb.png", LIMITS)
    assert caught.value.details["max_pixels"] == LIMITS.source_pixels
    assert LIMITS.source_pixels == Image.MAX_IMAGE_PIXELS  # Pillow's guard is ours


def test_a_png_within_max_pixels_but_over_the_memory_budget_is_refused_naming_its_own_limit() -> None:
    # 20 MP of RGB is under 24 MP, but decoding it (4 bytes a pixel) and scaling it down is not
    # under 96 MB; the message names the largest PNG of this kind that would be.
    data = _encode(Image.new("RGB", (5000, 4000), "white"), "PNG")
    with pytest.raises(ImageTooLargeError) as caught:
        reencode(data, "screen.png", LIMITS)
    limit = caught.value.details["max_pixels"]
    assert 10_000_000 < limit < 20_000_000
    assert f"最多约 {limit / 10_000:.0f} 万像素" in caught.value.message
    # Just within the named limit, the same kind of file passes: the message can be trusted.
    smaller = fit((5000, 4000), int(5000 * (0.99 * limit / 20_000_000) ** 0.5))
    assert reencode(_encode(Image.new("RGB", smaller, "white"), "PNG"), "ok.png", LIMITS).size == fit(smaller, 2000)


def test_a_webp_costs_four_times_a_png_and_is_refused_sooner() -> None:
    data = _encode(_gradient((3000, 2000)), "WEBP")  # 6 MP: 17 bytes a pixel in libwebp and Pillow
    with pytest.raises(ImageTooLargeError, match="WebP 照片最多约"):
        reencode(data, "a.webp", LIMITS)


def test_a_large_progressive_jpeg_is_refused_for_its_coefficients() -> None:
    # libjpeg keeps a progressive file's every DCT coefficient (2 bytes each, 1.5 per pixel at
    # 4:2:0) whatever size it decodes at: 24 MP is 72 MB before a single pixel.
    data = _encode(_gradient((6000, 4000)), "JPEG", progressive=True)
    with pytest.raises(ImageTooLargeError, match="JPEG 照片最多约"):
        reencode(data, "p.jpg", LIMITS)


def test_a_jpeg_over_four_times_max_pixels_is_refused_before_decoding() -> None:
    data = _encode(_gradient((400, 300)), "JPEG")
    small = DecodeLimits(max_pixels=1_000_000, max_decode_bytes=96 * MB, max_side=2000)
    reencode(data, "ok.jpg", small)  # 0.12 MP: fine
    big = _encode(_gradient((2400, 1800)), "JPEG")  # 4.3 MP > 4 × 1 MP
    with pytest.raises(ImageTooLargeError) as caught:
        reencode(big, "big.jpg", small)
    assert caught.value.details["max_pixels"] == 4_000_000


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_animated_images_are_refused_before_any_frame_is_decoded(fmt: str) -> None:
    frames = [Image.new("RGB", (64, 64), (i, 0, 255 - i)) for i in range(0, 250, 5)]
    data = _encode(frames[0], fmt, save_all=True, append_images=frames[1:])
    with pytest.raises(UnsupportedImageError) as caught:
        reencode(data, "sticker", LIMITS)
    assert caught.value.message == "不支持动图，请上传静态照片"
    assert caught.value.details["frames"] > 1


def test_truncated_files_are_invalid_input() -> None:
    whole = _encode(Image.frombytes("RGB", (300, 200), (bytes(range(256)) * 704)[: 300 * 200 * 3]), "PNG")
    with pytest.raises(InvalidInputError) as caught:
        reencode(whole[: len(whole) // 2], "cut.png", LIMITS)
    assert caught.value.code == "invalid_input"


def test_another_format_behind_a_photo_name_is_unsupported() -> None:
    with pytest.raises(UnsupportedImageError):
        reencode(_encode(Image.new("RGB", (10, 10)), "BMP"), "photo.jpg", LIMITS)


# --- accepted ---------------------------------------------------------------------------------


def test_a_12_megapixel_jpeg_is_decoded_at_half_size_and_stored_phone_sized() -> None:
    data = _encode(_gradient((4000, 3000)), "JPEG", quality=85)
    cleaned = reencode(data, "phone.jpg", LIMITS)
    assert cleaned.size == (2000, 1500)
    assert cleaned.content_type == "image/jpeg"
    with Image.open(io.BytesIO(cleaned.data)) as stored:
        assert stored.size == (2000, 1500)
        assert dict(stored.getexif()) == {}


def test_a_small_progressive_jpeg_is_accepted() -> None:
    data = _encode(_gradient((3000, 2000)), "JPEG", progressive=True)
    assert reencode(data, "p.jpg", LIMITS).size == (2000, 1333)


def test_a_multi_picture_jpeg_keeps_its_first_picture_as_a_jpeg() -> None:
    first, second = Image.new("RGB", (64, 48), "red"), Image.new("RGB", (64, 48), "blue")
    data = _encode(first, "MPO", save_all=True, append_images=[second])
    cleaned = reencode(data, "mpo.jpg", LIMITS)
    assert cleaned.content_type == "image/jpeg"
    with Image.open(io.BytesIO(cleaned.data)) as stored:
        assert stored.format == "JPEG"
        red = stored.convert("RGB").getpixel((32, 24))
        assert isinstance(red, tuple)
        assert red[0] > 200 > red[2]


@pytest.mark.parametrize(
    ("mode", "colour"), [("RGBA", (0, 128, 255, 100)), ("P", 7), ("L", 90), ("LA", (90, 40))], ids=str
)
def test_large_pngs_are_scaled_down_keeping_their_transparency(mode: str, colour: object) -> None:
    data = _encode(Image.new(mode, (3000, 1500), colour), "PNG")  # type: ignore[arg-type]
    cleaned = reencode(data, "big.png", LIMITS)
    assert cleaned.size == (2000, 1000)
    with Image.open(io.BytesIO(cleaned.data)) as stored:
        assert stored.has_transparency_data == (mode in {"RGBA", "LA"})


def test_a_small_webp_is_accepted_and_scaled_down() -> None:
    cleaned = reencode(_encode(_gradient((2400, 1200)), "WEBP"), "a.webp", LIMITS)
    assert (cleaned.content_type, cleaned.size) == ("image/webp", (2000, 1000))


def test_fit_scales_down_the_longest_side_only() -> None:
    assert fit((4000, 3000), 2000) == (2000, 1500)
    assert fit((3000, 4000), 2000) == (1500, 2000)
    assert fit((20_000, 10), 2000) == (2000, 1)
    assert fit((800, 600), 2000) == (800, 600)  # never up


def test_decode_cost_counts_what_each_step_holds() -> None:
    # A grey image needs no conversion: 1 byte a pixel, the resample pass and two stored copies.
    assert decode_cost("PNG", "L", (4000, 2000), (2000, 1000)) == 8_000_000 + 2000 * 2000 + 2 * 2_000_000
    # RGBA is premultiplied at full size before resampling: twice 4 bytes a pixel.
    rgba = decode_cost("PNG", "RGBA", (4000, 2000), (2000, 1000))
    assert rgba == 32_000_000 + 64_000_000 // 2 + 2000 * 2000 * 4 + 2 * 8_000_000
    # WebP's decoder holds canvases of its own; a JPEG draft-decoded to the target needs no pass.
    assert decode_cost("WEBP", "RGB", (1000, 1000), (1000, 1000)) == 17_000_000 + 8_000_000
    assert decode_cost("JPEG", "RGB", (2000, 1500), (2000, 1500), coefficients=5) == 12_000_000 + 5 + 24_000_000


# --- measured: peak memory of a real decode, each in a fresh process ----------------------------


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("photos")
    files = {
        "tiny": (Image.new("RGB", (16, 16), "red"), "PNG"),
        "flat-40mp": (Image.new("RGB", (8000, 5000), (200, 120, 40)), "PNG"),
        "phone-48mp": (_gradient((8000, 6000)), "JPEG"),
    }
    paths = {}
    for name, (image, fmt) in files.items():
        paths[name] = folder / f"{name}.{fmt.lower()}"
        image.save(paths[name], fmt)
    return paths


def _peak_mb(path: Path) -> tuple[float, str]:
    done = subprocess.run(  # noqa: S603 - the project's own benchmark, with our interpreter
        [sys.executable, str(ROOT / "bench" / "upload_memory.py"), "--child", str(path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    result = json.loads(done.stdout)
    return result["peak_mb"], result["outcome"]


def test_the_40mp_png_and_a_48mp_jpeg_stay_within_the_budget_in_a_fresh_process(photos: dict[str, Path]) -> None:
    budget_mb = load_settings(environ={}).uploads.max_decode_mb
    baseline, _ = _peak_mb(photos["tiny"])
    bomb_peak, bomb = _peak_mb(photos["flat-40mp"])
    phone_peak, phone = _peak_mb(photos["phone-48mp"])
    assert bomb == "413 image_too_large"
    assert bomb_peak - baseline < 10  # refused from the header: nothing decoded
    assert phone.startswith("stored 2000×1500")
    assert phone_peak - baseline < budget_mb  # decoded at 1/4: about 25 MB, not 190
