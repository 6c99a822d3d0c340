"""Operations of the graph (layer 2): LLM calls, Python functions, sums."""

from wordgrad.autograd import functional
from wordgrad.autograd.algebra import aggregate, sum
from wordgrad.autograd.function import BackwardContext, Function, Module
from wordgrad.autograd.llm_ops import FormattedLLMCall, LLMCall, LLMCall_with_in_context_examples
from wordgrad.autograd.multimodal_ops import MultimodalLLMCall, OrderedFieldsMultimodalLLMCall
from wordgrad.autograd.string_based_ops import StringBasedFunction

__all__ = [
    "BackwardContext",
    "FormattedLLMCall",
    "Function",
    "LLMCall",
    "LLMCall_with_in_context_examples",
    "Module",
    "MultimodalLLMCall",
    "OrderedFieldsMultimodalLLMCall",
    "StringBasedFunction",
    "aggregate",
    "functional",
    "sum",
]
