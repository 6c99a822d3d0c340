"""``Variable``: a node of the graph holding text (or image bytes) and a role description.

A variable's value may be *pending*: an LLM operation returns its output at once and the request
runs in the background. Every read of the value goes through one accessor
(:attr:`Variable.value` / :meth:`Variable.get_value`), which waits when needed; the future behind
it is internal (operations build pending outputs with :func:`pending`).

Each piece of feedback is one :class:`Gradient` record: its text (a variable, as upstream), the
call it was written about, and the ``tg.aggregate`` group it is merged in. Upstream's
``gradients`` and ``gradients_context`` are views of these records.
"""

from __future__ import annotations

import functools
import itertools
import os
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, MutableMapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from wordgrad import prompts
from wordgrad.config import resolve_engine
from wordgrad.errors import GraphError, InvalidInputError, NodeError
from wordgrad.executor import completed, derive, gather, resolve
from wordgrad.graph import GradientJob, picture, run_backward, to_dot
from wordgrad.graph_render import graph_svg_object, render_graph_svg
from wordgrad.images import check_image
from wordgrad.llm import Engine, Message, Request, check_text

Value = str | bytes
"""What a variable holds once it is computed."""


class GradientContext(TypedDict):
    """Where a piece of feedback came from (upstream's field names).

    ``context``: the call in which the variable was used, as shown to the feedback writer;
    ``response_desc``: the role of that call's output; ``variable_desc``: the variable's role.
    """

    context: str
    response_desc: str
    variable_desc: str


@dataclass(frozen=True)
class ReduceGroup:
    """Feedback that arrives through one ``tg.aggregate`` is merged into one text per variable."""

    id: int


_reduce_ids = itertools.count(1)


def new_reduce_group() -> ReduceGroup:
    return ReduceGroup(next(_reduce_ids))


@dataclass
class Gradient:
    """One piece of feedback a variable received.

    ``text``: the feedback, as a variable (upstream code reads gradients as variables);
    ``context``: the call it was written about (None for feedback passed on as it is);
    ``group``: the ``tg.aggregate`` whose feedback is merged into one text per variable.
    """

    text: Variable
    context: GradientContext | None = None
    group: ReduceGroup | None = None


class GradientList(list["Variable"]):
    """The feedback texts a variable received, in arrival order: a view of its records.

    Adding to it (``add``, kept for upstream-style custom operations where gradients were a set,
    or ``append``) adds a record without context.
    """

    def __init__(self, owner: Variable | None = None, items: Iterable[Variable] = ()) -> None:
        super().__init__(items)
        self._owner = owner

    def add(self, gradient: Variable) -> None:
        self.append(gradient)

    def append(self, gradient: Variable) -> None:
        super().append(gradient)
        if self._owner is not None:
            self._owner._records.append(Gradient(gradient))


class GradientContexts(MutableMapping["Variable", "GradientContext | None"]):
    """``gradients_context``: each feedback variable's context, None where it has none."""

    def __init__(self, owner: Variable) -> None:
        self._owner = owner

    def _record(self, gradient: Variable) -> Gradient | None:
        return next((r for r in self._owner._records if r.text is gradient), None)

    def __getitem__(self, gradient: Variable) -> GradientContext | None:
        record = self._record(gradient)
        return record.context if record is not None else None

    def __setitem__(self, gradient: Variable, context: GradientContext | None) -> None:
        record = self._record(gradient)
        if record is None:
            self._owner._records.append(Gradient(gradient, context))
        else:
            record.context = context

    def __delitem__(self, gradient: Variable) -> None:
        record = self._record(gradient)
        if record is not None:
            record.context = None

    def __iter__(self) -> Iterator[Variable]:
        return iter([r.text for r in self._owner._records])

    def __len__(self) -> int:
        return len(self._owner._records)


