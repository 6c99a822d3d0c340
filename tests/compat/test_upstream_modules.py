"""Every public module of upstream textgrad imports as ``wordgrad.<same path>``, with the same
public names, and the names are the right things."""

from __future__ import annotations

import importlib
import inspect
import pathlib
import string
import subprocess
import sys

import pytest

import wordgrad as tg
from tests.compat.upstream_modules import PROMPT_FIELDS, UPSTREAM_MODULES
from tests.core.scripts import give_feedback
from wordgrad.engine import CachedEngine

UPSTREAM_PHRASES = pathlib.Path(__file__).resolve().parents[3] / "shared/hooks/upstream-phrases.txt"


def test_the_list_covers_upstreams_50_modules() -> None:
    # upstream's package holds 50 Python files, in 0.1.8 and on its main branch alike
    assert len(UPSTREAM_MODULES) == 50
    assert sum(len(names) for names in UPSTREAM_MODULES.values()) == 175


@pytest.mark.parametrize("module_name", sorted(UPSTREAM_MODULES))
def test_every_upstream_module_and_name_exists(module_name: str) -> None:
    module = importlib.import_module(module_name)
    missing = [name for name in UPSTREAM_MODULES[module_name] if not hasattr(module, name)]
    assert missing == [], f"{module_name} lacks {missing}"
    # `from module import *` gives at least upstream's names where the module declares __all__
    exported = getattr(module, "__all__", None)
    if exported is not None and module_name != "wordgrad":
        assert set(UPSTREAM_MODULES[module_name]) <= set(exported), module_name


def test_deep_imports_from_real_code() -> None:
    from wordgrad.engine.local_model_openai_api import ChatExternalClient
    from wordgrad.engine.openai import ChatOpenAI
    from wordgrad.engine_experimental.litellm import LiteLLMEngine
    from wordgrad.optimizer.optimizer import TextualGradientDescent
    from wordgrad.tasks.base import Dataset
    from wordgrad.tasks.multimodal import load_multimodal_instance_task

    assert ChatOpenAI is tg.engine.OpenAICompatibleEngine
    assert LiteLLMEngine is tg.engine.LiteLLMEngine
    assert issubclass(ChatExternalClient, tg.engine.OpenAICompatibleEngine)
    assert TextualGradientDescent is tg.TGD
    assert Dataset is tg.tasks.Dataset
    assert callable(load_multimodal_instance_task)


def test_names_are_our_objects_not_copies() -> None:
    from wordgrad.autograd import algebra, functional, string_based_ops
    from wordgrad.engine import base, engine_utils, openai
    from wordgrad.engine_experimental import engine_utils as experimental_utils
    from wordgrad.engine_experimental import openai as experimental_openai
    from wordgrad.optimizer import optimizer
    from wordgrad.tasks import big_bench_hard, gpqa, instance, metrics, mmlu

    assert functional.sum is tg.sum and functional.aggregate is tg.aggregate
    assert base.EngineLM is tg.EngineLM
    assert openai.AzureChatOpenAI is tg.engine.AzureOpenAIEngine
    assert openai.BaseOpenAIEngine is tg.engine.OpenAICompatibleEngine
    assert openai.OLLAMA_BASE_URL == "http://localhost:11434/v1"
    assert experimental_openai.OpenAIEngine is tg.engine.OpenAICompatibleEngine
    assert experimental_openai.OpenAICompatibleEngine is tg.engine.ChatExternalClient
    assert engine_utils.is_png is experimental_utils.is_png
    assert optimizer.Optimizer is tg.optimizer.Optimizer
    assert string_based_ops.StringBasedFunction is tg.StringBasedFunction
    assert gpqa.GPQAInstanceDataset is instance.GPQAInstanceDataset
    assert mmlu.MMLUInstanceDataset is instance.MMLUInstanceDataset
    assert big_bench_hard.string_based_equality_fn is metrics.string_based_equality_fn
    assert issubclass(algebra.Sum, tg.autograd.Function)


def _prompt_constants() -> list[tuple[str, str, str]]:
    found = []
    for module_name, names in UPSTREAM_MODULES.items():
        module = importlib.import_module(module_name)
        for name in names:
            if name in PROMPT_FIELDS:
                found.append((module_name, name, getattr(module, name)))
    return found


