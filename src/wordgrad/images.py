"""Checking image bytes before they are sent: format from the magic bytes, then the structure.

A text file or a truncated download passed as an image would otherwise travel to a provider,
cost a call and come back as a confusing 400 (or, worse, a reply about an image the model never
saw). :func:`check_image` reads the bytes themselves and raises :class:`InvalidImageError`
naming the problem:

- **PNG** (ISO/IEC 15948): the signature, then every chunk's length and CRC-32, an ``IHDR``
  first, at least one ``IDAT``, an ``IEND`` last, and the image data must inflate (zlib).
- **JPEG** (ITU-T T.81): ``SOI``, a walk over the marker segments up to the first ``SOS``, and
  an ``EOI`` marker at the end.
- **GIF** (GIF87a/GIF89a): the header, the logical screen descriptor and the ``;`` trailer.
- **WebP** (RIFF container): the RIFF size matches the data and the first chunk is ``VP8``,
  ``VP8L`` or ``VP8X``.

Only the standard library is used (``zlib``); no pixel is decoded beyond inflating PNG data.
"""

from __future__ import annotations

import struct
import zlib

from wordgrad.errors import InvalidInputError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MIME_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
"""The formats wordgrad sends; every provider with image input takes these four."""


class InvalidImageError(InvalidInputError, ValueError):
    """Bytes given as an image are not a complete image in a format providers take."""


def image_type(data: bytes) -> str | None:
    """The MIME type the magic bytes of ``data`` announce, or None for none of the four."""
    if data.startswith(PNG_SIGNATURE):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_image(data: bytes, *, source: str = "the image") -> str:
    """The MIME type of ``data`` after checking it is a complete, uncorrupted image.

    Args:
        data: the bytes.
        source: how to name them in the message (a path, a role description).

    Raises:
        InvalidImageError: not bytes, empty, not one of PNG/JPEG/GIF/WebP, or damaged; the
            message names ``source`` and what is wrong.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise InvalidImageError(f"{source} must be bytes, got {type(data).__name__}")
    data = bytes(data)
    kind = image_type(data)
    if kind is None:
        hint = _looks_like(data)
        raise InvalidImageError(
            f"{source} is not an image: its bytes are not PNG, JPEG, GIF or WebP{hint}. "
            "Pass the bytes of an image file (e.g. Path('photo.png').read_bytes())"
        )
    problem = _CHECKS[kind](data)
    if problem is not None:
        raise InvalidImageError(
            f"{source} is a damaged {kind.split('/')[1].upper()} file ({problem}); "
            "re-export or re-download it"
        )
    return kind


def _looks_like(data: bytes) -> str:
    if not data:
        return " (it is empty)"
    head = data[:512]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    shown = text[:40].replace("\n", " ")
    return f" (it looks like text: {shown!r})"


def _check_png(data: bytes) -> str | None:
    position = len(PNG_SIGNATURE)
    seen: list[bytes] = []
    compressed = bytearray()
    while position < len(data):
        if position + 8 > len(data):
            return f"a chunk header is cut off at byte {position}"
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        end = position + 12 + length
        if end > len(data):
            return f"the {kind.decode('latin-1')!r} chunk is cut off"
        body = data[position + 8 : end - 4]
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            return f"the checksum of the {kind.decode('latin-1')!r} chunk is wrong"
        seen.append(kind)
        if kind == b"IDAT":
            compressed += body
        position = end
        if kind == b"IEND":
            break
    if not seen or seen[0] != b"IHDR":
        return "it does not start with an IHDR chunk"
    if b"IDAT" not in seen:
        return "it has no image data (IDAT)"
    if seen[-1] != b"IEND":
        return "it has no IEND chunk: the file is truncated"
    try:
        zlib.decompress(bytes(compressed))
    except zlib.error as error:
        return f"its image data does not inflate ({error})"
    return None


# Markers without a length field (ITU-T T.81, table B.1): TEM and RST0..RST7.
_STANDALONE = {0x01, *range(0xD0, 0xD8)}


def _check_jpeg(data: bytes) -> str | None:
    position = 2
    while True:
        if position + 4 > len(data):
            return "it ends before the image data (no SOS marker)"
        if data[position] != 0xFF:
            return f"expected a marker at byte {position}"
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in _STANDALONE:
            position += 2
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if length < 2 or position + 2 + length > len(data):
            return f"the segment at byte {position} is cut off"
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        position += 2 + length
    if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        return "it has no end-of-image marker: the file is truncated"
    return None


def _check_gif(data: bytes) -> str | None:
    if len(data) < 14:
        return "it is shorter than a GIF header"
    if not data.rstrip(b"\x00").endswith(b";"):
        return "it has no trailer: the file is truncated"
    return None


def _check_webp(data: bytes) -> str | None:
    (size,) = struct.unpack("<I", data[4:8])
    if size + 8 != len(data) and size + 9 != len(data):  # one pad byte is allowed
        return f"the RIFF header says {size + 8} bytes but there are {len(data)}"
    if data[12:16] not in (b"VP8 ", b"VP8L", b"VP8X"):
        return "its first chunk is not VP8, VP8L or VP8X"
    return None


_CHECKS = {
    "image/png": _check_png,
    "image/jpeg": _check_jpeg,
    "image/gif": _check_gif,
    "image/webp": _check_webp,
}

__all__ = ["MIME_TYPES", "InvalidImageError", "check_image", "image_type"]