class Backward:
    """A variable's backward function: given the variable (holding its feedback) and the
    backward engine, the feedback jobs for its inputs. Its name shows in graph pictures.
    """

    def __init__(self, name: str, jobs: Callable[[Variable, Engine], list[GradientJob]]) -> None:
        self.name = name
        self._jobs = jobs

    def gradient_jobs(self, output: Variable, engine: Engine) -> list[GradientJob]:
        return self._jobs(output, engine)

    def __repr__(self) -> str:
        return self.name


class Variable:
    """A text (or image) in the computation graph.

    Args:
        value: the text; ints, floats and numpy scalars become text; bytes hold an image.
        image_path: a file path or URL to read image bytes from (instead of ``value``).
        predecessors: the variables this one was computed from.
        requires_grad: whether feedback should reach this variable (and flow through it).
        role_description: what the text is for ("system prompt for a math tutor"). The
            feedback writer and the optimizer read it, so make it specific. Keyword-only.
    """

    role_description: str
    requires_grad: bool

    def __init__(
        self,
        value: str | bytes | int | float = "",
        image_path: str = "",
        predecessors: Sequence[Variable] | None = None,
        requires_grad: bool = True,
        *,
        role_description: str,
    ) -> None:
        if not isinstance(role_description, str):
            raise InvalidInputError(
                f"role_description must be a string, got {type(role_description).__name__}"
            )
        if not _is_bool(requires_grad):
            raise InvalidInputError(
                f"requires_grad must be True or False, got {requires_grad!r} "
                f"({type(requires_grad).__name__}) for {role_description!r}"
            )
        requires_grad = bool(requires_grad)
        if isinstance(predecessors, Variable):
            raise InvalidInputError(
                "predecessors must be a list of Variables; wrap the single one: predecessors=[v]"
            )
        predecessors = list(predecessors or [])
        for predecessor in predecessors:
            if not isinstance(predecessor, Variable):
                raise InvalidInputError(
                    f"predecessors must be Variables, got {type(predecessor).__name__}"
                )
        if not requires_grad and any(p.requires_grad for p in predecessors):
            trainable = next(p for p in predecessors if p.requires_grad)
            raise GraphError(
                f"{role_description!r} has requires_grad=False but is computed from "
                f"{trainable.role_description!r}, which requires gradients; feedback could not "
                "reach it. Make both trainable or both frozen"
            )
        if image_path:
            if value not in ("", b""):
                raise InvalidInputError("give either a value or an image_path, not both")
            value = _read_image(image_path)
            check_image(value, source=f"image_path {image_path!r}")
        elif isinstance(value, (bytes, bytearray)):
            if requires_grad:
                raise InvalidInputError(
                    "an image value cannot be optimized; pass requires_grad=False for bytes values"
                )
            value = bytes(value)
            check_image(value, source=f"the value of {role_description!r}")
        self._future: Future[str] | None = None
        self._value: Value = _coerce(value)
        self.image_path = image_path
        self.role_description = role_description
        self.predecessors: list[Variable] = list(dict.fromkeys(predecessors))
        self.requires_grad = requires_grad
        self.grad_fn: Backward | Callable[..., Any] | None = None
        self._records: list[Gradient] = []
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ the value

    @property
    def value(self) -> Value:
        """The text (or bytes); waits if it is still being computed."""
        future = self._future
        if future is not None:
            try:
                text = resolve(future)
            except NodeError:
                raise
            except Exception as error:
                raise NodeError(
                    f"computing {self.role_description!r} failed: {error}",
                    role=self.role_description,
                    cause=error,
                ) from error
            with self._lock:
                if self._future is future:
                    self._value, self._future = text, None
        return self._value

    @value.setter
    def value(self, value: str | bytes | int | float) -> None:
        self.set_value(value)

    def get_value(self) -> Value:
        """The text (or bytes); waits if it is still being computed."""
        return self.value

    def set_value(self, value: str | bytes | int | float) -> None:
        """Replace the value (the optimizer does this after each update)."""
        with self._lock:
            self._future = None
            self._value = _coerce(value)

    def _is_pending(self) -> bool:
        future = self._future
        return future is not None and not future.done()

    def _value_future(self) -> Future[str]:
        """A future of the value as text (already done when the value is known)."""
        future = self._future
        if future is not None:
            return future
        value = self._value
        return completed(value if isinstance(value, str) else value.decode("latin-1"))

    @property
    def text(self) -> str:
        """The value as text (an image shows as a placeholder)."""
        value = self.value
        return value if isinstance(value, str) else f"<image: {len(value)} bytes>"

    def get_role_description(self) -> str:
        return self.role_description

    def set_role_description(self, role_description: str) -> None:
        self.role_description = role_description

    def get_short_value(self, n_words_offset: int = 10) -> str:
        """The text, or only its first and last ``n_words_offset`` words when it is longer."""
        words = self.text.split(" ")
        if len(words) <= 2 * n_words_offset:
            return self.text
        return " ".join(words[:n_words_offset]) + " (...) " + " ".join(words[-n_words_offset:])

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        if self._is_pending():
            shown = "<pending>"
        elif self._future is not None and self._future.exception() is not None:
            shown = "<failed>"
        else:
            shown = repr(self.get_short_value(8))
        return (
            f"Variable(value={shown}, role={self.role_description!r}, "
            f"requires_grad={self.requires_grad}, gradients={len(self.gradients)})"
        )

    def __add__(self, other: Variable) -> Variable:
        """Concatenate two variables (no separator); feedback on the result reaches both."""
        if not isinstance(other, Variable):
            raise InvalidInputError(
                f"only a Variable can be added to a Variable, not {type(other).__name__}; "
                "wrap the text with Variable(text, role_description=..., requires_grad=False)"
            )
        return combine(
            [self, other],
            separator="",
            role_description=combined_role([self, other]),
            name="Concatenation",
        )

    # ------------------------------------------------------------------ gradients

    @property
    def gradients(self) -> GradientList:
        """The feedback texts received so far, in arrival order (a view of the records)."""
        return GradientList(self, [record.text for record in self._records])

    @gradients.setter
    def gradients(self, gradients: Iterable[Variable]) -> None:
        kept = {id(r.text): r for r in self._records}
        self._records = [kept.get(id(g)) or Gradient(g) for g in gradients]

    @property
    def gradients_context(self) -> GradientContexts:
        """Each feedback variable's context (upstream's mapping; None where there is none)."""
        return GradientContexts(self)

    def get_gradient_text(self) -> str:
        """All feedback received so far, one text after another."""
        return "\n".join(record.text.text for record in self._records)

    def reset_gradients(self) -> None:
        """Forget all feedback (``optimizer.zero_grad()`` calls this)."""
        self._records = []

    def _receive_gradient(
        self, text: str, context: GradientContext | None, group: ReduceGroup | None
    ) -> None:
        gradient = Variable(
            text,
            requires_grad=False,
            role_description=prompts.render("role.feedback", role=self.role_description),
        )
        self._records.append(Gradient(gradient, context, group))

    def _feedback_group(self) -> ReduceGroup | None:
        """The aggregate group of the feedback this variable received (it passes it on)."""
        return next((r.group for r in self._records if r.group is not None), None)

    def backward(self, engine: Engine | str | None = None) -> None:
        """Propagate feedback from this variable (usually a loss) to every trainable input.

        ``engine`` writes the feedback; by default the backward engine set with
        ``tg.set_backward_engine``. Feedback accumulates until ``optimizer.zero_grad()``.
        """
        run_backward(self, resolve_engine(engine, kind="backward"))

    async def abackward(self, engine: Engine | str | None = None) -> None:
        """Async form of :meth:`backward` for async applications."""
        import asyncio

        await asyncio.to_thread(self.backward, engine)

    def _reduction_jobs(self) -> list[GradientJob]:
        """Merge feedback that came through one ``tg.aggregate`` into one text per group."""
        groups = list(dict.fromkeys(r.group for r in self._records if r.group is not None))
        jobs = []
        for group in groups:
            members = [r for r in self._records if r.group == group]
            if len(members) < 2:
                continue
            items = "\n".join(prompts.render("reduce.item", text=r.text.text) for r in members)
            request = Request(
                (
                    Message("system", prompts.render("reduce.system")),
                    Message(
                        "user",
                        prompts.render("reduce.user", role=self.role_description, items=items),
                    ),
                )
            ).about("backward", f"merged feedback on {self.role_description}")
            jobs.append(
                GradientJob(
                    deliver=functools.partial(self._merge_gradients, members), request=request
                )
            )
        return jobs

    def _merge_gradients(self, members: list[Gradient], merged_text: str) -> None:
        first = self._records.index(members[0])
        kept = [r for r in self._records if all(r is not m for m in members)]
        merged = Variable(
            merged_text, requires_grad=False, role_description=members[0].text.role_description
        )
        kept.insert(first, Gradient(merged, None, members[0].group))
        self._records = kept

    def _gradient_jobs(self, engine: Engine) -> list[GradientJob]:
        """The feedback this variable's operation sends to its inputs."""
        grad_fn = self.grad_fn
        if grad_fn is None:
            return []
        if isinstance(grad_fn, Backward):
            return grad_fn.gradient_jobs(self, engine)
        grad_fn(backward_engine=engine)  # an upstream-style backward: it adds feedback itself
        return []

    # ------------------------------------------------------------------ graph pictures

    def set_grad_fn(self, grad_fn: Backward | Callable[..., Any] | None) -> None:
        self.grad_fn = grad_fn

    def get_grad_fn(self) -> Backward | Callable[..., Any] | None:
        return self.grad_fn

    def _describe(self, print_gradients: bool) -> list[tuple[str, str]]:
        """Rows for this variable's box in a graph picture."""
        rows = [("Role", self.role_description), ("Value", self.get_short_value(20))]
        if self.grad_fn is not None:
            rows.append(("Operation", repr(self.grad_fn)))
        if print_gradients and self._records:
            rows.append(("Feedback", self.get_gradient_text()))
        return rows

    def to_dot(self, print_gradients: bool = False) -> str:
        """The graph that leads to this variable, in Graphviz DOT (no dependencies needed)."""
        return to_dot(self, print_gradients)

    def to_svg(self, print_gradients: bool = False) -> str:
        """The graph that leads to this variable as an SVG picture: drawn by Graphviz's ``dot``
        when it is installed, else by wordgrad's own simpler layout (no dependencies needed)."""
        return render_graph_svg(picture(self, print_gradients))

    def generate_graph(self, print_gradients: bool = False) -> Any:
        """The graph as a picture that Jupyter shows inline.

        With the ``graphviz`` package (``pip install 'wordgrad[graph]'``) and the Graphviz
        program installed, a ``graphviz.Source`` (``.render()`` writes files); otherwise a
        :class:`~wordgrad.graph_render.GraphSVG` with the same ``.source`` (DOT text), drawn
        without Graphviz. :meth:`to_dot` and :meth:`to_svg` give the text and the SVG.
        """
        return graph_svg_object(self.to_dot(print_gradients), picture(self, print_gradients))


