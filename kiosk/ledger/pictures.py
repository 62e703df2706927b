"""Gift pictures head office publishes with the catalogue: what a picture may be, and the kiosk's cache.

A picture crosses two boundaries (an operator's file into head office, head office's message into a
kiosk), so both ends check its bytes the same way: PNG or JPEG by content, never by file name, at most
``MAX_BYTES``, at most ``MAX_SIDE`` pixels a side. A PNG's chunks are walked with their CRCs and its
image data is inflated to exactly the size its header promises (a decompression bomb stops there);
a JPEG's markers are walked to its frame header and must end with EOI. The kiosk caches each SKU's
picture in ``gift-pictures-hq/`` beside its ledger under a versioned name (``<sku>.v<version>.png``),
written atomically, so the screen never reads half a file and a new version is a new path (no stale
texture in the UI's image cache).
"""
from __future__ import annotations

import base64
import binascii
import os
import re
import struct
import zlib
from pathlib import Path

MAX_BYTES = 256 * 1024
MAX_SIDE = 4096
CACHE = "gift-pictures-hq"
EXTENSIONS = {"png": ".png", "jpeg": ".jpg"}
SKU = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")      # also a topic level and a file name
_CACHED = re.compile(r"(?P<sku>.+)\.v(?P<version>[0-9]{1,18})\.(?:png|jpg)")
_PNG = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}           # colour type -> samples per pixel
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
_JPEG_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


class BadPicture(ValueError):
    """Not a picture a kiosk may show; the message says why."""


def check_sku(sku: str) -> str:
    if not isinstance(sku, str) or not SKU.fullmatch(sku):
        raise BadPicture(f"SKU {sku!r} must be 1-64 letters, digits, '.', '_' or '-' (not starting with '.')")
    return sku


def sniff(data: bytes) -> str:
    """``png`` or ``jpeg`` for a well-formed picture within the limits, else BadPicture with the reason."""
    if len(data) > MAX_BYTES:
        raise BadPicture(f"larger than the {MAX_BYTES} bytes (256 KiB) a picture may have")
    if data.startswith(_PNG):
        _check_side(*_png(data))
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        _check_side(*_jpeg(data))
        return "jpeg"
    raise BadPicture("not a PNG or JPEG picture (by its content)")


def _check_side(width: int, height: int) -> None:
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise BadPicture(f"{width}x{height} pixels: each side must be 1 to {MAX_SIDE}")


def _png(data: bytes) -> tuple[int, int]:
    pos, chunks = len(_PNG), []
    while pos < len(data):
        if pos + 12 > len(data):
            raise BadPicture("PNG: truncated chunk")
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length or pos + 12 + length > len(data):
            raise BadPicture("PNG: truncated chunk")
        if zlib.crc32(kind + body) != struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]:
            raise BadPicture(f"PNG: bad CRC in chunk {kind!r}")
        chunks.append((kind, body))
        pos += 12 + length
    if not chunks or chunks[0][0] != b"IHDR" or len(chunks[0][1]) != 13 or chunks[-1][0] != b"IEND":
        raise BadPicture("PNG: must start with IHDR and end with IEND")
    width, height, depth, colour, _compression, _filter, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    _check_side(width, height)
    if depth not in _PNG_DEPTHS.get(colour, ()) or interlace not in (0, 1):
        raise BadPicture(f"PNG: colour type {colour} with depth {depth} (interlace {interlace}) is not valid")
    expected = _png_raw_size(width, height, depth * _PNG_CHANNELS[colour], interlace)
    inflate = zlib.decompressobj()
    try:
        raw = inflate.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"), expected + 1)
    except zlib.error as exc:
        raise BadPicture(f"PNG: image data does not inflate: {exc}") from None
    if len(raw) != expected or not inflate.eof:
        raise BadPicture(f"PNG: image data inflates to {len(raw)}{'+' if len(raw) > expected else ''} bytes,"
                         f" not the {expected} its header says")
    return width, height


def _png_raw_size(width: int, height: int, bits: int, interlace: int) -> int:
    """Bytes of filtered scanlines (a filter byte per row) the header promises."""
    passes = _ADAM7 if interlace else ((0, 0, 1, 1),)
    total = 0
    for x0, y0, dx, dy in passes:
        cols, rows = (width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy
        if cols > 0 and rows > 0:
            total += rows * (1 + (cols * bits + 7) // 8)
    return total


def _jpeg(data: bytes) -> tuple[int, int]:
    if not data.endswith(b"\xff\xd9"):
        raise BadPicture("JPEG: does not end with EOI")
    pos, size = 2, None
    while True:
        if pos + 4 > len(data) or data[pos] != 0xFF:
            raise BadPicture("JPEG: broken marker structure")
        if data[pos + 1] == 0xFF:     # a fill byte before a marker
            pos += 1
            continue
        marker, length = data[pos + 1], struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if length < 2 or pos + 2 + length > len(data):
            raise BadPicture("JPEG: truncated segment")
        if marker in _JPEG_FRAMES:
            if length < 8:
                raise BadPicture("JPEG: truncated frame header")
            height, width = struct.unpack(">HH", data[pos + 5:pos + 9])
            size = (width, height)
        if marker == 0xDA:        # start of scan: entropy-coded data follows
            if size is None:
                raise BadPicture("JPEG: scan before a frame header")
            return size
        pos += 2 + length


def decode_base64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadPicture("picture data is not base64") from None


# -- the kiosk's cache -----------------------------------------------------------------------------
def cache_folder(ledger_path: str | Path) -> Path:
    return Path(ledger_path).parent / CACHE


def store(ledger_path: str | Path, sku: str, version: int, fmt: str, data: bytes) -> Path:
    """Check the picture and cache it as this SKU's ``version``, atomically; older versions go."""
    check_sku(sku)
    if sniff(data) != fmt:
        raise BadPicture(f"said to be {fmt} but its content is not")
    folder = cache_folder(ledger_path)
    folder.mkdir(exist_ok=True)
    path = folder / f"{sku}.v{version}{EXTENSIONS[fmt]}"
    temp = folder / f".{path.name}.tmp"
    with open(temp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    for old in folder.iterdir():
        match = _CACHED.fullmatch(old.name)
        if match and match["sku"] == sku and old != path:
            old.unlink(missing_ok=True)
    return path


def cached(ledger_path: str | Path) -> dict[str, str]:
    """{sku: path} of the newest cached picture of each SKU."""
    folder, best = cache_folder(ledger_path), {}
    if not folder.is_dir():
        return {}
    for path in folder.iterdir():
        match = _CACHED.fullmatch(path.name)
        if match and (match["sku"] not in best or int(match["version"]) > best[match["sku"]][0]):
            best[match["sku"]] = (int(match["version"]), str(path))
    return {sku: path for sku, (_version, path) in best.items()}
