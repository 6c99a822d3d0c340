"""Bad input gets a clear wordgrad error naming the problem and the fix, never a raw traceback
from deep inside or a silent guess."""

from __future__ import annotations

import numpy as np
import pytest

import wordgrad as tg
from wordgrad.errors import ConfigurationError, InvalidInputError, WordgradError
from wordgrad.images import InvalidImageError
from wordgrad.llm import Request


def test_a_lone_surrogate_in_a_users_text_is_named_with_its_position() -> None:
    broken = "caf\udce9 au lait"  # what errors="surrogateescape" makes of Latin-1 bytes
    with pytest.raises(InvalidInputError, match=r"lone surrogate .* at character 3"):
        tg.Variable(broken, role_description="question")
    engine = tg.ScriptedEngine(["ok"], cache=False)
    with pytest.raises(InvalidInputError, match="lone surrogate"):
        engine.generate(broken)
    with pytest.raises(InvalidInputError, match="lone surrogate"):
        engine.generate("fine", system_prompt=broken)
    assert engine.requests == []  # nothing was sent
    variable = tg.Variable("ok", role_description="prompt")
    with pytest.raises(InvalidInputError, match="lone surrogate"):
        variable.set_value("x\ud800")
    assert variable.value == "ok"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("opnai/gpt-4o", r"unknown provider 'opnai'.*did you mean 'openai'"),
        ("antropic/claude-3-5-sonnet", r"unknown provider 'antropic'.*did you mean 'anthropic'"),
        ("openai/", r"'openai/' names the provider 'openai' but no model"),
        ("ollama/ ", r"no model"),
        ("ollama-", r"'ollama-' has no model name"),
        ("groq-", r"no model name"),
        ("experimental:", r"no model name"),
        ("nonsense-model", r"unknown engine name"),
    ],
)
def test_engine_names_that_would_be_guessed_are_refused(name: str, expected: str) -> None:
    with pytest.raises(ConfigurationError, match=expected):
        tg.get_engine(name)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"temprature": 0.5}, r"\['temprature'\] \(did you mean 'temperature'\?\)"),
        ({"base_ur": "http://127.0.0.1:1/v1"}, r"\['base_ur'\] \(did you mean 'base_url'\?\)"),
        ({"max_token": 5}, r"did you mean 'max_tokens'"),
        ({"cache": ["on"]}, r"cache= must be .* got list"),
        ({"cache": 1.5}, r"got float"),
        ({"extra_body": "top_k=3"}, r"extra_body must be a dict"),
    ],
)
def test_get_engine_refuses_unknown_or_mistyped_arguments(
    kwargs: dict[str, object], expected: str
) -> None:
    with pytest.raises(ConfigurationError, match=expected):
        tg.get_engine("gpt-4o-mini", api_key="sk-test-not-used", **kwargs)


def test_request_fields_the_engine_does_not_know_go_through_extra_body() -> None:
    engine = tg.get_engine(
        "gpt-4o-mini", api_key="sk-test-not-used", temperature=0.3, extra_body={"top_k": 4}
    )
    assert engine.default_params == {"temperature": 0.3, "top_k": 4}
    with pytest.raises(ConfigurationError, match="got list"):
        tg.ScriptedEngine(cache=[1])


def test_a_users_diskcache_is_used_as_the_cache(tmp_path) -> None:  # type: ignore[no-untyped-def]
    diskcache = pytest.importorskip("diskcache")
    with diskcache.Cache(str(tmp_path / "dc")) as store:
        store.set("users-own-key", "kept")
        engine = tg.ScriptedEngine(lambda r: f"reply {len(engine.requests)}", cache=store)
        assert engine.generate("hello") == "reply 1"
        assert engine.generate("hello") == "reply 1"  # from the user's store
        assert len(engine.requests) == 1
        ours = [k for k in store.iterkeys() if str(k).startswith("wordgrad:")]
        assert len(ours) == 1
        assert store.get("users-own-key") == "kept"
        other = tg.ScriptedEngine(lambda r: "another engine", cache=store)
        assert other.generate("hello") == "reply 1"  # the same request, same provider and model
    plain: dict[str, str] = {}
    dict_engine = tg.ScriptedEngine(lambda r: "from the script", cache=plain)
    dict_engine.generate("x")
    dict_engine.generate("x")
    assert len(dict_engine.requests) == 1 and len(plain) == 1


def test_requires_grad_must_be_a_bool() -> None:
    for bad in ("no", "False", 0, None):
        with pytest.raises(InvalidInputError, match="requires_grad must be True or False"):
            tg.Variable("x", requires_grad=bad, role_description="r")  # type: ignore[arg-type]
    assert (
        tg.Variable("x", requires_grad=np.bool_(False), role_description="r").requires_grad is False
    )


