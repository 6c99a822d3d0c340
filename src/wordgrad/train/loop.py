"""What the training and test-time loops share: options, engines, and running inside a run.

A loop subclasses :class:`RunLoop` and implements :meth:`RunLoop.execute`, which gets an open
:class:`~wordgrad.train.runs.Run` (holding the checkpoint to continue from, if any) and returns
the results.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from typing import Any, Protocol

from wordgrad.config import get_max_concurrency, max_concurrency
from wordgrad.engine import get_engine
from wordgrad.engine.base import EngineLM
from wordgrad.train.progress import Reporter, SilentReporter
from wordgrad.train.runs import DEFAULT_KEEP_CHECKPOINTS, Budget, EventObserver, Run


class LoopConfig(Protocol):
    """The settings every loop has."""

    @property
    def model(self) -> str: ...

    @property
    def backward_model(self) -> str | None: ...

    @property
    def reply_tokens(self) -> int | None: ...

    def as_dict(self) -> dict[str, Any]: ...


def build_engine(name: str, reply_tokens: int | None) -> EngineLM:
    """``get_engine(name)``, with replies capped at ``reply_tokens`` when that is set."""
    return get_engine(name) if reply_tokens is None else get_engine(name, max_tokens=reply_tokens)


class RunLoop(ABC):
    """A loop that runs in a run directory and can be resumed.

    Args:
        config: what to compute (saved as ``config.json``; a resume must match it).
        run_dir: the run's directory; an existing run of the same config is continued.
        data_dir: where task data is read first (default ``$WORDGRAD_DATA``).
        forward_engine / backward_engine: engine objects to use instead of the names in
            ``config`` (the names stay in the config as labels).
        max_concurrency: at most this many LLM calls at once.
        budget: stop before a step would exceed these token / cost limits.
        force: discard a run of other settings in ``run_dir`` and start over.
        reporter: where progress goes (default: nowhere).
        on_event: told about every event as it is written (e.g. ``LiveView().write``).
        keep_checkpoints: keep this many of the newest checkpoints (``None``: all); see
            :class:`~wordgrad.train.runs.Run`.
    """

    kind = "loop"

    def __init__(
        self,
        config: LoopConfig,
        run_dir: str | os.PathLike[str],
        *,
        data_dir: str | os.PathLike[str] | None = None,
        forward_engine: EngineLM | None = None,
        backward_engine: EngineLM | None = None,
        max_concurrency: int | None = None,
        budget: Budget | None = None,
        force: bool = False,
        reporter: Reporter | None = None,
        on_event: EventObserver | None = None,
        keep_checkpoints: int | None = DEFAULT_KEEP_CHECKPOINTS,
    ) -> None:
        self.loop_config = config
        self.keep_checkpoints = keep_checkpoints
        self.on_event = on_event
        self.run_dir = run_dir
        self.data_dir = data_dir
        self._forward = forward_engine
        self._backward = backward_engine
        self.max_concurrency = max_concurrency
        self.budget = budget
        self.force = force
        self.reporter = reporter or SilentReporter()

    def engines(self) -> tuple[EngineLM, EngineLM]:
        """The forward and backward engines (one engine when both names are the same)."""
        c = self.loop_config
        forward = self._forward or build_engine(c.model, c.reply_tokens)
        backward_name = c.backward_model or c.model
        backward = self._backward or (
            forward if backward_name == c.model else build_engine(backward_name, c.reply_tokens)
        )
        return forward, backward

    def optimizer_engine(self, backward: EngineLM) -> EngineLM:
        """The engine that rewrites variables: the backward engine, but never with a reply cap,
        since an update must hold the whole new value (a cut-off reply cannot be parsed)."""
        c = self.loop_config
        if self._backward is not None or c.reply_tokens is None:
            return backward
        return build_engine(c.backward_model or c.model, None)

    def run(self) -> dict[str, Any]:
        """Run (or continue) to the end; returns the results (also in ``results.json``).

        Raises :class:`~wordgrad.train.runs.RunStopped` on Ctrl-C or when the budget stops it,
        and :class:`~wordgrad.train.runs.RunConfigError` when ``run_dir`` holds other settings.
        """
        with Run(
            self.run_dir,
            kind=self.kind,
            config=self.loop_config.as_dict(),
            force=self.force,
            budget=self.budget,
            on_event=self.on_event,
            keep_checkpoints=self.keep_checkpoints,
        ) as run:
            if run.results is not None:
                self.reporter.message(f"run already completed; results in {run.path}")
                return run.results
            if run.checkpoint is None:
                self.reporter.message(f"run directory: {run.path}")
            else:
                self.reporter.message(f"resuming {run.path} after step {run.last_step}")
            with max_concurrency(self.max_concurrency or get_max_concurrency()):
                return self.execute(run)

    @abstractmethod
    def execute(self, run: Run) -> dict[str, Any]:
        """Do the work (continuing from ``run.checkpoint`` when set); return the results."""
