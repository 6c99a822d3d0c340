"""Calls with images: what is sent forward, and that feedback requests carry the images."""

from __future__ import annotations

import pytest

import wordgrad as tg
from tests import imaging
from wordgrad.autograd import MultimodalLLMCall, OrderedFieldsMultimodalLLMCall
from wordgrad.errors import ConfigurationError
from wordgrad.llm import Capabilities, ImagePart, Request
from wordgrad.loss import ImageQALoss
from wordgrad.variable import Variable

from .scripts import give_feedback, kind_of

PNG = imaging.png()


def vision_engine() -> tg.ScriptedEngine:
    def script(request: Request) -> str:
        return "feedback" if kind_of(request) == "gradient" else "a red square"

    return tg.ScriptedEngine(script, capabilities=Capabilities(images=True))


def test_images_and_text_go_out_in_order_and_come_back_with_feedback_requests() -> None:
    engine = vision_engine()
    image = Variable(PNG, requires_grad=False, role_description="photo")
    question = Variable("What is shown?", role_description="question about the photo")
    answer = MultimodalLLMCall(engine)([image, question])
    assert answer.value == "a red square"
    sent = engine.requests[0].messages[-1].content
    assert sent == (ImagePart(PNG, "image/png"), "What is shown?")

    give_feedback(answer, "too vague")
    answer.backward(engine)
    feedback_request = next(r for r in engine.requests if kind_of(r) == "gradient")
    content = feedback_request.messages[-1].content
    assert isinstance(content, tuple) and content[0] == ImagePart(PNG, "image/png")
    assert "[image 1, attached above]\nWhat is shown?" in content[-1]
    assert [g.value for g in question.gradients] == ["feedback"]


def test_ordered_fields_label_text_and_pass_images() -> None:
    engine = vision_engine()
    call = OrderedFieldsMultimodalLLMCall(engine, ["Image", "Question"])
    call(
        {
            "Question": Variable("Count the dots.", requires_grad=False, role_description="q"),
            "Image": Variable(PNG, requires_grad=False, role_description="picture"),
        }
    ).get_value()
    assert engine.requests[0].messages[-1].content == (
        ImagePart(PNG, "image/png"),
        "Question: Count the dots.",
    )


def test_an_engine_without_images_is_refused_with_the_fix() -> None:
    call = MultimodalLLMCall(tg.ScriptedEngine())
    with pytest.raises(ConfigurationError, match="capabilities"):
        call([Variable("text", role_description="t")])


def test_image_qa_loss_critiques_an_answer_about_an_image() -> None:
    engine = vision_engine()
    answer = Variable("a blue circle", role_description="answer about the image")
    loss = ImageQALoss("Is the answer right?", engine=engine)(
        Variable(PNG, requires_grad=False, role_description="image"), "What shape?", answer
    )
    loss.backward(engine)
    first = engine.requests[0].messages[-1].content
    assert first[0] == "Evaluation Instruction: Is the answer right?"
    assert first[2] == ImagePart(PNG, "image/png")
    assert first[3] == "Answer: a blue circle"
    assert [g.value for g in answer.gradients] == ["feedback"]
