"""Upload memory benchmark: the peak memory of decoding one photo, per file, in a fresh process.

What it measures: for each file (made here with Pillow), a child process imports the upload code,
reads the file, and runs what ``POST /api/v1/uploads`` runs on it (``app.uploads.images.reencode``
with the limits of config.toml). The child reports its peak resident size (``ru_maxrss``) and the
outcome (stored size, or the refusal). The figure to read is **extra MB**: the file's peak minus the
peak of a tiny PNG in the same run, i.e. what this file costs a worker above any upload at all.

``--unbounded`` adds a column with the code before the budget (open, ``load()``, EXIF transpose,
re-encode at full size), the path that took a worker to 414 MB on a 165 KB PNG.

The files:

* ``tiny.png``: 16×16, the baseline;
* ``flat-40mp.png``: 8000×5000 of one colour, about 165 KB: the probe's decompression bomb;
* ``phone-48mp.jpg``, ``phone-12mp.jpg``: 8000×6000 and 4000×3000 baseline JPEGs (what phones write);
* ``progressive-48mp.jpg``, ``progressive-12mp.jpg``: progressive JPEGs (libjpeg keeps every
  coefficient of the source, whatever size it decodes at);
* ``flat-24mp.png``, ``flat-12mp.png``, ``flat-7mp-rgba.png``: PNGs either side of the memory budget;
* ``webp-3.5mp.webp``, ``webp-8mp.webp``: WebP, which Pillow decodes through libwebp's animation
  decoder (about 17 bytes a pixel).

Usage: ``.venv/bin/python bench/upload_memory.py [--unbounded] [--keep DIR]``. Exit status 1 when
an accepted file's extra memory is over ``uploads.max_decode_mb`` plus the stored copy's room
(the budget is then not what it says), or when the 40 MP PNG is accepted at full size.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import PIL
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
#: Room above the decode budget for what comes after it: the stored copy (≤ max_side², 4 bytes a
#: pixel), the upload's bytes and the encoder's buffers.
STORED_ROOM_MB = 24
KIB = 1024


def _gradient(size: tuple[int, int]) -> Image.Image:
    """A smooth picture, so that a JPEG of many megapixels stays within 5 MB as a phone's does."""
    return Image.linear_gradient("L").resize(size).convert("RGB")


def _save(path: Path, image: Image.Image, fmt: str, **options: Any) -> None:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    path.write_bytes(out.getvalue())


def make_files(folder: Path) -> list[Path]:
    """The benchmark's inputs, written into ``folder``, baseline first."""
    specs: list[tuple[str, Any, str, dict[str, Any]]] = [
        ("tiny.png", lambda: Image.new("RGB", (16, 16), (200, 120, 40)), "PNG", {}),
        ("flat-40mp.png", lambda: Image.new("RGB", (8000, 5000), (200, 120, 40)), "PNG", {}),
        ("phone-48mp.jpg", lambda: _gradient((8000, 6000)), "JPEG", {"quality": 85}),
        ("phone-12mp.jpg", lambda: _gradient((4000, 3000)), "JPEG", {"quality": 85}),
        ("progressive-48mp.jpg", lambda: _gradient((8000, 6000)), "JPEG", {"quality": 85, "progressive": True}),
        ("progressive-12mp.jpg", lambda: _gradient((4000, 3000)), "JPEG", {"quality": 85, "progressive": True}),
        ("flat-24mp.png", lambda: Image.new("RGB", (6000, 4000), (10, 20, 30)), "PNG", {}),
        ("flat-12mp.png", lambda: Image.new("RGB", (4000, 3000), (10, 20, 30)), "PNG", {}),
        ("flat-7mp-rgba.png", lambda: Image.new("RGBA", (3055, 2290), (10, 20, 30, 128)), "PNG", {}),
        ("webp-3.5mp.webp", lambda: _gradient((2160, 1620)), "WEBP", {}),
        ("webp-8mp.webp", lambda: _gradient((3500, 2300)), "WEBP", {}),
    ]
    paths = []
    for name, build, fmt, options in specs:
        path = folder / name
        _save(path, build(), fmt, **options)
        paths.append(path)
    return paths


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / KIB  # KiB on Linux