def test_prompt_constants_take_upstreams_fields_and_hold_our_wording() -> None:
    constants = _prompt_constants()
    assert len(constants) >= 33
    phrases = (
        [
            line.strip().lower()
            for line in UPSTREAM_PHRASES.read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]
        if UPSTREAM_PHRASES.exists()
        else []
    )
    for module_name, name, text in constants:
        assert isinstance(text, str) and text.strip(), (module_name, name)
        fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
        assert fields <= PROMPT_FIELDS[name], (module_name, name, fields)
        for phrase in phrases:
            assert phrase not in text.lower(), (module_name, name, phrase)


def test_upstream_style_formatting_of_the_constants_works() -> None:
    from wordgrad.autograd.llm_backward_prompts import CONVERSATION_TEMPLATE
    from wordgrad.optimizer.optimizer_prompts import GRADIENT_TEMPLATE, OPTIMIZER_SYSTEM_PROMPT
    from wordgrad.tasks.mmlu import QUERY_TEMPLATE_MULTICHOICE

    text = CONVERSATION_TEMPLATE.format(system_prompt="S", prompt="P", response_value="R")
    assert "S" in text and "P" in text and "R" in text
    system = OPTIMIZER_SYSTEM_PROMPT.format(
        new_variable_start_tag="<NEW>", new_variable_end_tag="</NEW>"
    )
    assert "<NEW>" in system and "</NEW>" in system
    feedback = GRADIENT_TEMPLATE.format(
        context="the call", response_desc="answer", variable_desc="prompt", feedback="be brief"
    )
    assert "the call" in feedback and "be brief" in feedback
    question = QUERY_TEMPLATE_MULTICHOICE.format(Question="Q?", A="a1", B="b1", C="c1", D="d1")
    assert "Q?" in question and "D) d1" in question
    # TGD accepts the constant with placeholders, as upstream code passes it
    prompt = tg.Variable("p", role_description="prompt")
    optimizer = tg.TGD(
        [prompt],
        engine=tg.ScriptedEngine(),
        optimizer_system_prompt=OPTIMIZER_SYSTEM_PROMPT + " Be bold.",
    )
    assert "<IMPROVED_VARIABLE>" in optimizer.optimizer_system_prompt
    assert optimizer.optimizer_system_prompt.endswith("Be bold.")


def test_construct_tgd_prompt_fills_upstreams_keywords() -> None:
    from wordgrad.optimizer.optimizer_prompts import construct_tgd_prompt

    kwargs = dict(
        variable_desc="system prompt",
        variable_short="Answer.",
        variable_grad="be concrete",
        past_values="v1",
        constraint_text="1. Keep it short",
        in_context_examples="ex",
        new_variable_start_tag="<S>",
        new_variable_end_tag="</S>",
    )
    prompt = construct_tgd_prompt(True, True, True, **kwargs)
    assert isinstance(prompt, str)
    for value in (
        "system prompt",
        "Answer.",
        "be concrete",
        "v1",
        "Keep it short",
        "ex",
        "<S>",
        "</S>",
    ):
        assert value in prompt
    parts = construct_tgd_prompt(**{**kwargs, "variable_grad": ["a context", b"\x89PNG"]})
    assert isinstance(parts, list) and parts[1:3] == ["a context", b"\x89PNG"]
    assert "<S>" in parts[-1]


