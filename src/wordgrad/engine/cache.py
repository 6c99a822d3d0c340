"""A response cache in SQLite (standard library only).

Keyed by :meth:`wordgrad.llm.Request.fingerprint`: a SHA-256 of the engine's namespace (provider
and server), the model, every message and every sampling parameter, so changing any of them
misses. The database lives in the user cache directory (``WORDGRAD_CACHE_DIR`` overrides it) and
is created on first use, never on import. ``WORDGRAD_CACHE=0`` turns caching off for engines that
were not given an explicit setting.

Safe under concurrent use: threads share one connection behind a lock, each process opens its own
(a forked child never reuses its parent's), WAL mode lets readers and a writer in different
processes work side by side, and a busy database is waited for rather than failed on. The cache
is an optimization, so a broken database file never fails a call: the failure is logged once and
the cache steps aside.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from pathlib import Path

from wordgrad.llm import Response, Usage

logger = logging.getLogger("wordgrad.engine")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    texts TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    estimated INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL DEFAULT (julianday('now'))
)
"""
_BUSY_TIMEOUT_S = 60.0


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
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._pid = -1
        self._broken = False

    def _connect(self) -> sqlite3.Connection:
        # Called with the lock held.
        if self._connection is None or self._pid != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(
                self.path,
                timeout=_BUSY_TIMEOUT_S,
                isolation_level=None,
                check_same_thread=False,
            )
            try:
                connection.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
                connection.execute("PRAGMA journal_mode = WAL")
                connection.execute(_SCHEMA)
            except BaseException:
                connection.close()
                raise
            self._connection, self._pid = connection, os.getpid()
        return self._connection

    def _run(self, sql: str, parameters: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Run one statement; on a database error, log it once and behave as an empty cache."""
        if self._broken:
            return []
        with self._lock:
            try:
                return self._connect().execute(sql, parameters).fetchall()
            except sqlite3.Error as error:
                self._broken = True
                logger.warning(
                    "the response cache at %s failed (%s); continuing without it. Delete the "
                    "file or set WORDGRAD_CACHE_DIR to start a new one",
                    self.path,
                    error,
                )
                return []

    def get(self, key: str) -> Response | None:
        """The stored response for ``key``, marked ``cached=True``, or None.

        A row of the wrong shape (texts that are not a JSON list of strings, counts that are not
        whole numbers: a file written by something else, or damaged) is a miss, with a warning
        on the ``wordgrad.engine`` logger; the next reply overwrites it.
        """
        rows = self._run(
            "SELECT texts, model, prompt_tokens, completion_tokens, estimated "
            "FROM responses WHERE key = ?",
            (key,),
        )
        if not rows:
            return None
        response = _response_from_row(rows[0])
        if response is None:
            logger.warning(
                "the response cache at %s holds a malformed row for key %s; ignoring it",
                self.path,
                key[:16],
            )
        return response

    def put(self, key: str, response: Response) -> None:
        """Store ``response`` under ``key`` (the last write wins)."""
        self._run(
            "INSERT OR REPLACE INTO responses "
            "(key, texts, model, prompt_tokens, completion_tokens, estimated) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                key,
                json.dumps(list(response.texts), ensure_ascii=False),
                response.model,
                response.usage.prompt_tokens,
                response.usage.completion_tokens,
                int(response.usage.estimated),
            ),
        )

    def __len__(self) -> int:
        rows = self._run("SELECT COUNT(*) FROM responses")
        return int(str(rows[0][0])) if rows else 0

    def clear(self) -> None:
        """Delete every stored response."""
        self._run("DELETE FROM responses")

    def close(self) -> None:
        """Close this process's connection (it is reopened on next use)."""
        with self._lock:
            if self._connection is not None and self._pid == os.getpid():
                self._connection.close()
            self._connection = None

    def __repr__(self) -> str:
        return f"ResponseCache({str(self.path)!r})"


def _response_from_row(row: tuple[object, ...]) -> Response | None:
    """The response a row holds, or None when the row is not of the shape ``put`` writes."""
    if len(row) != 5:
        return None
    texts_json, model, prompt_tokens, completion_tokens, estimated = row
    if not isinstance(texts_json, str) or not isinstance(model, str):
        return None
    try:
        texts = json.loads(texts_json)
    except ValueError:
        return None
    counts = (prompt_tokens, completion_tokens, estimated)
    if (
        not isinstance(texts, list)
        or not texts
        or not all(isinstance(text, str) for text in texts)
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts)
    ):
        return None
    return Response(
        texts=tuple(texts),
        usage=Usage(int(prompt_tokens), int(completion_tokens), bool(estimated)),  # type: ignore[call-overload]
        model=model,
        latency_s=0.0,
        cached=True,
    )


_default_cache: ResponseCache | None = None
_default_lock = threading.Lock()


def resolve_cache(
    setting: bool | ResponseCache | str | os.PathLike[str] | None,
) -> ResponseCache | None:
    """Turn an engine's ``cache=`` argument into a cache or None.

    ``None`` follows ``WORDGRAD_CACHE`` (on by default) and uses the shared default file;
    ``True`` forces the default file; ``False`` disables; a path or a :class:`ResponseCache` is
    used as given; any other store with ``get``/``set`` (e.g. ``diskcache.Cache``) or a ``dict``
    holds the responses itself (:class:`~wordgrad.engine.kvcache.KeyValueCache`).

    Raises:
        ConfigurationError: ``setting`` is none of these (e.g. a list).
    """
    global _default_cache
    from wordgrad.engine.kvcache import KeyValueCache, check_cache_setting

    check_cache_setting(setting)
    if setting is False:
        return None
    if isinstance(setting, ResponseCache):
        return setting
    if isinstance(setting, (str, os.PathLike)):
        return ResponseCache(setting)
    if setting is not None and setting is not True:
        return KeyValueCache(setting)  # the user's own store, e.g. a diskcache.Cache
    if setting is None and not cache_enabled_by_default():
        return None
    with _default_lock:
        if _default_cache is None or _default_cache.path.parent != default_cache_dir():
            if _default_cache is not None:
                _default_cache.close()
            _default_cache = ResponseCache()
        return _default_cache
