"""What the image tasks share: reading Parquet rows, image bytes, the test-time objective.

Both data sets are published on Hugging Face as Parquet files, read here with ``pyarrow`` (the
``multimodal`` extra: ``pip install 'wordgrad[multimodal]'``). Images are stored in the files as
encoded bytes (``{"bytes": ..., "path": ...}``) and are checked with
:func:`wordgrad.images.check_image` before use. :func:`compress_image` re-encodes an image that
is too large for providers' limits, with Pillow.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wordgrad.engine.base import EngineLM
from wordgrad.errors import ConfigurationError, DataError
from wordgrad.images import check_image
from wordgrad.loss import ImageQALoss
from wordgrad.variable import Variable

MAX_IMAGE_BYTES = int(3.6 * 1024 * 1024)
"""Upstream's bound on an image sent to a provider (below Anthropic's 5 MB per image)."""


def read_parquet(path: Path) -> list[dict[str, Any]]:
    """The rows of a Parquet file as dicts.

    Raises:
        ConfigurationError: ``pyarrow`` is not installed (with the extra to install).
        DataError: the file is not a readable Parquet file.
    """
    try:
        import pyarrow.parquet as pq
    except ImportError as error:
        raise ConfigurationError(
            "the image tasks read Parquet files with pyarrow, which is not installed; run: "
            "pip install 'wordgrad[multimodal]'"
        ) from error
    try:
        rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    except Exception as error:  # pyarrow raises its own ArrowInvalid and OSError
        raise DataError(f"data file {path} is not a readable Parquet file ({error})") from error
    return rows


def image_bytes(cell: Any, path: Path) -> bytes | None:
    """The encoded image in a Parquet image cell (``{"bytes": ...}``), checked; None if empty."""
    if cell is None:
        return None
    data = cell.get("bytes") if isinstance(cell, dict) else cell
    if data is None:
        return None
    if not isinstance(data, bytes):
        raise DataError(f"an image in {path} is {type(data).__name__}, not encoded bytes")
    check_image(data, source=f"an image in {path}")
    return data


def compress_image(decoded_image: Any, max_size_bytes: int = MAX_IMAGE_BYTES) -> bytes:
    """``decoded_image`` (encoded bytes or a Pillow image) as at most ``max_size_bytes`` bytes.

    Bytes already small enough are returned unchanged; anything else is re-encoded as PNG and
    halved in size until it fits (Pillow's ``Image.resize`` with Lanczos filtering), falling
    back to JPEG at quality 85 for photographs that stay too large.

    Raises:
        ConfigurationError: Pillow is needed and not installed.
    """
    if isinstance(decoded_image, (bytes, bytearray)) and len(decoded_image) <= max_size_bytes:
        check_image(bytes(decoded_image))
        return bytes(decoded_image)
    try:
        from PIL import Image
    except ImportError as error:
        raise ConfigurationError(
            "resizing images needs Pillow; run: pip install 'wordgrad[multimodal]'"
        ) from error
    image = (
        Image.open(io.BytesIO(bytes(decoded_image)))
        if isinstance(decoded_image, (bytes, bytearray))
        else decoded_image
    )
    for _ in range(12):
        for fmt, options in (("PNG", {"optimize": True}), ("JPEG", {"quality": 85})):
            buffer = io.BytesIO()
            image.convert("RGB" if fmt == "JPEG" else image.mode).save(buffer, fmt, **options)
            if buffer.tell() <= max_size_bytes:
                return buffer.getvalue()
        width, height = image.size
        image = image.resize((max(1, width // 2), max(1, height // 2)), Image.Resampling.LANCZOS)
    raise DataError(f"could not bring an image under {max_size_bytes} bytes")


def image_objective(
    evaluation_api: EngineLM | str | None, instruction: str, query: str, image: bytes
) -> Callable[[Variable], Variable]:
    """The test-time objective of one image question: an :class:`ImageQALoss` on the answer."""
    loss = ImageQALoss(instruction, engine=evaluation_api)
    picture = Variable(image, requires_grad=False, role_description="image of the question")
    question = Variable(query, requires_grad=False, role_description="question about the image")

    def objective(instance: Variable) -> Variable:
        return loss.forward(picture, question, instance)

    return objective
