"""Finding, downloading, caching and reading benchmark files.

Every data file a task needs is a :class:`Source`: its path inside a *data folder* (the layout of
the offline copy, e.g. ``bbh/bbh/object_counting.json``) and the public URL it comes from.
:func:`fetch` looks for it, in order:

1. in ``data_dir`` when a loader is given one, else in ``$WORDGRAD_DATA`` when that is set;
2. in the download cache, ``<cache>/data`` (``<cache>`` is ``$WORDGRAD_CACHE_DIR`` or the
   platform's user cache directory for wordgrad);
3. by downloading it into that cache (unless ``$WORDGRAD_OFFLINE`` is set). The URL is the
   source's own, or ``$WORDGRAD_DATA_URL/<path>`` when that is set, so a mirror of the data folder
   (an internal server, a bucket) can stand in for the upstream hosts.

Downloads are pinned to the commits the offline copy was taken from, so a fresh download and the
shared folder hold the same bytes. When nothing is found, :class:`~wordgrad.errors.DataError` lists
every place that was tried. The readers below turn unreadable or malformed files into a
``DataError`` naming the file, instead of a bare ``JSONDecodeError`` from deep inside a loader.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from wordgrad.engine.cache import default_cache_dir
from wordgrad.errors import DataError

DATA_ENV = "WORDGRAD_DATA"
MIRROR_ENV = "WORDGRAD_DATA_URL"
OFFLINE_ENV = "WORDGRAD_OFFLINE"
DOWNLOAD_TIMEOUT_S = 60.0

Opener = Callable[..., IO[bytes]]
"""Called like ``urllib.request.urlopen(url, timeout=...)``; returns a readable response."""


@dataclass(frozen=True)
class Source:
    """One data file: where it sits in a data folder and where it can be downloaded from.

    ``compress`` gzips the downloaded bytes before caching them; GPQA uses it because its authors
    ask that the questions are never stored as plain text.
    """

    path: str
    url: str
    compress: bool = False


def _data_dirs(data_dir: str | os.PathLike[str] | None) -> list[Path]:
    """The local folders to search: the explicit one, else ``$WORDGRAD_DATA``, then the cache."""
    folders = []
    explicit = data_dir if data_dir is not None else os.environ.get(DATA_ENV) or None
    if explicit is not None:
        folders.append(Path(explicit).expanduser())
    folders.append(cache_dir())
    return folders


def cache_dir() -> Path:
    """Where downloaded data files are kept: ``<wordgrad cache>/data``."""
    return default_cache_dir() / "data"


def _offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in {"", "0", "false", "no", "off"}


def download_url(source: Source) -> str:
    """The URL :func:`fetch` downloads ``source`` from (the mirror's when one is set)."""
    mirror = os.environ.get(MIRROR_ENV)
    if mirror:
        return mirror.rstrip("/") + "/" + source.path
    return source.url


def fetch(
    source: Source,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    opener: Opener | None = None,
) -> Path:
    """Return a local path holding ``source``, downloading it into the cache when needed.

    Args:
        source: the file wanted.
        data_dir: a data folder to read first (overrides ``$WORDGRAD_DATA``).
        opener: replaces ``urllib.request.urlopen`` (tests pass a fake one).

    Raises:
        DataError: the file is in none of the folders and could not be downloaded; the message
            names every path and the URL that were tried.
    """
    folders = _data_dirs(data_dir)
    candidates = [folder / source.path for folder in folders]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    if _offline():
        raise DataError(
            f"data file {source.path!r} not found (looked in {looked}); downloads are off because "
            f"{OFFLINE_ENV} is set. Point {DATA_ENV} or data_dir= at a folder holding it."
        )
    url = download_url(source)
    target = candidates[-1]
    try:
        payload = _download(url, opener or urllib.request.urlopen)
    except (OSError, ValueError) as error:  # URLError and HTTPError are OSErrors
        if isinstance(error, urllib.error.HTTPError):
            error.close()  # an HTTPError holds the open response
        raise DataError(
            f"data file {source.path!r} not found (looked in {looked}) and downloading it from "
            f"{url} failed: {error}. Point {DATA_ENV} or data_dir= at a folder holding it, or "
            f"check the network."
        ) from error
    if source.compress and not payload.startswith(b"\x1f\x8b"):
        payload = gzip.compress(payload, mtime=0)
    _write_atomically(target, payload)
    return target


def _download(url: str, opener: Opener) -> bytes:
    with opener(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
        payload: bytes = response.read()
    return payload


def _write_atomically(target: Path, payload: bytes) -> None:
    """Write via a temporary file and a rename, so an interrupted download leaves no half file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(payload)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_text(path: Path) -> str:
    """The file's text as UTF-8, gunzipping ``*.gz`` files; ``DataError`` when it is unreadable."""
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
        return raw.decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise DataError(
            f"cannot read data file {path}: {error}. Delete it to fetch it again."
        ) from error


def read_json(path: Path) -> Any:
    """Parse a JSON file; ``DataError`` naming the file when it is not valid JSON."""
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as error:
        raise DataError(
            f"data file {path} is not valid JSON ({error}); delete or replace it."
        ) from error


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Parse a JSON Lines file of objects; ``DataError`` naming the file and line on bad lines."""
    records = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(
                f"data file {path} line {number} is not valid JSON ({error}); delete or replace it."
            ) from error
        if not isinstance(record, dict):
            raise DataError(f"data file {path} line {number} is not a JSON object.")
        records.append(record)
    return records


def read_csv(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    """Read a CSV with a header row; ``DataError`` unless every ``required`` column is present."""
    try:
        rows = list(csv.DictReader(io.StringIO(read_text(path), newline="")))
    except csv.Error as error:
        raise DataError(f"data file {path} is not valid CSV ({error}).") from error
    if not rows:
        raise DataError(f"data file {path} holds no rows.")
    missing = [column for column in required if column not in rows[0]]
    if missing:
        raise DataError(f"data file {path} lacks the columns {missing}; is it the right file?")
    return rows


def field(record: dict[str, Any], key: str, path: Path) -> Any:
    """``record[key]``, or a ``DataError`` naming the file when the field is missing."""
    try:
        return record[key]
    except KeyError:
        raise DataError(f"a record in data file {path} has no field {key!r}.") from None


__all__ = [
    "DATA_ENV",
    "MIRROR_ENV",
    "OFFLINE_ENV",
    "Source",
    "cache_dir",
    "download_url",
    "fetch",
    "field",
    "read_csv",
    "read_json",
    "read_jsonl",
    "read_text",
]