def test_importing_wordgrad_loads_no_provider_sdk_and_exposes_upstreams_submodules() -> None:
    code = (
        "import sys, wordgrad as tg\n"
        "heavy = [m for m in ('openai', 'anthropic', 'litellm', 'boto3', 'cohere', 'tiktoken', "
        "'pyarrow', 'PIL') if m in sys.modules]\n"
        "assert heavy == [], heavy\n"
        "for name in ('autograd', 'config', 'defaults', 'engine', 'engine_experimental', 'loss',"
        " 'model', 'optimizer', 'utils', 'variable', 'tasks'):\n"
        "    getattr(tg, name)\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.stdout.strip() == "ok", result.stderr


def test_experimental_engine_contract_runs_through_our_pipeline() -> None:
    from wordgrad.engine_experimental.base import EngineLM, cached

    class Mine(EngineLM):
        def __init__(self) -> None:
            super().__init__(model_string="mine", is_multimodal=True)

        @cached
        def _generate_from_single_prompt(self, prompt, system_prompt=None, **kwargs):  # type: ignore[no-untyped-def]
            return f"single:{prompt}|{system_prompt}|{kwargs.get('temperature')}"

        def _generate_from_multiple_input(self, content, system_prompt=None, **kwargs):  # type: ignore[no-untyped-def]
            return f"multi:{len(content)}:{type(content[1]).__name__}"

    from tests import imaging

    engine = Mine()
    assert engine.generate("hi", system_prompt="sys", temperature=0.5) == "single:hi|sys|0.5"
    assert engine.generate(["look", imaging.PNG]) == "multi:2:bytes"
    assert engine.capabilities.images


class CachingUserEngine(tg.EngineLM, CachedEngine):
    """A user's engine written for upstream: its own __init__, the CachedEngine mixin."""

    def __init__(self, path: str) -> None:
        CachedEngine.__init__(self, cache_path=path)
        self.calls = 0

    def generate(self, prompt, system_prompt=None, **kwargs):  # type: ignore[no-untyped-def]
        hit = self._check_cache(prompt)
        if hit is not None:
            return hit
        self.calls += 1
        reply = prompt.upper()
        self._save_cache(prompt, reply)
        return reply


def test_cached_engine_mixin_for_users_own_engines(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pickle

    Mine = CachingUserEngine
    engine = Mine(str(tmp_path / "mine.db"))
    assert engine._check_cache("never") is None
    assert engine.generate("abc") == "ABC" and engine.generate("abc") == "ABC"
    assert engine.calls == 1
    clone = pickle.loads(pickle.dumps(engine))
    assert clone._check_cache("abc") == "ABC"


def test_engine_utils_check_whole_images() -> None:
    from tests import imaging
    from wordgrad.engine.engine_utils import get_image_type_from_bytes, is_jpeg, is_png
    from wordgrad.engine_experimental.engine_utils import open_ai_like_formatting

    assert is_png(imaging.PNG) and not is_jpeg(imaging.PNG)
    assert get_image_type_from_bytes(imaging.jpeg()) == "jpeg"
    with pytest.raises(ValueError, match="not an image"):
        get_image_type_from_bytes(b"plain text")
    parts = open_ai_like_formatting(["hi", imaging.PNG])
    assert parts[0] == {"type": "text", "text": "hi"}
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")


def test_validate_multimodal_engine_follows_capabilities() -> None:
    import dataclasses

    from wordgrad.engine import validate_multimodal_engine

    engine = tg.ScriptedEngine()
    with pytest.raises(ValueError, match="not marked as taking images"):
        validate_multimodal_engine(engine)
    engine.capabilities = dataclasses.replace(engine.capabilities, images=True)
    validate_multimodal_engine(engine)


def test_guidance_names_say_what_to_use_instead() -> None:
    from wordgrad.engine.guidance import GuidanceEngine
    from wordgrad.errors import ConfigurationError
    from wordgrad.llm import Capabilities
    from wordgrad.optimizer.guidance_optimizer import GuidedTextualGradientDescent

    with pytest.raises(ConfigurationError, match=r"no guidance engine.*tg.get_engine\('local'\)"):
        GuidanceEngine("meta-llama/Meta-Llama-3-8B-Instruct")
    prompt = tg.Variable("Answer.", role_description="system prompt")
    with pytest.raises(ConfigurationError, match="structured_output is False"):
        GuidedTextualGradientDescent([prompt], engine=tg.ScriptedEngine())
    structured = tg.ScriptedEngine(
        ['{"improved_variable": "Answer briefly."}'],
        capabilities=Capabilities(structured_output=True),
    )
    give_feedback(prompt, "shorter")
    GuidedTextualGradientDescent([prompt], engine=structured).step()
    assert prompt.value == "Answer briefly."
    assert structured.requests[0].response_format is not None
    assert structured.requests[0].response_format.kind == "json_schema"


def test_provider_classes_under_upstream_names() -> None:
    from wordgrad.engine.groq import ChatGroq
    from wordgrad.engine.together import ChatTogether
    from wordgrad.engine.vllm import ChatVLLM
    from wordgrad.errors import ConfigurationError

    groq = ChatGroq("groq-llama3-70b-8192", api_key="gsk-test-000000000000")
    assert (groq.provider, groq.model_string) == ("groq", "llama3-70b-8192")
    assert "api.groq.com" in groq.base_url
    together = ChatTogether(api_key="tg-test")
    assert together.model_string == "meta-llama/Llama-3-70b-chat-hf"
    vllm = ChatVLLM("meta-llama/Meta-Llama-3-8B-Instruct")
    assert vllm.base_url.startswith("http://localhost:8000/v1")
    with pytest.raises(ConfigurationError, match="vllm serve"):
        ChatVLLM("m", tensor_parallel_size=2)
    assert inspect.signature(ChatGroq).parameters["model_string"].default == "llama3-70b-8192"
