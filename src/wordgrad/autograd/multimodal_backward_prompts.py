"""Upstream's ``textgrad.autograd.multimodal_backward_prompts``: the name, our wording."""

from wordgrad.prompts.upstream import MULTIMODAL_CONVERSATION_TEMPLATE

__all__ = ["MULTIMODAL_CONVERSATION_TEMPLATE"]
