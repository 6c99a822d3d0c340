"""The computation graph: topological order, the backward pass, ``no_grad``, DOT.

This module knows nodes only through the small :class:`Node` protocol that ``Variable``
implements, so it stays below ``variable.py``.

The backward pass is driven by data flow. A node is *ready* once every successor that can send
it feedback has sent it; it then merges grouped feedback (``tg.aggregate``) and sends its own
feedback requests at once, while other branches are still waiting for theirs. So a slow call
holds up only what depends on it. Feedback that arrives for a node is held until the node is
ready and then handed over sorted by where it came from (the sender's place in the graph, then
the order of its jobs), so the outcome never depends on which call finished first.
"""

from __future__ import annotations

import contextvars
import html
import queue
import textwrap
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from wordgrad.executor import EXECUTOR, resolve, when_all
from wordgrad.llm import Engine, Request, Response

# ---------------------------------------------------------------------------- gradient jobs


@dataclass(frozen=True)
class GradientJob:
    """One piece of feedback to compute and where it goes.

    With a ``request`` (whose ``purpose`` and ``role`` say what it is for), the reply text is
    computed by the backward engine; without one, ``text`` is used as it is (e.g. feedback
    passed through a sum). ``deliver`` receives the text once ``target`` (the node the feedback
    is for) is ready; a job without a target (merging a node's own feedback) is delivered as
    soon as it is done.
    """

    deliver: Callable[[str], None]
    target: Any = None
    request: Request | None = None
    text: str = ""


class Node(Protocol):
    """What the graph needs of a variable."""

    @property
    def predecessors(self) -> Sequence[Node]: ...

    @property
    def requires_grad(self) -> bool: ...

    def _reduction_jobs(self) -> list[GradientJob]:
        """Requests that merge grouped feedback before this node passes feedback on."""
        ...

    def _gradient_jobs(self, engine: Engine) -> list[GradientJob]:
        """The feedback this node sends to its inputs (runs its backward function)."""
        ...


def topological_order(root: Node) -> list[Node]:
    """Every node reachable from ``root``, each after all of its predecessors.

    Iterative (no recursion limit) and deterministic: predecessors are visited in their order.
    """
    order: list[Node] = []
    visited: set[int] = set()
    stack: list[tuple[Node, int]] = [(root, 0)]
    visited.add(id(root))
    while stack:
        node, next_index = stack[-1]
        predecessors = node.predecessors
        if next_index < len(predecessors):
            stack[-1] = (node, next_index + 1)
            child = predecessors[next_index]
            if id(child) not in visited:
                visited.add(id(child))
                stack.append((child, 0))
        else:
            stack.pop()
            order.append(node)
    return order


def run_backward(root: Node, engine: Engine) -> None:
    """Propagate feedback from ``root`` to every trainable node that leads to it.

    Nodes with ``requires_grad=False`` receive nothing and pass nothing on. A failed feedback
    request raises its :class:`~wordgrad.errors.NodeError` here, naming the node.
    """
    order = topological_order(root)
    position = {id(node): index for index, node in enumerate(order)}
    waiting_on: dict[int, int] = {id(node): 0 for node in order}
    for node in order:
        if node.requires_grad:
            for predecessor in _unique(node.predecessors):
                waiting_on[id(predecessor)] += 1

    held: dict[int, list[tuple[tuple[int, int], GradientJob, str]]] = {}
    ready: deque[Node] = deque([root])
    done: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
    outstanding = 0

    def after(futures: list[Future[Response]], then: Callable[[], None]) -> None:
        """Run ``then`` on this thread once every future has finished."""
        nonlocal outstanding
        outstanding += 1
        when_all(futures, lambda: done.put(then))

    def begin(node: Node) -> None:
        for _, job, text in sorted(held.pop(id(node), []), key=lambda item: item[0]):
            job.deliver(text)
        if not node.requires_grad:
            return
        merges = node._reduction_jobs()
        futures = _submit(merges, engine)

        def merged() -> None:
            _deliver(merges, futures)
            send_feedback(node)

        after(_sent(futures), merged)

    def send_feedback(node: Node) -> None:
        jobs = node._gradient_jobs(engine)
        futures = _submit(jobs, engine)
        after(_sent(futures), lambda: finish(node, jobs, futures))

    def finish(node: Node, jobs: list[GradientJob], futures: list[Future[Response] | None]) -> None:
        for index, (job, future) in enumerate(zip(jobs, futures)):
            text = job.text if future is None else resolve(future).text
            key = (position[id(node)], index)
            held.setdefault(id(job.target), []).append((key, job, text))
        for predecessor in _unique(node.predecessors):
            waiting_on[id(predecessor)] -= 1
            if waiting_on[id(predecessor)] == 0:
                ready.append(predecessor)

    while ready or outstanding:
        if ready:
            begin(ready.popleft())
        else:
            then = done.get()
            outstanding -= 1
            then()


