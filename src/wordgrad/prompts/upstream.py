"""Upstream textgrad's prompt constants, by name, holding wordgrad's own wording.

Code written for upstream imports constants such as ``OPTIMIZER_SYSTEM_PROMPT`` or
``GRADIENT_TEMPLATE`` and fills them with ``str.format``. Each constant here is built from
:data:`wordgrad.prompts.TEMPLATES` (renamed placeholders, or a template cut at a tag) so that it
takes the same field names as upstream's: formatting with upstream's keyword arguments works,
and the text is ours. Upstream's module paths (``wordgrad.optimizer.optimizer_prompts`` ...)
re-export these.
"""

from __future__ import annotations

from wordgrad.prompts import TEMPLATES, render


def _renamed(name: str, **fields: str) -> str:
    """Template ``name`` with each placeholder ``{old}`` renamed to ``{new}``."""
    text = TEMPLATES[name]
    for old, new in fields.items():
        assert "{" + old + "}" in text, f"{name} has no field {old}"
        text = text.replace("{" + old + "}", "{" + new + "}")
    return text


def _cut(text: str, start: str | None = None, end: str | None = None) -> str:
    """The part of ``text`` from ``start`` (inclusive) up to ``end`` (exclusive)."""
    if start is not None:
        assert start in text, start
        text = text[text.index(start) :]
    if end is not None:
        assert end in text, end
        text = text[: text.index(end)]
    return text


_TAG_FIELDS = {"start_tag": "{new_variable_start_tag}", "end_tag": "{new_variable_end_tag}"}

# ---------------------------------------------------------------- backward (llm_backward_prompts)

BACKWARD_SYSTEM_PROMPT = TEMPLATES["gradient.system"]
GLOSSARY_TEXT_BACKWARD = "\n" + TEMPLATES["compat.gradient_glossary"]
CONVERSATION_TEMPLATE = _renamed("gradient.llm_call", input="prompt", output="response_value")

# A feedback request is the step shown first, then the objective, then the variable
# (``gradient.request``); upstream splits the same request into a conversation start and an
# objective instruction.
_opening = _cut(TEMPLATES["gradient.request"], end="{objective}")
CONVERSATION_START_INSTRUCTION_BASE = _opening
OBJECTIVE_INSTRUCTION_BASE = TEMPLATES["gradient.objective_is_output"].replace(
    " ({output_role})", ""
)
CONVERSATION_START_INSTRUCTION_CHAIN = _opening
OBJECTIVE_INSTRUCTION_CHAIN = _renamed(
    "gradient.output_criticized", output_role="response_desc", criticism="response_gradient"
)
EVALUATE_VARIABLE_INSTRUCTION = _renamed(
    "gradient.variable", role="variable_desc", value="variable_short"
)
IN_CONTEXT_EXAMPLE_PROMPT_ADDITION_BACKWARD = _renamed(
    "gradient.examples", examples="in_context_examples"
)
SEARCH_QUERY_BACKWARD_INSTRUCTION = TEMPLATES["compat.search_query"]
GRADIENT_OF_RESULTS_INSTRUCTION = TEMPLATES["compat.search_results_feedback"]

MULTIMODAL_CONVERSATION_TEMPLATE = (
    TEMPLATES["gradient.llm_call"]
    .replace("{input}", TEMPLATES["compat.multimodal_input"])
    .replace("{output}", "{response_value}")
)

# ---------------------------------------------------------------- string-based functions

CONVERSATION_TEMPLATE_STRING = _renamed(
    "gradient.function_call",
    purpose="function_purpose",
    inputs="inputs_string",
    output="response_value",
)

# ---------------------------------------------------------------- reduction (tg.aggregate)

REDUCE_MEAN_SYSTEM_PROMPT = TEMPLATES["reduce.system"]

# ---------------------------------------------------------------- optimizer (optimizer_prompts)

OPTIMIZER_SYSTEM_PROMPT = render(
    "optimizer.system", reply_format=render("optimizer.reply_in_tags", **_TAG_FIELDS)
)
"""Holds ``{new_variable_start_tag}`` and ``{new_variable_end_tag}``, filled in by TGD."""
GLOSSARY_TEXT = "\n" + TEMPLATES["compat.optimizer_glossary"]

_update = _renamed("optimizer.update", role="variable_desc", value="variable_short")
TGD_PROMPT_PREFIX = _cut(_update, end="{past_feedback}").replace("{feedback}", "{variable_grad}")
TGD_MULTIPART_PROMPT_INIT = _cut(_update, end="{feedback}")
TGD_MULTIPART_PROMPT_PREFIX = _cut(_update, start="{examples}", end="{reply_instruction}")[
    len("{examples}") :
]
TGD_PROMPT_SUFFIX = "\n" + render("optimizer.reply_in_tags", **_TAG_FIELDS)
MOMENTUM_PROMPT_ADDITION = _renamed("optimizer.earlier_versions", items="past_values")
CONSTRAINT_PROMPT_ADDITION = _renamed("optimizer.constraints", items="constraint_text")
IN_CONTEXT_EXAMPLE_PROMPT_ADDITION = _renamed("optimizer.examples", items="in_context_examples")

GRADIENT_TEMPLATE = _renamed(
    "optimizer.feedback_with_call", output_role="response_desc", call="context", text="feedback"
)
GRADIENT_MULTIPART_TEMPLATE = GRADIENT_TEMPLATE.replace("<CALL>\n{context}\n</CALL>\n", "")
assert "{context}" not in GRADIENT_MULTIPART_TEMPLATE

__all__ = [
    "BACKWARD_SYSTEM_PROMPT",
    "CONSTRAINT_PROMPT_ADDITION",
    "CONVERSATION_START_INSTRUCTION_BASE",
    "CONVERSATION_START_INSTRUCTION_CHAIN",
    "CONVERSATION_TEMPLATE",
    "CONVERSATION_TEMPLATE_STRING",
    "EVALUATE_VARIABLE_INSTRUCTION",
    "GLOSSARY_TEXT",
    "GLOSSARY_TEXT_BACKWARD",
    "GRADIENT_MULTIPART_TEMPLATE",
    "GRADIENT_OF_RESULTS_INSTRUCTION",
    "GRADIENT_TEMPLATE",
    "IN_CONTEXT_EXAMPLE_PROMPT_ADDITION",
    "IN_CONTEXT_EXAMPLE_PROMPT_ADDITION_BACKWARD",
    "MOMENTUM_PROMPT_ADDITION",
    "MULTIMODAL_CONVERSATION_TEMPLATE",
    "OBJECTIVE_INSTRUCTION_BASE",
    "OBJECTIVE_INSTRUCTION_CHAIN",
    "OPTIMIZER_SYSTEM_PROMPT",
    "REDUCE_MEAN_SYSTEM_PROMPT",
    "SEARCH_QUERY_BACKWARD_INSTRUCTION",
    "TGD_MULTIPART_PROMPT_INIT",
    "TGD_MULTIPART_PROMPT_PREFIX",
    "TGD_PROMPT_PREFIX",
    "TGD_PROMPT_SUFFIX",
]
