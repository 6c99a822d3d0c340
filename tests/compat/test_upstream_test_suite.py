"""Our own equivalents of the public behaviours upstream textgrad's test files check
(``tests/test_basics.py``, ``tests/test_api.py``), written for wordgrad."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import wordgrad as tg
from tests import imaging
from wordgrad import BlackboxLLM, TextualGradientDescent, Variable, sum
from wordgrad.autograd import FormattedLLMCall, LLMCall, MultimodalLLMCall
from wordgrad.config import SingletonBackwardEngine, reset_engines, set_backward_engine
from wordgrad.engine.base import EngineLM
from wordgrad.engine.cache import resolve_cache
from wordgrad.engine.openai import ChatOpenAI
from wordgrad.engine_experimental.litellm import LiteLLMEngine
from wordgrad.errors import ConfigurationError, InvalidInputError


class DummyEngine(EngineLM):
    """Always answers the same, written as upstream users write engines."""

    def generate(self, prompt, system_prompt=None, **kwargs):  # type: ignore[no-untyped-def]
        return "Hello World"


class IdempotentEngine(EngineLM):
    def generate(self, prompt, system_prompt=None, **kwargs):  # type: ignore[no-untyped-def]
        return prompt


class EchoTypesEngine(EngineLM):
    """Says whether it was sent text only or text with images."""

    def generate(self, content, system_prompt=None, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(content, str):
            return "Hello Text"
        return "Hello Text from Image" if any(isinstance(c, bytes) for c in content) else "?"


@pytest.fixture(autouse=True)
def _fresh_engines(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    reset_engines()
    yield
    reset_engines()


def test_variables_reach_the_optimizer_as_objects() -> None:
    v = Variable("Hello", role_description="A variable")
    g = Variable("grad", role_description="A gradient")
    optimizer = TextualGradientDescent(parameters=[v], engine=DummyEngine())
    optimizer.parameters[0].gradients.add(g)
    optimizer.parameters[0].set_value("World")
    assert optimizer.parameters[0].get_value() == "World"
    assert optimizer.parameters[0].get_gradient_text() == "grad"
    assert v.value == "World"


def test_the_openai_engine_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        ChatOpenAI()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-key-0000000000")
    assert ChatOpenAI().model_string


def test_set_backward_engine_and_the_singleton(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-key-0000000000")
    engine = ChatOpenAI()
    set_backward_engine(engine, override=False)
    assert SingletonBackwardEngine().get_engine() is engine
    new_engine = LiteLLMEngine(model_string="gpt-3.5-turbo-0613")
    set_backward_engine(new_engine, True)
    assert SingletonBackwardEngine().get_engine() is new_engine
    with pytest.raises(Exception, match="override=True"):
        set_backward_engine(engine, False)


def test_get_engine_by_upstream_names_and_cache_settings(tmp_path: Path) -> None:
    diskcache = pytest.importorskip("diskcache")
    engine = tg.get_engine("gpt-3.5-turbo-0613", api_key="sk-fake-key-0000000000")
    assert isinstance(engine, ChatOpenAI)
    for cache in (True, False, diskcache.Cache(str(tmp_path / "cache"))):
        assert isinstance(
            tg.get_engine("experimental:claude-3-opus-20240229", cache=cache), LiteLLMEngine
        )
    with pytest.raises(ValueError, match="unknown engine name"):
        tg.get_engine("invalid-engine")
    with pytest.raises(ValueError, match="got list"):
        tg.get_engine("experimental:claude-3-opus-20240229", cache=[1, 2, 3])
    # Upstream refused cache= for its non-experimental engines; every wordgrad engine takes it.
    no_cache = tg.get_engine("gpt-4o", api_key="sk-fake-key-0000000000", cache=False)
    assert no_cache.cache_setting is False
    assert resolve_cache(no_cache.cache_setting) is None


def test_main_components_import() -> None:
    from wordgrad import BlackboxLLM, EngineLM, TextualGradientDescent, Variable
    from wordgrad.engine.openai import ChatOpenAI

    assert all((Variable, TextualGradientDescent, EngineLM, ChatOpenAI, BlackboxLLM))


def test_a_forward_pass_through_a_users_engine() -> None:
    response = BlackboxLLM(engine=DummyEngine())(Variable("Hello", role_description="A variable"))
    assert response.value == "Hello World"


def test_variable_creation() -> None:
    text = Variable("Hello", role_description="A variable", requires_grad=True)
    assert (text.value, text.role_description, text.requires_grad) == ("Hello", "A variable", True)
    with pytest.raises(TypeError):
        Variable("Hello")  # type: ignore[call-arg]


def test_sum_joins_values_and_names_every_role() -> None:
    total = sum(
        variables=[
            Variable("Line1", role_description="role1"),
            Variable("Line2", role_description="role2"),
        ]
    )
    assert total.get_value() == "Line1\nLine2"
    assert "combination" in total.get_role_description()
    assert "role1" in total.get_role_description() and "role2" in total.get_role_description()


def test_llm_call_records_its_input() -> None:
    input_variable = Variable("Input", role_description="Input")
    output = LLMCall(DummyEngine())(input_variable)
    assert isinstance(output, Variable)
    assert output.get_value() == "Hello World"
    assert input_variable in output.predecessors


def test_formatted_llm_call_fills_the_format_string() -> None:
    call = FormattedLLMCall(
        engine=IdempotentEngine(),
        format_string="Question: {question}\nPrediction: {prediction}",
        fields={"prediction": None, "question": None},
    )
    inputs = {
        "question": Variable("q", role_description="Question"),
        "prediction": Variable("p", role_description="Prediction"),
    }
    output = call(inputs, response_role_description="test response")
    assert output.get_value() == "Question: q\nPrediction: p"
    assert inputs["question"] in output.predecessors and inputs["prediction"] in output.predecessors
    assert output.get_role_description() == "test response"


def test_multimodal_calls() -> None:
    from wordgrad.llm import Capabilities

    engine = EchoTypesEngine(model_string="gpt-4o", capabilities=Capabilities(images=True))
    image = Variable(
        imaging.jpeg(), role_description="image to answer a question about", requires_grad=False
    )
    question = Variable(
        "What do you see in this image?", role_description="question", requires_grad=False
    )
    assert MultimodalLLMCall(engine=engine)([image, question]).value == "Hello Text from Image"
    assert (
        LLMCall(engine=engine)(Variable("Hello", role_description="A variable")).value
        == "Hello Text"
    )
    with pytest.raises(InvalidInputError, match="expected a Variable, got list"):
        LLMCall(engine=engine)([question, image])  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="not marked as taking images"):
        MultimodalLLMCall(engine=DummyEngine())([image, question])


@pytest.fixture
def image_server(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "ant.jpg").write_bytes(imaging.jpeg(8, 8))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(tmp_path))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{server.server_address[1]}/ant.jpg"
        server.shutdown()


def test_an_image_from_a_url_equals_its_bytes(
    image_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wordgrad.utils.image_utils import download_and_cache_image, is_valid_url

    by_url = Variable(image_path=image_server, role_description="image", requires_grad=False)
    assert by_url.value == imaging.jpeg(8, 8)
    monkeypatch.setenv("WORDGRAD_CACHE_DIR", str(tmp_path / "cache"))
    assert is_valid_url(image_server) and not is_valid_url("ant.jpg")
    assert download_and_cache_image(image_server) == by_url.value
    (tmp_path / "ant.jpg").write_bytes(b"<html>moved</html>")
    assert download_and_cache_image(image_server) == by_url.value  # from the cache
    with pytest.raises(ValueError, match="not an image"):
        Variable(image_path=image_server, role_description="image", requires_grad=False)


def test_optimizing_code_against_a_formatted_critique() -> None:
    """Upstream's API test: a code variable, a formatted critique as the loss, one TGD step."""

    def script(request):  # type: ignore[no-untyped-def]
        if (request.system_prompt or "").startswith("You revise"):
            return "<IMPROVED_VARIABLE>def f(nums):\n    return len(set(nums))</IMPROVED_VARIABLE>"
        if (request.system_prompt or "").startswith("You are the feedback writer"):
            return "Count distinct values instead of adding one."
        return "The code returns one too many."

    engine = tg.ScriptedEngine(script)
    tg.set_backward_engine(engine, override=True)
    code = tg.Variable(
        "def f(nums):\n    return len(nums) + 1",
        requires_grad=True,
        role_description="code instance to optimize",
    )
    problem = tg.Variable(
        "Count distinct numbers.", requires_grad=False, role_description="the coding problem"
    )
    critic = tg.Variable(
        "You review code.",
        requires_grad=False,
        role_description="system prompt to the loss function",
    )
    call = tg.autograd.FormattedLLMCall(
        engine=engine,
        format_string="Does the code solve it?\nProblem: {problem}\nCurrent Code: {code}",
        fields={"problem": None, "code": None},
        system_prompt=critic,
    )
    optimizer = tg.TGD(parameters=[code])
    loss = call(
        inputs={"problem": problem, "code": code},
        response_role_description="evaluation of the code",
    )
    loss.backward()
    optimizer.step()
    namespace: dict[str, Any] = {}
    exec(code.value, namespace)
    assert namespace["f"]([3, 1, 3, 2]) == 3
