"""Operations that call a language model: plain, formatted, and with in-context examples.

``forward`` returns at once; the output's value is pending until the reply arrives (see
:mod:`wordgrad.executor`). The request is built from the inputs' values when they are ready; the
response carries it, so the backward pass shows the feedback writer exactly what was sent.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping, Sequence

from wordgrad import prompts
from wordgrad.autograd.feedback import feedback_jobs
from wordgrad.autograd.function import Function
from wordgrad.config import resolve_engine
from wordgrad.errors import ConfigurationError, InvalidInputError
from wordgrad.executor import EXECUTOR, derive, resolve
from wordgrad.graph import GradientJob, is_grad_enabled
from wordgrad.llm import Engine, ImagePart, Purpose, Request
from wordgrad.variable import Backward, Variable, pending


def call_llm(
    engine: Engine,
    *,
    build: Callable[[], Request],
    inputs: Sequence[Variable],
    role_description: str,
    purpose: Purpose,
    name: str,
    examples: Sequence[str] = (),
) -> Variable:
    """Send ``build()`` once ``inputs`` are ready; return the pending output variable.

    The output can receive feedback (as upstream, so an answer can itself be optimized) unless
    graph recording is off (``tg.no_grad()``). Its backward pass shows the feedback writer the
    request as it was sent, which the response carries.
    """
    future = EXECUTOR.submit(
        engine,
        lambda: _sharing_system_prompt(build().about(purpose, role_description)),
        after=[v._value_future() for v in inputs if v._is_pending()],
    )
    tracked = is_grad_enabled()
    output = pending(
        derive(future, lambda response: response.text),
        predecessors=inputs if tracked else None,
        requires_grad=tracked,
        role_description=role_description,
    )

    def jobs(out: Variable, _: Engine) -> list[GradientJob]:
        sent = resolve(future).request  # waits for the forward call; re-raises its error
        assert sent is not None
        return feedback_jobs(
            out,
            render_llm_conversation(sent, out),
            inputs,
            examples=examples,
            images=_images_in(sent),
        )

    if output.requires_grad:
        output.grad_fn = Backward(name, jobs)
    return output


def render_llm_conversation(request: Request, output: Variable) -> str:
    """The call as the feedback writer sees it: system prompt, input and output.

    Images in the input show as numbered placeholders; the images themselves travel with the
    feedback request.
    """
    content = request.messages[-1].content
    if isinstance(content, str):
        shown = content
    else:
        images = iter(range(1, len(content) + 1))
        shown = "\n".join(
            part
            if isinstance(part, str)
            else prompts.render("gradient.image_placeholder", index=next(images))
            for part in content
        )
    return prompts.render(
        "gradient.llm_call",
        system_prompt=request.system_prompt or "(none)",
        input=shown,
        output=output.text,
    )


def _images_in(request: Request) -> list[ImagePart]:
    content = request.messages[-1].content
    return [] if isinstance(content, str) else [p for p in content if isinstance(p, ImagePart)]


class LLMCall(Function):
    """Ask the engine with the input as the user message and an optional system prompt.

    Args:
        engine: an engine or its name; ``None`` uses the forward (else backward) default
            when called.
        system_prompt: a variable; trainable if it has ``requires_grad=True``.
    """

    purpose: Purpose = "forward"

    def __init__(
        self, engine: Engine | str | None = None, system_prompt: Variable | None = None
    ) -> None:
        self._engine = resolve_engine(engine, kind="forward") if engine is not None else None
        if system_prompt is not None and not isinstance(system_prompt, Variable):
            raise InvalidInputError(
                f"system_prompt must be a Variable, got {type(system_prompt).__name__}"
            )
        self.system_prompt = system_prompt

    @property
    def engine(self) -> Engine:
        """The engine this call uses (resolved now when none was given)."""
        return self._engine or resolve_engine(None, kind="forward")

    def _inputs(self, *variables: Variable) -> list[Variable]:
        _check_variables(variables)
        return [v for v in (self.system_prompt, *variables) if v is not None]

    def _system_text(self) -> str | None:
        return self.system_prompt.text if self.system_prompt is not None else None

    def forward(
        self, input_variable: Variable, response_role_description: str | None = None
    ) -> Variable:
        """The model's reply to ``input_variable`` (pending until it arrives)."""
        return self._send(
            lambda: _prompt_of(input_variable), [input_variable], response_role_description
        )

    def _send(
        self,
        prompt: Callable[[], str | list[str | bytes]],
        inputs: Sequence[Variable],
        response_role_description: str | None,
        examples: Sequence[str] = (),
    ) -> Variable:
        """Ask the engine with ``prompt()`` (built once ``inputs`` are ready) and this call's
        system prompt; feedback later flows to the system prompt and ``inputs``."""
        engine = self.engine
        check_images_allowed(engine, inputs)
        return call_llm(
            engine,
            build=lambda: Request.chat(prompt(), self._system_text() or _default_system(engine)),
            inputs=self._inputs(*inputs),
            role_description=response_role_description or prompts.render("role.llm_output"),
            purpose=self.purpose,
            name=type(self).__name__,
            examples=examples,
        )


