"""Small helpers upstream textgrad's engine modules exposed, on top of wordgrad's own parts.

- :class:`CachedEngine`: the mixin users' own engines inherit for a string-to-string cache
  (``_check_cache``/``_save_cache``), kept in a :class:`~wordgrad.engine.cache.ResponseCache`.
- :func:`validate_multimodal_engine`: asks the engine's capabilities (not a list of names).
- :func:`is_jpeg`, :func:`is_png`, :func:`get_image_type_from_bytes` and
  :func:`open_ai_like_formatting`, on :mod:`wordgrad.images` (which checks the whole file, not
  only its first bytes).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from wordgrad.engine.cache import ResponseCache
from wordgrad.errors import ConfigurationError
from wordgrad.images import check_image, image_type
from wordgrad.llm import ImagePart, Response

if TYPE_CHECKING:
    from wordgrad.engine.base import EngineLM


class CachedEngine:
    """A string-to-string cache for users' own engines (``class Mine(EngineLM, CachedEngine)``).

    ``CachedEngine.__init__(self, cache_path)`` opens (and creates on first write) an SQLite
    file at ``cache_path``. Keys are SHA-256 digests of the prompt text. wordgrad's engines do not
    need it: every request an engine sends is already cached by the send pipeline.
    """

    def __init__(self, cache_path: str | os.PathLike[str]) -> None:
        self.cache_path = os.fspath(cache_path)
        self._prompt_cache: ResponseCache | None = ResponseCache(self.cache_path)

    def _hash_prompt(self, prompt: str) -> str:
        return hashlib.sha256(prompt.encode("utf-8", "surrogatepass")).hexdigest()

    def _store(self) -> ResponseCache:
        if getattr(self, "_prompt_cache", None) is None:
            self._prompt_cache = ResponseCache(self.cache_path)
        assert self._prompt_cache is not None
        return self._prompt_cache

    def _check_cache(self, prompt: str) -> str | None:
        """The reply cached for ``prompt``, or None."""
        hit = self._store().get(self._hash_prompt(prompt))
        return hit.text if hit is not None else None

    def _save_cache(self, prompt: str, response: str) -> None:
        """Remember ``response`` as the reply to ``prompt``."""
        self._store().put(self._hash_prompt(prompt), Response(texts=(response,)))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_prompt_cache"] = None  # a database connection does not pickle; reopened on use
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def validate_multimodal_engine(engine: EngineLM) -> None:
    """Raise :class:`ConfigurationError` (a ``ValueError``) unless ``engine`` takes images.

    Decided by ``engine.capabilities.images``, which comes from the model's name and can be
    overridden, so ``gpt-4o-mini`` or a local vision model work (upstream kept a fixed list).
    """
    if not engine.capabilities.images:
        raise ConfigurationError(
            f"{engine.name} is not marked as taking images; use a multimodal model (e.g. "
            "'gpt-4o'), or set engine.capabilities = dataclasses.replace(engine.capabilities, "
            "images=True) if it does take them"
        )


def is_jpeg(data: bytes) -> bool:
    """Whether ``data`` starts like a JPEG file."""
    return image_type(data) == "image/jpeg"


def is_png(data: bytes) -> bool:
    """Whether ``data`` starts like a PNG file."""
    return image_type(data) == "image/png"


def get_image_type_from_bytes(data: bytes) -> str:
    """``"png"``, ``"jpeg"``, ``"gif"`` or ``"webp"``, after checking the whole file.

    Raises:
        wordgrad.images.InvalidImageError: (a ``ValueError``) not a complete image.
    """
    return check_image(data).split("/")[1]


def open_ai_like_formatting(content: Sequence[str | bytes]) -> list[dict[str, Any]]:
    """Text and image bytes as Chat Completions content parts (images as ``data:`` URLs).

    Raises:
        ValueError: an item that is neither text nor image bytes.
    """
    from wordgrad.engine.openai_compat import data_url

    parts: list[dict[str, Any]] = []
    for item in content:
        if isinstance(item, bytes):
            parts.append({"type": "image_url", "image_url": {"url": data_url(ImagePart(item))}})
        elif isinstance(item, str):
            parts.append({"type": "text", "text": item})
        else:
            raise ConfigurationError(
                f"content items must be str or image bytes, got {type(item).__name__}"
            )
    return parts


__all__ = [
    "CachedEngine",
    "get_image_type_from_bytes",
    "is_jpeg",
    "is_png",
    "open_ai_like_formatting",
    "validate_multimodal_engine",
]
