"""Progress reporting for long loops: rich progress bars on a terminal, silence elsewhere.

Loops take a :class:`Reporter`. :func:`reporter` picks the right one: bars and messages on
stderr when it is a terminal, messages only when it is not (logs stay readable), nothing with
``quiet=True``. The Python API defaults to :class:`SilentReporter`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

Advance = Callable[[], None]


class Reporter(Protocol):
    """Where a loop reports progress and one-line messages."""

    def message(self, text: str) -> None:
        """A line for the user ("step 3: validation 0.45 -> 0.50, kept")."""
        ...

    def task(self, description: str, total: int) -> AbstractContextManager[Advance]:
        """A context manager around ``total`` items of work; call what it yields per item."""
        ...


class SilentReporter:
    """Reports nothing."""

    def message(self, text: str) -> None:
        pass

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[Advance]:
        yield lambda: None


class TextReporter(SilentReporter):
    """Messages on stderr, no bars (for logs and pipes)."""

    def message(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)


class RichReporter(TextReporter):
    """Messages and a transient progress bar per task, on stderr."""

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[Advance]:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
            task_id = progress.add_task(description, total=total)
            yield lambda: progress.advance(task_id)

    def message(self, text: str) -> None:
        from rich.console import Console

        Console(stderr=True, highlight=False).print(text, markup=False)


class ConsoleReporter(SilentReporter):
    """Messages printed on a ``rich`` console, no bars (beside a live view, which draws there)."""

    def __init__(self, console: Any) -> None:
        self.console = console

    def message(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False)


class LiveReporter(ConsoleReporter):
    """Messages on the live view's console, and each task's progress in the view itself
    (``view.set_task``), so the view moves during evaluations too."""

    def __init__(self, view: Any) -> None:
        super().__init__(view.console)
        self.view = view

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[Advance]:
        done = 0
        self.view.set_task(description, done, total)

        def advance() -> None:
            nonlocal done
            done += 1
            self.view.set_task(description, done, total)

        yield advance


def reporter(quiet: bool = False) -> Reporter:
    """Bars on a terminal, plain messages otherwise, nothing when ``quiet``."""
    if quiet:
        return SilentReporter()
    if sys.stderr.isatty():
        return RichReporter()
    return TextReporter()
