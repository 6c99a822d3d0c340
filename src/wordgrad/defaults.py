"""Upstream's ``textgrad.defaults``: the default role descriptions, in wordgrad's wording."""

from wordgrad.prompts import TEMPLATES

SYSTEM_PROMPT_DEFAULT_ROLE = TEMPLATES["role.system_prompt"]
VARIABLE_INPUT_DEFAULT_ROLE = TEMPLATES["role.llm_input"]
VARIABLE_OUTPUT_DEFAULT_ROLE = TEMPLATES["role.llm_output"]

__all__ = [
    "SYSTEM_PROMPT_DEFAULT_ROLE",
    "VARIABLE_INPUT_DEFAULT_ROLE",
    "VARIABLE_OUTPUT_DEFAULT_ROLE",
]
