"""Finding the new value in an optimizer reply, without ever guessing.

A reply is accepted only when it holds one complete new value; anything doubtful is rejected, so
the optimizer asks once more and otherwise keeps the old value. The rules, the same for replies
in tags and in JSON:

1. Reasoning sections (``<think>...</think>``, ``<thinking>``, ``<reasoning>``) are dropped
   first: a draft inside them is never the answer.
2. Tags are read as a structure, not by first occurrence: the reply is scanned for start and end
   tags, and each top-level pair is a *block*. A block whose text is only a connective (``and``,
   ``or``...) is a mention of the tags in prose ("between <T> and </T>"), not a value. Of the
   remaining blocks the **last** is the answer (drafts and mentions come first). A start tag left
   open after it means the reply was cut off: rejected.
3. A value holding the tags themselves (nested or stray tags) is rejected, unless the old value
   held them too: then the block runs from its start tag to its *matching* end tag, so the whole
   new text comes back, tags inside included.
4. A value wrapped in a triple-backtick fence that the old value did not have is unwrapped.
5. A value longer than :func:`max_value_chars` (the ``maxLength`` of JSON mode's schema) is
   rejected, as is an empty one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

JSON_FIELD = "improved_variable"

MIN_JSON_VALUE_CHARS = 1000
GROWTH_FACTOR = 3
"""A new value may be at most this many times as long as the old one (and at least
:data:`MIN_JSON_VALUE_CHARS` characters are always allowed)."""

_REASONING = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.S | re.I)
_FENCE = re.compile(r"\A```[A-Za-z0-9_+-]*[ \t]*\n(.*?)\n?```\Z", re.S)
_CONNECTIVES = frozenset({"", "and", "or", "&", "to", "...", "…", ",", "and then", "then", "-"})


def max_value_chars(current_value: str) -> int:
    """The longest new value accepted for a variable whose value is ``current_value``."""
    return max(MIN_JSON_VALUE_CHARS, GROWTH_FACTOR * len(current_value))


def json_schema(current_value: str) -> dict[str, Any]:
    """The shape of a JSON update: one string field, at most :func:`max_value_chars` long.

    The bound matters for engines that decode under the schema (llama.cpp): a small model would
    otherwise ramble inside the string until ``max_tokens`` and leave the JSON unclosed.
    """
    return {
        "type": "object",
        "properties": {JSON_FIELD: {"type": "string", "maxLength": max_value_chars(current_value)}},
        "required": [JSON_FIELD],
        "additionalProperties": False,
    }


@dataclass(frozen=True)
class ReplyFormat:
    """The tags that enclose the new value."""

    start_tag: str = "<IMPROVED_VARIABLE>"
    end_tag: str = "</IMPROVED_VARIABLE>"

    def __post_init__(self) -> None:
        if not self.start_tag or not self.end_tag or self.start_tag == self.end_tag:
            raise ValueError(
                f"new_variable_tags must be two different, non-empty tags, got "
                f"[{self.start_tag!r}, {self.end_tag!r}]"
            )
        if self.start_tag in self.end_tag or self.end_tag in self.start_tag:
            raise ValueError(
                f"new_variable_tags must not contain each other, got "
                f"[{self.start_tag!r}, {self.end_tag!r}]"
            )


@dataclass(frozen=True)
class ParsedUpdate:
    """The outcome of reading a reply: the new value, or None and why it was rejected."""

    value: str | None
    problem: str = ""


def parse_update(
    reply: str, reply_format: ReplyFormat | None = None, previous_value: str = ""
) -> ParsedUpdate:
    """Read the new value from ``reply`` by the rules in the module docs.

    Args:
        reply: the optimizer engine's reply.
        reply_format: the tags (default ``<IMPROVED_VARIABLE>``).
        previous_value: the variable's current value (decides whether tags may appear in the
            new value, whether a fence is part of it, and the length bound).
    """
    reply_format = reply_format or ReplyFormat()
    text = _REASONING.sub("", reply)
    from_json = _from_json(text)
    if from_json is not None:
        return _checked(from_json, reply_format, previous_value, nested_ok=False)
    found = _last_block(text, reply_format, _has_tags(previous_value, reply_format))
    if isinstance(found, ParsedUpdate):
        return found
    return _checked(found, reply_format, previous_value, nested_ok=True)


def extract_new_value(
    reply: str, reply_format: ReplyFormat | None = None, previous_value: str = ""
) -> str | None:
    """The new value in ``reply``, or None when the reply does not hold exactly one."""
    return parse_update(reply, reply_format, previous_value).value


def _has_tags(text: str, reply_format: ReplyFormat) -> bool:
    return reply_format.start_tag in text or reply_format.end_tag in text


def _last_block(text: str, fmt: ReplyFormat, tags_allowed: bool) -> str | ParsedUpdate:
    """The text of the last top-level block that is not a prose mention of the tags."""
    tokens = [
        (m.start(), m.group())
        for m in re.finditer(f"{re.escape(fmt.start_tag)}|{re.escape(fmt.end_tag)}", text)
    ]
    if not tokens:
        return ParsedUpdate(None, f"the reply has no {fmt.start_tag} ... {fmt.end_tag} block")
    blocks: list[tuple[str, bool]] = []  # (inner text, held nested tags)
    depth = 0
    opened_at = 0
    nested = False
    for position, tag in tokens:
        if tag == fmt.start_tag:
            if depth == 0:
                opened_at, nested = position + len(tag), False
            else:
                nested = True
            depth += 1
        elif depth > 0:
            depth -= 1
            if depth == 0:
                blocks.append((text[opened_at:position], nested))
            else:
                nested = True
        # an end tag with nothing open is a stray mention: ignored
    if depth > 0:
        return ParsedUpdate(None, f"a {fmt.start_tag} block is never closed (cut off?)")
    values = [(inner, nested) for inner, nested in blocks if not _is_mention(inner)]
    if not values:
        return ParsedUpdate(None, "the tags enclose no value")
    inner, nested = values[-1]
    if nested and not tags_allowed:
        return ParsedUpdate(None, f"the value holds the tags {fmt.start_tag}/{fmt.end_tag}")
    return inner


def _is_mention(inner: str) -> bool:
    return inner.strip().lower() in _CONNECTIVES


def _from_json(text: str) -> str | None:
    stripped = text.strip()
    fenced = _FENCE.match(stripped)
    if fenced:
        stripped = fenced.group(1).strip()
    candidates = [stripped] if stripped.startswith("{") else []
    marker = stripped.rfind('{"' + JSON_FIELD + '"')
    if marker > 0:
        candidates.append(stripped[marker:])
    for candidate in candidates:
        try:
            # raw newlines inside strings are common
            parsed, _ = json.JSONDecoder(strict=False).raw_decode(candidate)
        except json.JSONDecodeError:
            continue
        value = parsed.get(JSON_FIELD) if isinstance(parsed, dict) else None
        if isinstance(value, str):
            return value
    return None


def _checked(value: str, fmt: ReplyFormat, previous_value: str, *, nested_ok: bool) -> ParsedUpdate:
    value = value.strip()
    fenced = _FENCE.match(value)
    if fenced and not previous_value.lstrip().startswith("```"):
        value = fenced.group(1).strip()
    if not value:
        return ParsedUpdate(None, "the new value is empty")
    if _has_tags(value, fmt) and not _has_tags(previous_value, fmt) and not nested_ok:
        return ParsedUpdate(None, f"the value holds the tags {fmt.start_tag}/{fmt.end_tag}")
    limit = max_value_chars(previous_value)
    if len(value) > limit:
        return ParsedUpdate(
            None,
            f"the new value has {len(value)} characters, more than the {limit} allowed for a "
            f"value of {len(previous_value)}",
        )
    return ParsedUpdate(value)


__all__ = [
    "GROWTH_FACTOR",
    "JSON_FIELD",
    "MIN_JSON_VALUE_CHARS",
    "ParsedUpdate",
    "ReplyFormat",
    "extract_new_value",
    "json_schema",
    "max_value_chars",
    "parse_update",
]
