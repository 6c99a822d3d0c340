"""A response cache in SQLite (standard library only).

Keyed by :meth:`wordgrad.llm.Request.fingerprint`: a SHA-256 of provider, model, every message and
every sampling parameter, so changing any of them misses. The database lives in the user cache
directory (``WORDGRAD_CACHE_DIR`` overrides it) and is created on first use, never on import.
``WORDGRAD_CACHE=0`` turns caching off for engines that were not given an explicit setting.

Safe under concurrent use: each thread has its own connection, SQLite's WAL mode serializes
writers across processes, and a busy database is waited for rather than failed on.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path

from wordgrad.llm import Response, Usage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    texts TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    created REAL NOT NULL DEFAULT (julianday('now'))
)
"""


def default_cache_dir() -> Path:
    """``WORDGRAD_CACHE_DIR`` if set, else the platform's user cache directory for wordgrad."""
    override = os.environ.get("WORDGRAD_CACHE_DIR")
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("wordgrad"))


def cache_enabled_by_default() -> bool:
    """False when ``WORDGRAD_CACHE`` is 0, false, no or off."""
    return os.environ.get("WORDGRAD_CACHE", "1").strip().lower() not in {"0", "false", "no", "off"}


class ResponseCache:
    """Maps request fingerprints to responses, in one SQLite file."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_dir() / "responses.sqlite3"
        self._local = threading.local()
        self._init_lock = threading.Lock()
        self._initialized = False

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            connection.execute("PRAGMA busy_timeout = 60000")
            with self._init_lock:
                if not self._initialized:
                    connection.execute("PRAGMA journal_mode = WAL")
                    connection.execute(_SCHEMA)
                    self._initialized = True
            self._local.connection = connection
        return connection

    def get(self, key: str) -> Response | None:
        """The stored response for ``key``, marked ``cached=True``, or None."""
        row = (
            self._connection()
            .execute(
                "SELECT texts, model, prompt_tokens, completion_tokens FROM responses WHERE key = ?",
                (key,),
            )
            .fetchone()
        )
        if row is None:
            return None
        texts, model, prompt_tokens, completion_tokens = row
        return Response(
            texts=tuple(json.loads(texts)),
            usage=Usage(prompt_tokens, completion_tokens),
            model=model,
            latency_s=0.0,
            cached=True,
        )

    def put(self, key: str, response: Response) -> None:
        """Store ``response`` under ``key`` (the last write wins)."""
        self._connection().execute(
            "INSERT OR REPLACE INTO responses "
            "(key, texts, model, prompt_tokens, completion_tokens) VALUES (?, ?, ?, ?, ?)",
            (
                key,
                json.dumps(list(response.texts), ensure_ascii=False),
                response.model,
                response.usage.prompt_tokens,
                response.usage.completion_tokens,
            ),
        )

    def __len__(self) -> int:
        return int(self._connection().execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def clear(self) -> None:
        """Delete every stored response."""
        self._connection().execute("DELETE FROM responses")

    def __repr__(self) -> str:
        return f"ResponseCache({str(self.path)!r})"


_default_cache: ResponseCache | None = None
_default_lock = threading.Lock()


def resolve_cache(setting: bool | ResponseCache | str | os.PathLike[str] | None) -> ResponseCache | None:
    """Turn an engine's ``cache=`` argument into a cache or None.

    ``None`` follows ``WORDGRAD_CACHE`` (on by default) and uses the shared default file; ``True``
    forces the default file; ``False`` disables; a path or a :class:`ResponseCache` is used as given.
    """
    global _default_cache
    if setting is False:
        return None
    if isinstance(setting, ResponseCache):
        return setting
    if isinstance(setting, (str, os.PathLike)):
        return ResponseCache(setting)
    if setting is None and not cache_enabled_by_default():
        return None
    with _default_lock:
        if _default_cache is None or _default_cache.path.parent != default_cache_dir():
            _default_cache = ResponseCache()
        return _default_cache
