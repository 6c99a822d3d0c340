"""Upstream's ``textgrad.engine_experimental.engine_utils``, on :mod:`wordgrad.engine.compat`."""

from wordgrad.engine.compat import (
    get_image_type_from_bytes,
    is_jpeg,
    is_png,
    open_ai_like_formatting,
)

__all__ = ["get_image_type_from_bytes", "is_jpeg", "is_png", "open_ai_like_formatting"]