def combine(
    variables: Sequence[Variable],
    *,
    separator: str,
    role_description: str,
    name: str,
    reduce_group: ReduceGroup | None = None,
) -> Variable:
    """Join the values of ``variables``; feedback on the result goes to each input once.

    Used by ``+``, ``tg.sum`` and ``tg.aggregate``. With a ``reduce_group``, feedback that flows
    back through the result is tagged so that it can be merged per variable (``tg.aggregate``).
    """
    from wordgrad.graph import is_grad_enabled

    variables = list(variables)
    if not variables:
        raise InvalidInputError(f"{name} needs at least one Variable")
    for variable in variables:
        if not isinstance(variable, Variable):
            raise InvalidInputError(f"{name} takes Variables, got {type(variable).__name__}")
    joined = derive(gather([v._value_future() for v in variables]), separator.join)
    tracked = is_grad_enabled()
    output = pending(
        joined,
        predecessors=variables if tracked else None,
        requires_grad=tracked and any(v.requires_grad for v in variables),
        role_description=role_description,
    )

    def jobs(out: Variable, engine: Engine) -> list[GradientJob]:
        feedback = out.get_gradient_text()
        group = reduce_group or out._feedback_group()
        result = []
        for variable in _unique_trainable(out.predecessors):
            context = GradientContext(
                context=prompts.render(
                    "gradient.part_of_combination", combined_role=out.role_description
                ),
                response_desc=out.role_description,
                variable_desc=variable.role_description,
            )
            deliver = functools.partial(
                deliver_gradient, variable, context if feedback else None, group
            )
            result.append(GradientJob(deliver=deliver, target=variable, text=feedback))
        return result

    if output.requires_grad:
        output.grad_fn = Backward(name, jobs)
    return output


