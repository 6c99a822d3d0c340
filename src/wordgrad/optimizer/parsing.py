"""Finding the new value in an optimizer reply, without ever guessing.

A reply is accepted only when it holds the whole new value: a JSON object with the expected
field, or text between the start tag and the end tag. Anything else (no tags, a start tag without
an end tag, an empty value) is rejected, so a parameter never receives a half-parsed value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

JSON_FIELD = "improved_variable"

MIN_JSON_VALUE_CHARS = 1000


def json_schema(current_value: str) -> dict[str, Any]:
    """The shape of a JSON update: one string field, at most a few times the current length.

    The bound matters for engines that decode under the schema (llama.cpp): a small model would
    otherwise ramble inside the string until ``max_tokens`` and leave the JSON unclosed.
    """
    limit = max(MIN_JSON_VALUE_CHARS, 3 * len(current_value))
    return {
        "type": "object",
        "properties": {JSON_FIELD: {"type": "string", "maxLength": limit}},
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


def extract_new_value(reply: str, reply_format: ReplyFormat) -> str | None:
    """The new value in ``reply``, or None when the reply does not hold one completely."""
    from_json = _from_json(reply)
    if from_json is not None:
        return from_json
    start = reply.find(reply_format.start_tag)
    if start < 0:
        return None
    content_start = start + len(reply_format.start_tag)
    end = reply.find(reply_format.end_tag, content_start)
    if end < 0:
        return None
    value = reply[content_start:end].strip()
    return value or None


def _from_json(reply: str) -> str | None:
    text = reply.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    if not text.startswith("{"):
        return None
    try:
        parsed = json.loads(text, strict=False)  # raw newlines inside strings are common
    except json.JSONDecodeError:
        return None
    value = parsed.get(JSON_FIELD) if isinstance(parsed, dict) else None
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None
