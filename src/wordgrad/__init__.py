"""wordgrad: automatic differentiation via text.

``import wordgrad as tg`` gives the upstream-compatible names (``Variable``, ``BlackboxLLM``,
``TextLoss``, ``TGD``, ``sum``, ``set_backward_engine``, ``get_engine`` ...) and wordgrad's own
(``track``, ``engine_context``, ``set_max_concurrency``, ``no_grad``, ``ScriptedEngine``).
Importing has no side effects: no files, no network, no provider SDKs.
"""

import logging

from wordgrad import autograd, config, engine, errors, llm, loss, model, optimizer, prompts
from wordgrad.autograd import BackwardContext, Module, StringBasedFunction, aggregate, sum
from wordgrad.batch import map
from wordgrad.config import (
    SingletonBackwardEngine,
    engine_context,
    get_backward_engine,
    get_forward_engine,
    get_max_concurrency,
    max_concurrency,
    set_backward_engine,
    set_forward_engine,
    set_max_concurrency,
    set_prefix_warming,
    singleton_backward_engine,
)
from wordgrad.engine import EngineLM, ScriptedEngine, get_engine, register_engine, track
from wordgrad.errors import UpdateParseError, WordgradError
from wordgrad.graph import no_grad
from wordgrad.loss import TextLoss
from wordgrad.model import BlackboxLLM
from wordgrad.optimizer import TGD, TextualGradientDescent
from wordgrad.variable import Variable

__version__ = "0.1.0"

logger = logging.getLogger("wordgrad")
"""The library's logger. wordgrad adds no handler and writes no files: configure logging in
your program (upstream wrote ``./logs/*.jsonl`` on import)."""

__all__ = [
    "TGD",
    "BackwardContext",
    "BlackboxLLM",
    "EngineLM",
    "Module",
    "ScriptedEngine",
    "SingletonBackwardEngine",
    "StringBasedFunction",
    "TextLoss",
    "TextualGradientDescent",
    "UpdateParseError",
    "Variable",
    "WordgradError",
    "__version__",
    "aggregate",
    "autograd",
    "config",
    "engine",
    "engine_context",
    "errors",
    "get_backward_engine",
    "get_engine",
    "get_forward_engine",
    "get_max_concurrency",
    "llm",
    "logger",
    "loss",
    "map",
    "max_concurrency",
    "model",
    "no_grad",
    "optimizer",
    "prompts",
    "register_engine",
    "set_backward_engine",
    "set_forward_engine",
    "set_max_concurrency",
    "set_prefix_warming",
    "singleton_backward_engine",
    "sum",
    "track",
]


_LAZY = ("tasks", "defaults", "engine_experimental", "utils")


def __getattr__(name: str) -> object:
    # These load on first use, as upstream users write `tg.tasks.load_task(...)`.
    if name in _LAZY:
        import importlib

        return importlib.import_module(f"wordgrad.{name}")
    raise AttributeError(f"module 'wordgrad' has no attribute {name!r}")
