"""Every piece of text a language model sees, as named templates, and the one ``render`` function.

Templates are plain strings with ``{field}`` placeholders (``{{``/``}}`` for literal braces).
:func:`render` fills them and fails loudly on a missing or unexpected field, so a prompt can never
go out half-filled. Nothing else in wordgrad builds prompt text; snapshot tests pin every template,
so a change to what the LLM sees shows up as a diff in review.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping

from wordgrad.prompts.templates import TEMPLATES

__all__ = [
    "GRADIENT_TEMPLATE",
    "TEMPLATES",
    "block_holding",
    "refer_to_value",
    "render",
    "template_fields",
]

REFERENCE_MIN_CHARS = 80
"""A value at least this long is replaced by a reference wherever it appears inside a block;
shorter ones only when they fill a block (a short string may occur by chance)."""


def template_fields(name: str) -> tuple[str, ...]:
    """The placeholder names of template ``name``, in order of first appearance."""
    seen: dict[str, None] = {}
    for _, field_name, _, _ in string.Formatter().parse(_template(name)):
        if field_name:
            seen.setdefault(field_name, None)
    return tuple(seen)


def render(name: str, fields: Mapping[str, object] | None = None, /, **kwargs: object) -> str:
    """Fill template ``name`` with its fields (given as a mapping and/or keywords).

    Raises ``KeyError`` naming the template for a missing field, ``TypeError`` for an unknown one.
    """
    values = {**(fields or {}), **kwargs}
    expected = set(template_fields(name))
    missing = expected - values.keys()
    if missing:
        raise KeyError(f"template {name!r} needs fields {sorted(missing)}")
    unexpected = values.keys() - expected
    if unexpected:
        raise TypeError(f"template {name!r} has no fields {sorted(unexpected)}")
    return _template(name).format_map(values)


def _template(name: str) -> str:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise KeyError(f"no prompt template named {name!r}; known: {sorted(TEMPLATES)}") from None


_BLOCK = re.compile(r"<([A-Z_]+)>\n(.*?)\n</\1>", re.DOTALL)


def block_holding(text: str, value: str) -> str | None:
    """The tag of the first ``<TAG>`` block of ``text`` whose whole content is ``value``."""
    for match in _BLOCK.finditer(text):
        if match.group(2) == value:
            return match.group(1)
    return None


def refer_to_value(text: str, value: str, reference: str) -> str:
    """``text`` with ``value`` replaced by ``reference``: a block whose whole content is
    ``value``, and, for a value of at least :data:`REFERENCE_MIN_CHARS`, every occurrence.

    So a request that shows a variable once in full can show the calls it was used in without
    repeating it.
    """
    if not value:
        return text
    if len(value) >= REFERENCE_MIN_CHARS:
        return text.replace(value, reference)
    return _BLOCK.sub(
        lambda m: f"<{m.group(1)}>\n{reference}\n</{m.group(1)}>" if m.group(2) == value else m[0],
        text,
    )


def __getattr__(name: str) -> str:
    # Upstream's ``textgrad.prompts.GRADIENT_TEMPLATE``; built in prompts.upstream.
    if name == "GRADIENT_TEMPLATE":
        from wordgrad.prompts.upstream import GRADIENT_TEMPLATE

        return GRADIENT_TEMPLATE
    raise AttributeError(f"module 'wordgrad.prompts' has no attribute {name!r}")