def _unbounded(raw: bytes) -> str:
    """The pipeline before the budget: decode at full size, transpose (a copy), encode."""
    Image.MAX_IMAGE_PIXELS = None
    with Image.open(io.BytesIO(raw)) as opened:
        fmt = opened.format or "PNG"
        opened.load()
        image = ImageOps.exif_transpose(opened)
    if fmt == "JPEG" and image.mode != "RGB":
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, fmt)
    return f"stored {image.size[0]}×{image.size[1]}"


def child(path: Path, unbounded: bool) -> dict[str, Any]:
    """Run in a fresh interpreter: decode one file, report the peak."""
    sys.path.insert(0, str(ROOT))
    from app.core.config import load_settings
    from app.core.errors import LinliError
    from app.uploads.images import MB, DecodeLimits, reencode

    uploads = load_settings(environ={}).uploads
    limits = DecodeLimits(uploads.max_pixels, uploads.max_decode_mb * MB, uploads.max_side)
    raw = path.read_bytes()
    before = _peak_mb()
    try:
        if unbounded:
            outcome = _unbounded(raw)
        else:
            cleaned = reencode(raw, path.name, limits)
            outcome = f"stored {cleaned.size[0]}×{cleaned.size[1]}, {len(cleaned.data) // KIB} KB"
    except LinliError as exc:
        outcome = f"{exc.http_status} {exc.code}"
    return {"before_mb": before, "peak_mb": _peak_mb(), "outcome": outcome}


def _run_child(path: Path, unbounded: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", str(path)] + (["--unbounded"] if unbounded else [])
    done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=300)  # noqa: S603 - our own script
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unbounded", action="store_true", help="also measure the pipeline before the budget")
    parser.add_argument("--keep", type=Path, help="write the files into this folder and keep them")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--make", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.child, args.unbounded)))
        return 0
    if args.make is not None:
        print(json.dumps([str(path) for path in make_files(args.make)]))
        return 0

    sys.path.insert(0, str(ROOT))
    from app.core.config import load_settings

    uploads = load_settings(environ={}).uploads
    print(
        f"limits: max_pixels={uploads.max_pixels} max_decode_mb={uploads.max_decode_mb} "
        f"max_side={uploads.max_side}; Pillow {PIL.__version__}"
    )
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        # Made in a process of their own: a child's ru_maxrss starts at its parent's size at the
        # fork (Linux keeps the high-water mark across exec), so this process must stay small.
        made = subprocess.run(  # noqa: S603 - our own script
            [sys.executable, __file__, "--make", str(folder)], check=True, capture_output=True, text=True, timeout=600
        )
        files = [Path(name) for name in json.loads(made.stdout)]
        rows = []
        for path in files:
            bounded = _run_child(path, unbounded=False)
            old = _run_child(path, unbounded=True) if args.unbounded else None
            with Image.open(path) as image:
                size = image.size
            rows.append((path.name, path.stat().st_size, size, bounded, old))
    baseline = rows[0][3]["peak_mb"]
    old_baseline = rows[0][4]["peak_mb"] if rows[0][4] else 0.0
    header = f"{'file':22} {'bytes':>9} {'pixels':>11} {'peak MB':>8} {'extra MB':>9}  outcome"
    print(header + ("   | before the budget: extra MB, outcome" if args.unbounded else ""))
    failed = False
    for name, byte_size, size, bounded, old in rows:
        extra = bounded["peak_mb"] - baseline
        line = (
            f"{name:22} {byte_size:>9} {size[0]:>5}×{size[1]:<5} "
            f"{bounded['peak_mb']:>8.1f} {extra:>9.1f}  {bounded['outcome']}"
        )
        if old is not None:
            line += f"   | {old['peak_mb'] - old_baseline:>7.1f}  {old['outcome']}"
        print(line)
        accepted = bounded["outcome"].startswith("stored")
        if accepted and extra > uploads.max_decode_mb + STORED_ROOM_MB:
            print(f"  ^ over the budget of {uploads.max_decode_mb} MB + {STORED_ROOM_MB} MB", file=sys.stderr)
            failed = True
        if name == "flat-40mp.png" and accepted and extra > uploads.max_decode_mb:
            failed = True
    print(f"baseline (tiny.png) peak: {baseline:.1f} MB; extra = peak - baseline")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