def _unique(nodes: Sequence[Any]) -> list[Any]:
    """``nodes`` without repeats (by identity), in their order."""
    unique: dict[int, Any] = {}
    for node in nodes:
        unique.setdefault(id(node), node)
    return list(unique.values())


def _submit(jobs: list[GradientJob], engine: Engine) -> list[Future[Response] | None]:
    """Send every job's request now; None for jobs whose text is already known."""
    return [EXECUTOR.submit(engine, job.request) if job.request else None for job in jobs]


def _sent(futures: list[Future[Response] | None]) -> list[Future[Response]]:
    return [future for future in futures if future is not None]


def _deliver(jobs: list[GradientJob], futures: list[Future[Response] | None]) -> None:
    """Hand each job its text, in job order (raises the error of a failed request)."""
    for job, future in zip(jobs, futures):
        job.deliver(job.text if future is None else resolve(future).text)


# ---------------------------------------------------------------------------- no_grad

_grad_enabled: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "wordgrad_grad_enabled", default=True
)


def is_grad_enabled() -> bool:
    """False inside ``with no_grad():``."""
    return _grad_enabled.get()


@contextmanager
def no_grad() -> Iterator[None]:
    """Inside the block, operations record no graph: outputs have no predecessors and no
    gradients flow through them. Use it for evaluation, where no backward pass follows.
    """
    token = _grad_enabled.set(False)
    try:
        yield
    finally:
        _grad_enabled.reset(token)


# ---------------------------------------------------------------------------- DOT export


class Describable(Protocol):
    @property
    def predecessors(self) -> Sequence[Any]: ...

    def _describe(self, print_gradients: bool) -> list[tuple[str, str]]:
        """(heading, text) rows shown in the node's box."""
        ...


@dataclass(frozen=True)
class GraphPicture:
    """Nodes (id, rows) and edges (from id, to id) of a graph, in a fixed order."""

    nodes: list[tuple[str, list[tuple[str, str]]]]
    edges: list[tuple[str, str]]


def picture(root: Describable, print_gradients: bool = False) -> GraphPicture:
    """The nodes and edges reachable from ``root``, predecessors first."""
    order: list[Any] = topological_order(root)  # type: ignore[arg-type]
    ids = {id(node): f"v{index}" for index, node in enumerate(order)}
    nodes = [(ids[id(node)], node._describe(print_gradients)) for node in order]
    edges = [(ids[id(p)], ids[id(node)]) for node in order for p in _unique(node.predecessors)]
    return GraphPicture(nodes, edges)


def to_dot(root: Describable, print_gradients: bool = False, wrap: int = 40) -> str:
    """The graph leading to ``root`` in Graphviz DOT, edges from inputs to outputs."""
    graph = picture(root, print_gradients)
    lines = [
        "digraph wordgrad {",
        "  rankdir=TB;",
        '  node [shape=plaintext, fontname="Helvetica", fontsize=10];',
    ]
    for node_id, rows in graph.nodes:
        lines.append(f"  {node_id} [label=<{_html_table(rows, wrap)}>];")
    lines.extend(f"  {source} -> {target};" for source, target in graph.edges)
    lines.append("}")
    return "\n".join(lines)


def _html_table(rows: list[tuple[str, str]], wrap: int) -> str:
    cells = []
    for heading, text in rows:
        wrapped = "<BR/>".join(html.escape(line) for line in textwrap.wrap(text, wrap) or [""])
        cells.append(f'<TR><TD ALIGN="LEFT"><B>{html.escape(heading)}</B>: {wrapped}</TD></TR>')
    return '<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0">' + "".join(cells) + "</TABLE>"
