"""Every piece of text a language model sees, as named templates, and the one ``render`` function.

Templates are plain strings with ``{field}`` placeholders (``{{``/``}}`` for literal braces).
:func:`render` fills them and fails loudly on a missing or unexpected field, so a prompt can never
go out half-filled. Nothing else in wordgrad builds prompt text; snapshot tests pin every template,
so a change to what the LLM sees shows up as a diff in review.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from wordgrad.prompts.templates import TEMPLATES

__all__ = ["GRADIENT_TEMPLATE", "TEMPLATES", "render", "template_fields"]


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


def __getattr__(name: str) -> str:
    # Upstream's ``textgrad.prompts.GRADIENT_TEMPLATE``; built in prompts.upstream.
    if name == "GRADIENT_TEMPLATE":
        from wordgrad.prompts.upstream import GRADIENT_TEMPLATE

        return GRADIENT_TEMPLATE
    raise AttributeError(f"module 'wordgrad.prompts' has no attribute {name!r}")
