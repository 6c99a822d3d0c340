"""Textual Gradient Descent: an LLM rewrites each parameter from the feedback it received."""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

from wordgrad import prompts
from wordgrad.config import resolve_engine
from wordgrad.errors import InvalidInputError, LeakWarning, NoGradientWarning, UpdateParseError
from wordgrad.executor import EXECUTOR
from wordgrad.llm import Engine, Message, Request, Response, ResponseFormat
from wordgrad.optimizer.base import Optimizer
from wordgrad.optimizer.leaks import copied_inputs, copied_instructions, leaked_tags
from wordgrad.optimizer.parsing import JSON_FIELD, ReplyFormat, json_schema, parse_update
from wordgrad.variable import Variable

OnParseError = Literal["raise", "record"]


class TextualGradientDescent(Optimizer):
    """Rewrites each parameter with an LLM, from its feedback, constraints and history.

    Args:
        parameters: the variables to optimize (or parameter groups; see :class:`Optimizer`).
        verbose: print each new value.
        engine: the LLM that writes updates; ``None`` uses the backward engine at step time.
        constraints: rules every new value must obey ("End with 'Answer: $VALUE'").
        new_variable_tags: ``[start, end]`` tags around the new value in the reply.
        optimizer_system_prompt: replaces our system prompt; ``{new_variable_start_tag}`` and
            ``{new_variable_end_tag}`` in it are filled in.
        in_context_examples: examples of good values, shown in every update.
        gradient_memory: show the feedback of the last k updates (0: none).
        momentum_window: show the last k earlier values with the feedback each got (0: none).
        on_parse_error: when a reply holds no usable value even after one repair request, the
            parameter keeps its value and ``"raise"`` raises :class:`UpdateParseError` (after
            applying every other update), ``"record"`` appends it to :attr:`parse_errors`.

    Groups may override ``constraints``, ``in_context_examples``, ``gradient_memory`` and
    ``momentum_window``.
    """

    def __init__(
        self,
        parameters: Iterable[Variable] | Iterable[Mapping[str, Any]],
        verbose: int = 0,
        engine: Engine | str | None = None,
        constraints: Sequence[str] | None = None,
        new_variable_tags: Sequence[str] | None = None,
        optimizer_system_prompt: str | None = None,
        in_context_examples: Sequence[str] | None = None,
        gradient_memory: int = 0,
        *,
        momentum_window: int = 0,
        on_parse_error: OnParseError = "raise",
    ) -> None:
        for name, entries in (
            ("constraints", constraints),
            ("in_context_examples", in_context_examples),
            ("new_variable_tags", new_variable_tags),
        ):
            if isinstance(entries, str) or (
                entries is not None and not all(isinstance(e, str) for e in entries)
            ):
                raise InvalidInputError(
                    f"{name} must be a list of strings, got {entries!r:.60}; wrap a single "
                    f"one: {name}=[...]"
                )
        for name, window in (
            ("gradient_memory", gradient_memory),
            ("momentum_window", momentum_window),
        ):
            if isinstance(window, bool) or not isinstance(window, int) or window < 0:
                raise ValueError(f"{name} must be a whole number >= 0, got {window!r}")
        if on_parse_error not in ("raise", "record"):
            raise ValueError(f"on_parse_error must be 'raise' or 'record', got {on_parse_error!r}")
        super().__init__(
            parameters,
            defaults={
                "constraints": list(constraints or []),
                "in_context_examples": list(in_context_examples or []),
                "gradient_memory": gradient_memory,
                "momentum_window": momentum_window,
            },
        )
        self.verbose = verbose
        self._engine = resolve_engine(engine) if engine is not None else None
        tags = list(new_variable_tags or ["<IMPROVED_VARIABLE>", "</IMPROVED_VARIABLE>"])
        if len(tags) != 2:
            raise ValueError(f"new_variable_tags must be [start, end], got {tags}")
        self.reply_format = ReplyFormat(tags[0], tags[1])
        self.custom_system_prompt = optimizer_system_prompt
        self.on_parse_error = on_parse_error
        self.parse_errors: list[UpdateParseError] = []

    @property
    def engine(self) -> Engine:
        return self._engine or resolve_engine(None, kind="backward")

    @property
    def new_variable_tags(self) -> list[str]:
        return [self.reply_format.start_tag, self.reply_format.end_tag]

    @property
    def constraints(self) -> list[str]:
        return list(self.param_groups[0]["constraints"])

    @property
    def gradient_memory(self) -> int:
        return int(self.param_groups[0]["gradient_memory"])

    # ------------------------------------------------------------------ upstream's attributes

    @property
    def in_context_examples(self) -> list[str]:
        return list(self.param_groups[0]["in_context_examples"])

    @property
    def do_constrained(self) -> bool:
        """Whether constraints are set (upstream's flag)."""
        return bool(self.param_groups[0]["constraints"])

    @property
    def do_in_context_examples(self) -> bool:
        return bool(self.param_groups[0]["in_context_examples"])

    @property
    def do_gradient_memory(self) -> bool:
        return self.gradient_memory > 0

    @property
    def constraint_text(self) -> str:
        """The constraints as the update request lists them (numbered, one per line)."""
        return "\n".join(f"{i}. {c}" for i, c in enumerate(self.constraints, start=1))

    @property
    def optimizer_system_prompt(self) -> str:
        """The system prompt of update requests, tags filled in (upstream's attribute)."""
        return self.system_prompt()

    @property
    def gradient_memory_dict(self) -> defaultdict[Variable, list[dict[str, str]]]:
        """The feedback of past updates per parameter, ``[{"value": text}, ...]`` oldest first
        (upstream's attribute; a copy, built from :attr:`state`). Kept only with
        ``gradient_memory > 0``, the last ``gradient_memory`` updates."""
        memory: defaultdict[Variable, list[dict[str, str]]] = defaultdict(list)
        for parameter, state in self.state.items():
            memory[parameter] = [{"value": text} for text in state.get("memory", [])]
        return memory

    def get_gradient_memory_text(self, variable: Variable) -> str:
        """The past-feedback section the next update of ``variable`` will show ("" if none)."""
        group = self._group_of(variable)
        state = self.state.get(variable, {})
        return _past_feedback(state.get("memory", []), group["gradient_memory"])

    def update_gradient_memory(self, variable: Variable) -> None:
        """Remember ``variable``'s current feedback in its gradient memory (``step`` does this)."""
        group = self._group_of(variable)
        if not group["gradient_memory"]:
            return
        state = self.state.setdefault(variable, {"memory": [], "momentum": [], "updates": 0})
        feedback = variable.get_gradient_text()
        state["memory"] = [*state["memory"], feedback][-group["gradient_memory"] :]

    @property
    def momentum_window(self) -> int:
        return int(self.param_groups[0]["momentum_window"])

    @property
    def do_momentum(self) -> bool:
        return self.momentum_window > 0

    @property
    def momentum_storage(self) -> list[list[dict[str, str]]]:
        """Per parameter, in order, its earlier values with their feedback (upstream's
        ``[{"value", "gradients"}]`` lists; a copy, built from :attr:`state`)."""
        return [
            [
                {"value": entry["value"], "gradients": entry["feedback"]}
                for entry in self.state.get(p, {}).get("momentum", [])
            ]
            for p in self.parameters
        ]

    # ------------------------------------------------------------------ the update prompt

    def _reply_instruction(self, json_reply: bool) -> str:
        if json_reply:
            return prompts.render("optimizer.reply_in_json", json_field=JSON_FIELD)
        return prompts.render(
            "optimizer.reply_in_tags",
            start_tag=self.reply_format.start_tag,
            end_tag=self.reply_format.end_tag,
        )

    def system_prompt(self, engine: Engine | None = None, *, json_reply: bool | None = None) -> str:
        """The system prompt of update requests (asking for JSON if the engine takes it)."""
        if json_reply is None:
            json_reply = (engine or self.engine).capabilities.structured_output
        if self.custom_system_prompt is not None:
            return self.custom_system_prompt.replace(
                "{new_variable_start_tag}", self.reply_format.start_tag
            ).replace("{new_variable_end_tag}", self.reply_format.end_tag)
        return prompts.render("optimizer.system", reply_format=self._reply_instruction(json_reply))

    def update_request(self, parameter: Variable, engine: Engine | None = None) -> Request:
        """The request that asks for ``parameter``'s new value: exactly what the LLM is shown.

        For an engine that takes structured output it asks for JSON, with the same question in
        tags as its ``fallback`` (the executor sends that if the engine rejects JSON).
        """
        engine = engine or self.engine
        tags = self._update_request(parameter, json_reply=False)
        if not engine.capabilities.structured_output:
            return tags
        return replace(
            self._update_request(parameter, json_reply=True).with_params(
                response_format=ResponseFormat(
                    "json_schema", schema=json_schema(parameter.text), name="update"
                )
            ),
            fallback=tags,
        )

    def _update_request(self, parameter: Variable, *, json_reply: bool) -> Request:
        group = self._group_of(parameter)
        state = self.state.get(parameter, {})
        user = prompts.render(
            "optimizer.update",
            role=parameter.role_description,
            value=parameter.text,
            feedback=self._feedback_text(parameter),
            past_feedback=_past_feedback(state.get("memory", []), group["gradient_memory"]),
            earlier_versions=_earlier_versions(state.get("momentum", []), group["momentum_window"]),
            constraints=_numbered_section("optimizer.constraints", group["constraints"]),
            examples=_numbered_section("optimizer.examples", group["in_context_examples"]),
            reply_instruction=self._reply_instruction(json_reply),
        )
        system = self.system_prompt(json_reply=json_reply)
        return Request((Message("system", system), Message("user", user))).about(
            "optimizer", f"update of {parameter.role_description}"
        )

    def _feedback_text(self, parameter: Variable) -> str:
        return feedback_text(parameter)

    def _group_of(self, parameter: Variable) -> dict[str, Any]:
        for group in self.param_groups:
            if any(p is parameter for p in group["params"]):
                return group
        raise ValueError(f"{parameter.role_description!r} is not a parameter of this optimizer")

    # ------------------------------------------------------------------ the step

    def step(self) -> None:
        """Update every parameter that received feedback, all requests side by side.

        A parameter without feedback is left as it is, with a :class:`NoGradientWarning`.
        """
        engine = self.engine
        targets = []
        for parameter in self.parameters:
            if any(g.text.strip() for g in parameter.gradients):
                targets.append(parameter)
            else:
                warnings.warn(
                    f"{parameter.role_description!r} received no feedback, so step() left it "
                    "unchanged; is it connected to the loss you called backward() on, and did "
                    "zero_grad() run before backward() rather than after?",
                    NoGradientWarning,
                    stacklevel=2,
                )
        send = EXECUTOR.send_all
        responses = send(engine, [self.update_request(p, engine) for p in targets])
        replies = [response.text for response in responses]
        parsed = [
            parse_update(reply, self.reply_format, p.text) for p, reply in zip(targets, replies)
        ]
        values = [p.value for p in parsed]

        failed = [i for i, value in enumerate(values) if value is None]
        repairs = send(engine, [self._repair_request(responses[i]) for i in failed])
        for i, response in zip(failed, repairs):
            replies[i] = response.text
            parsed[i] = parse_update(replies[i], self.reply_format, targets[i].text)
            values[i] = parsed[i].value

        errors = []
        for parameter, value, reply, outcome in zip(targets, values, replies, parsed):
            if value is None:
                errors.append(
                    UpdateParseError(
                        f"no usable new value for {parameter.role_description!r} in the "
                        f"optimizer's reply ({outcome.problem}), even after asking again; the old "
                        "value was kept. Use a stronger optimizer engine or simpler "
                        "new_variable_tags",
                        parameter_role=parameter.role_description,
                        reply=reply,
                    )
                )
                continue
            self._warn_about_leaks(parameter, value)
            self._remember(parameter)
            parameter.set_value(value)
            if self.verbose:
                print(f"{parameter.role_description}:\n{value}\n")
        if errors:
            if self.on_parse_error == "raise":
                raise errors[0]
            self.parse_errors.extend(errors)

    def _warn_about_leaks(self, parameter: Variable, new_value: str) -> None:
        old_value = parameter.text
        calls = [c["context"] for c in parameter.gradients_context.values() if c is not None]
        tags = leaked_tags(new_value, old_value)
        copies = copied_inputs(new_value, old_value, calls)
        custom = [self.custom_system_prompt] if self.custom_system_prompt else []
        instructions = copied_instructions(new_value, old_value, custom)
        role = parameter.role_description
        if tags:
            warnings.warn(
                f"the update of {role!r} contains the optimizer's own tags {tags}; check the "
                "new value or add a constraint against it",
                LeakWarning,
                stacklevel=3,
            )
        if copies:
            warnings.warn(
                f"the update of {role!r} copies {len(copies)} passage(s) of the training inputs "
                f"(e.g. {_shown(copies[0])!r}); prompts that hold training examples overfit. "
                "Add a constraint such as 'Do not quote the examples'",
                LeakWarning,
                stacklevel=3,
            )
        if instructions:
            warnings.warn(
                f"the update of {role!r} copies the optimizer's own instructions (e.g. "
                f"{_shown(instructions[0])!r}); the model that reads this variable never sees "
                "those instructions, so check the new value",
                LeakWarning,
                stacklevel=3,
            )

    def _repair_request(self, response: Response) -> Request:
        """Ask again, showing the reply that held no value, in the form that was sent."""
        sent = response.request
        assert sent is not None
        json_reply = sent.response_format is not None
        repair = prompts.render(
            "optimizer.repair", reply_instruction=self._reply_instruction(json_reply)
        )
        messages = (*sent.messages, Message("assistant", response.text), Message("user", repair))
        return replace(sent, messages=messages, fallback=None)

    def _remember(self, parameter: Variable) -> None:
        """Record this update's feedback (memory) and the value it replaces (momentum)."""
        group = self._group_of(parameter)
        state = self.state.setdefault(parameter, {"memory": [], "momentum": [], "updates": 0})
        feedback = parameter.get_gradient_text()
        self.update_gradient_memory(parameter)
        if group["momentum_window"]:
            entry = {"value": parameter.text, "feedback": feedback}
            state["momentum"] = [*state["momentum"], entry][-group["momentum_window"] :]
        state["updates"] += 1


