"""Variable: construction rules, values, roles, gradients and the + operator."""

from __future__ import annotations

import pytest

import wordgrad as tg
from tests import imaging
from wordgrad.errors import GraphError, InvalidInputError
from wordgrad.variable import Variable

from .scripts import give_feedback


def test_role_description_is_required_and_keyword_only() -> None:
    with pytest.raises(TypeError):
        Variable("x")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Variable("x", "", None, True, "role")  # type: ignore[misc]


def test_numbers_become_text_and_other_types_are_rejected_with_a_fix() -> None:
    assert Variable(7, role_description="count").value == "7"
    assert Variable(0.5, role_description="ratio").value == "0.5"
    with pytest.raises(InvalidInputError, match="convert it with str"):
        Variable(["a"], role_description="list")  # type: ignore[arg-type]


def test_numpy_scalars_from_pandas_are_accepted() -> None:
    numpy = pytest.importorskip("numpy")
    assert Variable(numpy.int64(12), role_description="target").value == "12"
    assert Variable(numpy.float64(1.5), role_description="score").value == "1.5"


def test_frozen_variable_cannot_be_built_from_a_trainable_one() -> None:
    trainable = Variable("a", role_description="prompt")
    with pytest.raises(GraphError, match="requires_grad=False"):
        Variable("b", predecessors=[trainable], requires_grad=False, role_description="output")


def test_bytes_value_must_be_frozen_and_image_path_reads_a_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInputError, match="requires_grad=False"):
        Variable(imaging.PNG, role_description="image")
    image = tmp_path / "pixel.png"
    image.write_bytes(imaging.PNG)
    loaded = Variable(image_path=str(image), requires_grad=False, role_description="image")
    assert loaded.value == imaging.PNG
    with pytest.raises(InvalidInputError, match="not both"):
        Variable("text", image_path=str(image), role_description="image")


def test_predecessors_keep_their_order_without_repeats() -> None:
    a, b = Variable("a", role_description="a"), Variable("b", role_description="b")
    out = Variable("c", predecessors=[b, a, b], role_description="c")
    assert out.predecessors == [b, a]


def test_short_value_keeps_both_ends() -> None:
    words = " ".join(f"w{i}" for i in range(30))
    short = Variable(words, role_description="text").get_short_value(3)
    assert short == "w0 w1 w2 (...) w27 w28 w29"
    assert Variable("one two", role_description="t").get_short_value(3) == "one two"


def test_set_value_replaces_a_pending_value() -> None:
    engine = tg.ScriptedEngine(lambda request: "reply")
    out = tg.BlackboxLLM(engine)(Variable("q", requires_grad=False, role_description="question"))
    out.set_value("edited")
    assert out.value == "edited"


def test_addition_concatenates_and_sends_feedback_to_both_sides() -> None:
    left = Variable("Hello, ", role_description="greeting")
    right = Variable("world", role_description="name")
    joined = left + right
    assert joined.value == "Hello, world"
    assert joined.predecessors == [left, right]
    give_feedback(joined, "too short")
    joined.backward(tg.ScriptedEngine(lambda r: "unused"))
    for side in (left, right):
        assert len(side.gradients) == 1
        assert side.gradients[0].value == "too short"  # passed through exactly once
        context = side.gradients_context[side.gradients[0]]
        assert context is not None and "joined with other texts" in context["context"]
    with pytest.raises(InvalidInputError, match="only a Variable"):
        left + "text"  # type: ignore[operator]


def test_reset_gradients_clears_feedback_and_context() -> None:
    variable = Variable("x", role_description="x")
    give_feedback(variable, "g")
    variable.reset_gradients()
    assert variable.gradients == [] and variable.gradients_context == {}


def test_repr_does_not_wait_for_a_pending_value() -> None:
    import threading

    release = threading.Event()

    def slow(request):  # type: ignore[no-untyped-def]
        release.wait(5)
        return "done"

    out = tg.BlackboxLLM(tg.ScriptedEngine(slow))(
        Variable("q", requires_grad=False, role_description="question")
    )
    assert "<pending>" in repr(out)
    release.set()
    assert out.value == "done"


UPSTREAM_NAMES = {
    "value",
    "get_value",
    "set_value",
    "role_description",
    "get_role_description",
    "set_role_description",
    "get_short_value",
    "requires_grad",
    "predecessors",
    "grad_fn",
    "set_grad_fn",
    "get_grad_fn",
    "gradients",
    "gradients_context",
    "get_gradient_text",
    "reset_gradients",
    "backward",
    "generate_graph",
    "image_path",
}


def test_the_public_surface_is_upstreams_names_plus_a_few_of_ours() -> None:
    variable = Variable("x", role_description="x")
    public = {name for name in dir(variable) if not name.startswith("_")}
    assert public >= UPSTREAM_NAMES
    assert public - UPSTREAM_NAMES == {"text", "to_dot", "to_svg", "abackward"}


def test_one_record_per_gradient_backs_both_upstream_views() -> None:
    from wordgrad.variable import GradientContext

    variable = Variable("x", role_description="x")
    context = GradientContext(context="the call", response_desc="out", variable_desc="x")
    first = give_feedback(variable, "one", context)
    second = give_feedback(variable, "two")
    assert variable.gradients == [first, second]
    assert variable.gradients_context[first] == context
    assert variable.gradients_context[second] is None
    assert list(variable.gradients_context) == [first, second]
    variable.gradients = [second]  # upstream code assigns the collection
    assert variable.get_gradient_text() == "two" and len(variable.gradients_context) == 1