def pending(
    future: Future[str],
    *,
    role_description: str,
    predecessors: Sequence[Variable] | None = None,
    requires_grad: bool = True,
) -> Variable:
    """A variable whose value ``future`` is still computing (for operations; users never need
    it: reading ``value`` waits)."""
    variable = Variable(
        "",
        predecessors=predecessors,
        requires_grad=requires_grad,
        role_description=role_description,
    )
    variable._future = future
    return variable


MAX_COMBINED_ROLE_CHARS = 300


def combined_role(variables: Sequence[Variable]) -> str:
    """The role of a join of ``variables``: their distinct roles, cut to a bounded length.

    Bounded so that long chains of joins do not grow roles (and prompts) without limit.
    """
    roles = ", ".join(dict.fromkeys(v.role_description for v in variables))
    if len(roles) > MAX_COMBINED_ROLE_CHARS:
        roles = roles[: MAX_COMBINED_ROLE_CHARS - 3].rstrip() + "..."
    return prompts.render("role.combination", roles=roles)


def deliver_gradient(
    variable: Variable,
    context: GradientContext | None,
    group: ReduceGroup | None,
    text: str,
) -> None:
    """Hand ``text`` to ``variable`` as feedback (the ``deliver`` step of a gradient job)."""
    variable._receive_gradient(text, context, group)