class TextualGradientDescentwithMomentum(TextualGradientDescent):
    """TGD that also shows the last ``momentum_window`` values and the feedback each received.

    Takes ``engine`` first, as upstream.
    """

    def __init__(
        self,
        engine: Engine | str | None,
        parameters: Iterable[Variable] | Iterable[Mapping[str, Any]],
        momentum_window: int = 0,
        constraints: Sequence[str] | None = None,
        new_variable_tags: Sequence[str] | None = None,
        in_context_examples: Sequence[str] | None = None,
        optimizer_system_prompt: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            parameters,
            engine=engine,
            constraints=constraints,
            new_variable_tags=new_variable_tags,
            optimizer_system_prompt=optimizer_system_prompt,
            in_context_examples=in_context_examples,
            momentum_window=momentum_window,
            **kwargs,
        )


TGD = TextualGradientDescent


def feedback_text(parameter: Variable) -> str:
    """The feedback ``parameter`` received, each piece with the call it came from, as the update
    request shows it (upstream's ``get_gradient_and_context_text``)."""
    items = []
    for gradient, context in parameter.gradients_context.items():
        if not gradient.text.strip():
            continue
        if context is None:
            items.append(prompts.render("optimizer.feedback_plain", text=gradient.text))
        else:
            items.append(
                prompts.render(
                    "optimizer.feedback_with_call",
                    output_role=context["response_desc"],
                    call=prompts.refer_to_value(
                        context["context"],
                        parameter.text,
                        prompts.render("gradient.variable_reference"),
                    ),
                    text=gradient.text,
                )
            )
    return "\n".join(items) or prompts.render("optimizer.no_feedback")


def _shown(run: str, limit: int = 80) -> str:
    return run if len(run) <= limit else run[: limit - 3] + "..."


def _past_feedback(memory: Sequence[str], window: int) -> str:
    if not window or not memory:
        return ""
    recent = list(memory)[-window:]
    items = "\n\n".join(
        prompts.render("optimizer.past_feedback_item", steps_ago=len(recent) - i, text=text)
        for i, text in enumerate(recent)
    )
    return prompts.render("optimizer.past_feedback", items=items)


def _earlier_versions(history: Sequence[Mapping[str, str]], window: int) -> str:
    if not window or not history:
        return ""
    recent = list(history)[-window:]
    items = "\n\n".join(
        prompts.render(
            "optimizer.earlier_version_item",
            index=i + 1,
            value=entry["value"],
            feedback=entry["feedback"],
        )
        for i, entry in enumerate(recent)
    )
    return prompts.render("optimizer.earlier_versions", items=items)


def _numbered_section(template: str, entries: Sequence[str]) -> str:
    if not entries:
        return ""
    items = "\n".join(f"{i}. {entry}" for i, entry in enumerate(entries, start=1))
    return prompts.render(template, items=items)
