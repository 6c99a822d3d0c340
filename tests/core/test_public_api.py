"""The public namespace: every name in __all__ exists, and importing has no side effects."""

from __future__ import annotations

import json
import subprocess
import sys

import wordgrad as tg

UPSTREAM_NAMES = [
    "Variable",
    "TextLoss",
    "BlackboxLLM",
    "EngineLM",
    "get_engine",
    "TextualGradientDescent",
    "TGD",
    "set_backward_engine",
    "SingletonBackwardEngine",
    "sum",
    "aggregate",
    "singleton_backward_engine",
]


def test_all_names_exist_and_upstream_names_are_exported() -> None:
    for name in tg.__all__:
        assert hasattr(tg, name), name
    for name in UPSTREAM_NAMES:
        assert name in tg.__all__, name
    assert tg.TGD is tg.TextualGradientDescent


def test_upstream_module_paths_import() -> None:
    from wordgrad.autograd import FormattedLLMCall, LLMCall, Module, StringBasedFunction  # noqa: F401
    from wordgrad.config import SingletonBackwardEngine, set_backward_engine  # noqa: F401
    from wordgrad.engine import EngineLM, get_engine  # noqa: F401
    from wordgrad.loss import MultiFieldEvaluation, TextLoss  # noqa: F401
    from wordgrad.model import BlackboxLLM  # noqa: F401
    from wordgrad.optimizer import TextualGradientDescent, TextualGradientDescentwithMomentum  # noqa: F401
    from wordgrad.tasks import load_task
    from wordgrad.variable import Variable  # noqa: F401

    assert tg.tasks.load_task is load_task


def test_import_creates_nothing_and_loads_no_provider_sdk(tmp_path) -> None:  # type: ignore[no-untyped-def]
    code = (
        "import json, os, sys\n"
        "import wordgrad\n"
        "heavy = [m for m in ('openai', 'anthropic', 'litellm', 'llama_cpp', 'google.genai',"
        " 'graphviz', 'rich', 'typer') if m in sys.modules]\n"
        "print(json.dumps({'heavy': heavy, 'files': os.listdir('.')}))\n"
    )
    env = {"WORDGRAD_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    report = json.loads(out.stdout)
    assert report == {"heavy": [], "files": []}
    assert not (tmp_path / "cache").exists()