def _unique_trainable(variables: Sequence[Variable]) -> list[Variable]:
    return [v for v in dict.fromkeys(variables) if v.requires_grad]


def _is_bool(value: object) -> bool:
    kind = type(value)
    return isinstance(value, bool) or (
        kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_")
    )


def _coerce(value: object) -> Value:
    if isinstance(value, str):
        return check_text(value, "the variable's value")
    if isinstance(value, bytes):
        return value
    if isinstance(value, bool):
        return str(value)
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        shape = getattr(value, "shape", ())
        if shape != ():
            raise InvalidInputError(
                f"a Variable's value must be text, got a numpy array of shape {shape}; pick one "
                "element (array[i]) or join the elements into text first, e.g. "
                "', '.join(map(str, array))"
            )
        value = value.item()  # numpy scalars, as they come out of pandas
        if isinstance(value, str):
            return check_text(value, "the variable's value")
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return str(value)
    raise InvalidInputError(
        f"a Variable's value must be text (str), bytes, or a number, got {type(value).__name__}; "
        "convert it with str(...) first"
    )


def _read_image(image_path: str) -> bytes:
    parsed = urllib.parse.urlparse(image_path)
    if parsed.scheme in ("http", "https") and parsed.netloc:
        with urllib.request.urlopen(image_path, timeout=60) as response:
            data: bytes = response.read()
            return data
    path = Path(os.path.expanduser(image_path))
    if not path.is_file():
        raise InvalidInputError(f"image_path {image_path!r} is not a file")
    return path.read_bytes()