def test_numpy_arrays_are_refused_and_numpy_scalars_become_text() -> None:
    with pytest.raises(InvalidInputError, match=r"numpy array of shape \(2,\)"):
        tg.Variable(np.array([1, 2]), role_description="r")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=r"numpy array of shape \(1,\)"):
        tg.Variable(np.array([7]), role_description="r")  # type: ignore[arg-type]
    assert tg.Variable(np.int64(42), role_description="r").value == "42"
    assert tg.Variable(np.str_("text"), role_description="r").value == "text"
    for bad in (None, ["a"], {"a": 1}):
        with pytest.raises(InvalidInputError, match="must be text"):
            tg.Variable(bad, role_description="r")  # type: ignore[arg-type]


def test_a_scripted_engines_script_must_return_text() -> None:
    with pytest.raises(InvalidInputError, match=r"returned int \(5\)"):
        tg.ScriptedEngine(lambda r: 5, cache=False).generate("x")  # type: ignore[arg-type,return-value]
    with pytest.raises(InvalidInputError, match="got NoneType"):
        tg.ScriptedEngine([None])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match="not a single string"):
        tg.ScriptedEngine("hello")


@pytest.mark.parametrize("bad", [12, 3.5, object(), ["gpt-4o"]])
def test_an_engine_argument_that_is_no_engine_is_named(bad: object) -> None:
    with pytest.raises(InvalidInputError, match=f"got {type(bad).__name__}"):
        tg.BlackboxLLM(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        tg.TextLoss("Judge.", engine=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        tg.set_backward_engine(bad, override=True)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        tg.TGD([tg.Variable("p", role_description="r")], engine=bad)  # type: ignore[arg-type]


def test_optimizer_arguments_that_would_be_misread() -> None:
    prompt = tg.Variable("p", role_description="prompt")
    model = tg.BlackboxLLM(tg.ScriptedEngine(), prompt)
    with pytest.raises(InvalidInputError, match=r"parameters\(\)"):
        tg.TGD(parameters=model.parameters)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="constraints must be a list"):
        tg.TGD([prompt], constraints="Be short.")
    with pytest.raises(InvalidInputError, match="in_context_examples must be a list"):
        tg.TGD([prompt], in_context_examples="Example")
    with pytest.raises(InvalidInputError, match="new_variable_tags must be a list"):
        tg.TGD([prompt], new_variable_tags="<X>")
    with pytest.raises(ValueError, match="gradient_memory"):
        tg.TGD([prompt], gradient_memory=True)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="predecessors must be a list"):
        tg.Variable("x", predecessors=prompt, role_description="r")  # type: ignore[arg-type]


def test_images_are_checked_by_their_bytes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests import imaging

    text_file = tmp_path / "notes.png"
    text_file.write_text("these are my notes, not a picture")
    with pytest.raises(InvalidImageError, match="looks like text"):
        tg.Variable(image_path=str(text_file), requires_grad=False, role_description="photo")
    corrupt = bytearray(imaging.png(8, 8))
    corrupt[40] ^= 0xFF  # one flipped byte inside the image data
    with pytest.raises(InvalidImageError, match=r"damaged PNG.*checksum"):
        tg.Variable(bytes(corrupt), requires_grad=False, role_description="photo")
    with pytest.raises(InvalidImageError, match="truncated"):
        tg.Variable(imaging.png()[:-12], requires_grad=False, role_description="photo")
    with pytest.raises(InvalidImageError, match="damaged JPEG"):
        tg.Variable(imaging.jpeg()[:-2], requires_grad=False, role_description="photo")
    with pytest.raises(InvalidImageError, match="not an image"):
        Request.chat(["look", b"%PDF-1.7 not an image"])
    assert isinstance(InvalidImageError("x"), WordgradError)
    ok = tg.Variable(imaging.jpeg(), requires_grad=False, role_description="photo")
    assert ok.value[:2] == b"\xff\xd8"


def test_an_llm_call_refuses_images_for_an_engine_that_does_not_take_them() -> None:
    from tests import imaging

    engine = tg.ScriptedEngine(["should not be reached"])
    image = tg.Variable(imaging.PNG, requires_grad=False, role_description="photo")
    with pytest.raises(ConfigurationError, match="'photo' is an image but scripted/scripted"):
        tg.autograd.LLMCall(engine)(image)
    with pytest.raises(ConfigurationError, match="not marked as taking images"):
        tg.autograd.MultimodalLLMCall(engine)([image])
    call = tg.autograd.FormattedLLMCall(engine, "Look: {picture}", ["picture"])
    with pytest.raises(InvalidInputError, match="OrderedFieldsMultimodalLLMCall"):
        call({"picture": image})
    assert engine.requests == []


def test_task_loaders_name_wrong_argument_types() -> None:
    with pytest.raises(TypeError, match="task_name must be a string"):
        tg.tasks.load_task(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="task_name must be a string"):
        tg.tasks.load_instance_task(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size must be a whole number"):
        tg.tasks.DataLoader([1, 2], batch_size="3")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="wrap an iterator"):
        tg.tasks.DataLoader(iter([1, 2]), batch_size=1)  # type: ignore[arg-type]
