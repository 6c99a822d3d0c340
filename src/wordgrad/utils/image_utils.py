"""Upstream's ``textgrad.utils.image_utils``: images given by URL, downloaded once and cached.

Downloads use the standard library (``urllib``) and are checked as images
(:func:`wordgrad.images.check_image`) before they are cached, so a login page or an error page
served instead of the picture is an error, not a cached "image".
"""

from __future__ import annotations

import hashlib
import os
import urllib.parse
import urllib.request
from pathlib import Path

from wordgrad.errors import InvalidInputError
from wordgrad.images import check_image

DOWNLOAD_TIMEOUT_S = 60.0


def is_valid_url(url: str) -> bool:
    """Whether ``url`` has a scheme and a host (``https://example.com/cat.png``)."""
    try:
        parsed = urllib.parse.urlparse(url)
    except ValueError:
        return False
    return bool(parsed.scheme and parsed.netloc)


def image_cache_dir() -> Path:
    """``<WORDGRAD_CACHE_DIR or the user cache directory>/images``."""
    override = os.environ.get("WORDGRAD_CACHE_DIR")
    if override:
        return Path(override) / "images"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("wordgrad")) / "images"


def download_and_cache_image(image_url: str) -> bytes:
    """The image at ``image_url``: from the cache if fetched before, else downloaded and cached.

    Raises:
        InvalidInputError: not a URL, the download failed, or the bytes are not an image.
    """
    if not is_valid_url(image_url):
        raise InvalidInputError(f"{image_url!r} is not a URL (it needs a scheme and a host)")
    folder = image_cache_dir()
    name = hashlib.sha256(image_url.encode("utf-8")).hexdigest()
    cached = folder / name
    if cached.is_file():
        return cached.read_bytes()
    try:
        with urllib.request.urlopen(image_url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            data: bytes = response.read()
    except OSError as error:
        raise InvalidInputError(f"downloading the image {image_url} failed: {error}") from error
    check_image(data, source=f"the download from {image_url}")
    folder.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".part")
    partial.write_bytes(data)
    os.replace(partial, cached)
    return data


__all__ = ["download_and_cache_image", "image_cache_dir", "is_valid_url"]