class FormattedLLMCall(LLMCall):
    """An LLM call whose prompt is a format string filled with several named variables.

    ``format_string`` uses ``{name}`` fields; ``fields`` lists the names (a mapping's keys are
    used). ``forward(inputs)`` takes a dict with exactly those names. Feedback reaches every
    trainable input.
    """

    def __init__(
        self,
        engine: Engine | str | None,
        format_string: str,
        fields: Mapping[str, object] | Sequence[str],
        system_prompt: Variable | None = None,
    ) -> None:
        super().__init__(engine, system_prompt)
        self.format_string = format_string
        self.fields = list(fields)
        used = {name for _, name, _, _ in string.Formatter().parse(format_string) if name}
        if used != set(self.fields):
            raise InvalidInputError(
                f"the format string uses fields {sorted(used)} but fields={sorted(self.fields)}; "
                "they must be the same names"
            )

    def forward(  # type: ignore[override]
        self, inputs: Mapping[str, Variable], response_role_description: str | None = None
    ) -> Variable:
        """The model's reply to the format string filled with ``inputs``' values."""
        if set(inputs) != set(self.fields):
            raise InvalidInputError(
                f"inputs must have exactly the fields {sorted(self.fields)}, got {sorted(inputs)}"
            )
        for name, variable in inputs.items():
            if isinstance(variable, Variable) and _holds_image(variable):
                raise InvalidInputError(
                    f"field {name!r} holds an image, which a format string cannot carry; use "
                    "OrderedFieldsMultimodalLLMCall(engine, fields) for prompts with images"
                )

        def prompt() -> str:
            return self.format_string.format_map({k: v.text for k, v in inputs.items()})

        return self._send(
            prompt,
            [inputs[name] for name in self.fields],
            response_role_description,
        )


class LLMCall_with_in_context_examples(LLMCall):
    """An LLM call whose feedback writer is shown examples of good results to base feedback on."""

    def forward(
        self,
        input_variable: Variable,
        response_role_description: str | None = None,
        in_context_examples: Sequence[str] | None = None,
    ) -> Variable:
        """The model's reply; its feedback writer is shown ``in_context_examples``."""
        return self._send(
            lambda: _prompt_of(input_variable),
            [input_variable],
            response_role_description,
            examples=list(in_context_examples or []),
        )


def _default_system(engine: Engine) -> str | None:
    system: str | None = getattr(engine, "system_prompt", None)
    return system


def _prompt_of(variable: Variable) -> str | list[str | bytes]:
    """A variable's value as a prompt: text as it is, an image as a one-part list."""
    value = variable.value
    return value if isinstance(value, str) else [value]


def _holds_image(variable: Variable) -> bool:
    """Whether ``variable`` already holds image bytes (a pending or failed value is not read)."""
    if variable._is_pending():
        return False
    try:
        return isinstance(variable.value, bytes)
    except Exception:  # a failed value: its error surfaces where the value is used
        return False


def check_images_allowed(engine: Engine, inputs: Sequence[object]) -> None:
    """Raise :class:`ConfigurationError` when an input holds an image the engine cannot take.

    Whether an engine takes images is ``engine.capabilities.images`` (set from the model's name;
    override it when you know better).
    """
    images = [v for v in inputs if isinstance(v, Variable) and _holds_image(v)]
    if images and not engine.capabilities.images:
        raise ConfigurationError(
            f"{images[0].role_description!r} is an image but {engine.name} is not marked as "
            "taking images; use a multimodal model (e.g. 'gpt-4o'), or set engine.capabilities "
            "= dataclasses.replace(engine.capabilities, images=True) if it does take them"
        )


def _check_variables(variables: Sequence[object]) -> None:
    for variable in variables:
        if not isinstance(variable, Variable):
            raise InvalidInputError(
                f"expected a Variable, got {type(variable).__name__}; wrap text with "
                "tg.Variable(text, role_description=..., requires_grad=False)"
            )


def _sharing_system_prompt(request: Request) -> Request:
    """Calls with the same system prompt (a minibatch's answers) share it as a prompt prefix."""
    first = request.messages[0]
    return request.sharing(0) if first.role == "system" and first.text else request
