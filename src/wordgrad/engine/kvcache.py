"""Users' own key-value stores as the response cache, and checking what ``cache=`` was given.

Upstream users pass a ``diskcache.Cache`` as ``cache=`` (its experimental engines took one). Any
object with ``get(key)`` and ``set(key, value)`` (``diskcache.Cache``, a ``dict`` wrapper, a
Redis-like client) or with ``__getitem__``/``__setitem__`` (a plain ``dict``) works: responses are
stored under the same keys as in wordgrad's own SQLite cache (SHA-256 fingerprints of the whole
request), as small JSON strings.
"""

from __future__ import annotations

import json
import os
from collections.abc import MutableMapping
from typing import Any

from wordgrad.engine.cache import ResponseCache
from wordgrad.errors import ConfigurationError
from wordgrad.llm import Response, Usage

_PREFIX = "wordgrad:"


def is_key_value_store(value: object) -> bool:
    """Whether ``value`` can serve as a cache: ``get``/``set`` methods, or a mutable mapping."""
    return isinstance(value, MutableMapping) or (
        callable(getattr(value, "get", None)) and callable(getattr(value, "set", None))
    )


class KeyValueCache(ResponseCache):
    """A :class:`ResponseCache` kept in the user's own store ``store``.

    Entries live under keys ``"wordgrad:<fingerprint>"`` so they never collide with the user's
    own entries in the same store.
    """

    def __init__(self, store: Any) -> None:
        if not is_key_value_store(store):
            raise ConfigurationError(
                f"{type(store).__name__} cannot hold cached responses: it needs get(key) and "
                "set(key, value) (e.g. diskcache.Cache) or to be a dict"
            )
        super().__init__(path=os.devnull)
        self.store = store

    def get(self, key: str) -> Response | None:
        raw = self.store.get(_PREFIX + key)
        if not isinstance(raw, str):
            return None
        try:
            row = json.loads(raw)
            return Response(
                texts=tuple(str(t) for t in row["texts"]),
                usage=Usage(int(row["prompt_tokens"]), int(row["completion_tokens"]), True),
                model=str(row["model"]),
                cached=True,
            )
        except (ValueError, KeyError, TypeError):
            return None  # not one of ours, or damaged: a miss

    def put(self, key: str, response: Response) -> None:
        row = json.dumps(
            {
                "texts": list(response.texts),
                "model": response.model,
                "prompt_tokens": response.usage.prompt_tokens,
                "completion_tokens": response.usage.completion_tokens,
            },
            ensure_ascii=False,
        )
        if isinstance(self.store, MutableMapping):
            self.store[_PREFIX + key] = row
        else:
            self.store.set(_PREFIX + key, row)

    def _keys(self) -> list[str]:
        return [k for k in list(self.store) if isinstance(k, str) and k.startswith(_PREFIX)]

    def __len__(self) -> int:
        return len(self._keys())

    def clear(self) -> None:
        """Delete wordgrad's entries (the store's other entries are kept)."""
        for key in self._keys():
            del self.store[key]

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"KeyValueCache({self.store!r})"


def check_cache_setting(setting: object) -> None:
    """Raise :class:`ConfigurationError` unless ``setting`` is a valid ``cache=`` argument:
    None, True, False, a path, a :class:`ResponseCache` or a key-value store."""
    if setting is None or isinstance(setting, (bool, str, os.PathLike, ResponseCache)):
        return
    if is_key_value_store(setting):
        return
    raise ConfigurationError(
        f"cache= must be True, False, None (follow WORDGRAD_CACHE), a file path, a "
        f"wordgrad ResponseCache or your own store such as diskcache.Cache; got "
        f"{type(setting).__name__}"
    )
