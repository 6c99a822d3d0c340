"""Upstream's ``textgrad.engine.engine_utils``: image type helpers (see :mod:`wordgrad.images`)."""

from wordgrad.engine.compat import get_image_type_from_bytes, is_jpeg, is_png

__all__ = ["get_image_type_from_bytes", "is_jpeg", "is_png"]
