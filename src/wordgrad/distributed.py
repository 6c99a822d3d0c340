"""Independent work on a Ray cluster: ``tg.map(fn, items, backend="ray")`` and the loops' ``ray=``.

LLM calls wait rather than compute, so one machine already sends thousands side by side (threads,
:func:`wordgrad.map`). What outgrows one machine is CPU work (running model-written code against
tests, docking, dose calculation) and many independent runs. For those, :class:`RayBackend` sends
one Ray task per item to a cluster, using Ray (https://docs.ray.io, the ``wordgrad[ray]`` extra)
for scheduling, placement and retries; nothing here re-implements them.

What :meth:`RayBackend.map` guarantees:

- results come back in input order, exactly as ``[fn(item) for item in items]`` would;
- a task that raises (or whose worker dies) is retried by Ray itself (``max_retries`` and
  ``retry_exceptions``), at most ``max_retries`` more times; an item that still fails is reported
  as a :class:`TaskFailed` naming its index and the item;
- with ``journal=`` every finished result is appended to a JSON-lines file as it arrives, so a
  driver killed mid-run and started again skips the items already done;
- secrets travel through the environment, never through task arguments: the names in
  :data:`FORWARDED_ENV` (API keys, base URLs, ``WORDGRAD_*``) present in the driver's
  environment are given to the tasks as Ray ``runtime_env`` ``env_vars``;
- usage is shared: each task counts its own calls (``tg.track``) and returns the meter with its
  result; the driver adds it to its active meters (so a run's meter and budget see every worker's
  tokens and cost), and ``before_submit`` is called before each new task is sent, so a budget
  check stops the run before more work goes out.

Where the cluster is: ``address`` (``"host:port"``), else ``$RAY_ADDRESS``, else a new local
cluster in this process (started on 127.0.0.1 with no dashboard and no usage reporting, so it
works offline). A Ray session that the program already opened with ``ray.init`` is used as is.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from wordgrad.engine.usage import UsageMeter, record_meter, track
from wordgrad.errors import ConfigurationError, InvalidInputError, WordgradError

T = TypeVar("T")
R = TypeVar("R")

PLUGINS_ENV = "WORDGRAD_PLUGINS"
"""Modules that workers import before the first task (they may register engines)."""

FORWARDED_ENV = re.compile(
    r"^(WORDGRAD_\w+|\w+_API_KEY|\w+_API_BASE|\w+_BASE_URL|\w+_API_VERSION|OPENAI_\w+"
    r"|ANTHROPIC_\w+|GEMINI_\w+|GOOGLE_\w+|AZURE_\w+|HF_TOKEN|PYTHONPATH)$"
)
"""Environment variables handed to every task (``runtime_env`` ``env_vars``) when set."""


LOCAL_CLUSTER_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
"""Set (unless already set) before Ray is imported for a local cluster: loopback, offline."""


class DistributedError(WordgradError):
    """Ray is missing, or the cluster cannot be reached or used."""


class TaskFailed(WordgradError):
    """One item's task failed on every attempt Ray made.

    ``index`` is the item's position, ``item`` a short description of it, ``attempts`` how many
    times Ray ran it, ``error_type`` / ``error`` the last failure (with the worker's traceback).
    """

    def __init__(self, index: int, item: str, attempts: int, error_type: str, error: str) -> None:
        super().__init__(
            f"item {index} ({item}) failed after {attempts} attempt(s): {error_type}: "
            f"{error.strip().splitlines()[-1] if error.strip() else ''}"
        )
        self.index = index
        self.item = item
        self.attempts = attempts
        self.error_type = error_type
        self.error = error


def forwarded_environment(
    extra: Iterable[str] = (), environ: dict[str, str] | None = None
) -> dict[str, str]:
    """The variables of ``environ`` (default ``os.environ``) that tasks receive: those named by
    :data:`FORWARDED_ENV` plus the names in ``extra``."""
    env = dict(os.environ if environ is None else environ)
    names = set(extra)
    return {k: v for k, v in sorted(env.items()) if FORWARDED_ENV.match(k) or k in names}


def _ray() -> Any:
    try:
        return importlib.import_module("ray")
    except ImportError as error:
        raise ConfigurationError(
            "Ray is not installed; install the extra with: pip install 'wordgrad[ray]'"
        ) from error


# --------------------------------------------------------------------------- on the worker

_plugins_loaded: set[str] = set()


def _load_plugins() -> None:
    """Import the modules named in ``$WORDGRAD_PLUGINS`` (once per worker process)."""
    for name in os.environ.get(PLUGINS_ENV, "").split(","):
        name = name.strip()
        if name and name not in _plugins_loaded:
            importlib.import_module(name)
            _plugins_loaded.add(name)


def _run_task(fn: Callable[[Any], Any], item: Any) -> tuple[Any, UsageMeter]:
    """What each Ray task runs: ``fn(item)``, with its LLM usage counted and returned."""
    _load_plugins()
    with track() as meter:
        result = fn(item)
    return result, meter


# --------------------------------------------------------------------------- the journal


class Journal:
    """Finished results as JSON lines ``{"key": ..., "result": ...}``, appended and fsynced one
    by one; a torn last line (a crash mid-write) is ignored when read back."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, Any]:
        done: dict[str, Any] = {}
        if not self.path.exists():
            return done
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and "key" in record:
                done[str(record["key"])] = record.get("result")
        return done

    def add(self, key: str, result: Any) -> None:
        try:
            line = json.dumps({"key": key, "result": result}, ensure_ascii=False)
        except TypeError as error:
            raise InvalidInputError(
                f"a result for the journal must be JSON (dicts, lists, strings, numbers): {error}"
                "; return plain data from fn, or leave journal unset"
            ) from error
        self.path.parent.mkdir(parents=True, exist_ok=True)
        torn = False
        if self.path.exists() and self.path.stat().st_size:
            with open(self.path, "rb") as existing:
                existing.seek(-1, os.SEEK_END)
                torn = existing.read(1) != b"\n"
        with open(self.path, "a", encoding="utf-8") as file:
            # a line cut short by a crash is ended first, so the next record stays readable
            file.write(("\n" if torn else "") + line + "\n")
            file.flush()
            os.fsync(file.fileno())


# --------------------------------------------------------------------------- the backend


@dataclass(frozen=True)
class RayBackend:
    """Send independent items to a Ray cluster, one task each.

    Args:
        address: ``"host:port"`` of a running cluster's head; ``None``: ``$RAY_ADDRESS`` when
            set, else start a local cluster in this process.
        max_retries: how many more times Ray runs a task that raised or whose worker died
            (Ray's ``max_retries`` with ``retry_exceptions=True``); then the item is reported.
        num_cpus: CPUs each task reserves (Ray's ``num_cpus``); fractional values pack more
            tasks onto a node (for tasks that mostly wait on LLM calls).
        max_in_flight: tasks submitted but not finished, at most; default twice the cluster's
            CPUs. Lower means budget checks between submissions are finer.
        env: more environment variable names to forward to tasks, beyond
            :data:`FORWARDED_ENV`.
        local_cpus: CPUs of a local cluster started here (default: all).
    """

    address: str | None = None
    max_retries: int = 2
    num_cpus: float = 1.0
    max_in_flight: int | None = None
    env: tuple[str, ...] = ()
    local_cpus: int | None = None

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise InvalidInputError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.num_cpus <= 0:
            raise InvalidInputError(f"num_cpus must be > 0, got {self.num_cpus}")
        if self.max_in_flight is not None and self.max_in_flight < 1:
            raise InvalidInputError(f"max_in_flight must be >= 1, got {self.max_in_flight}")

    def connect(self) -> Any:
        """Join the cluster (or start a local one) unless this process already has; returns
        the ``ray`` module. Raises :class:`DistributedError` when the cluster cannot be reached."""
        address = self.address or os.environ.get("RAY_ADDRESS") or None
        if address is None:
            # A private cluster on loopback (Ray otherwise advertises the machine's network
            # address), with usage reporting off so it starts offline. Ray reads both when it
            # is imported, so they only take effect if it has not been imported yet.
            for name, value in LOCAL_CLUSTER_ENV.items():
                os.environ.setdefault(name, value)
        ray = _ray()
        if ray.is_initialized():
            return ray
        options: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
        if address is None:
            options.update(include_dashboard=False, _node_ip_address="127.0.0.1")
            if self.local_cpus is not None:
                options["num_cpus"] = self.local_cpus
        else:
            options["address"] = address
        try:
            ray.init(**options)
        except (ConnectionError, RuntimeError, ValueError) as error:
            where = address or "a local cluster"
            raise DistributedError(
                f"cannot use the Ray cluster at {where}: {error}. Check that the head is running "
                "(`ray start --head`) and that the address is its GCS address (host:port)"
            ) from error
        return ray

    def map(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        keys: Sequence[str] | None = None,
        journal: str | os.PathLike[str] | None = None,
        before_submit: Callable[[], None] | None = None,
    ) -> list[R | TaskFailed]:
        """``[fn(item) for item in items]`` on the cluster, in input order; an item that failed
        on every attempt is a :class:`TaskFailed` in its place.

        Args:
            fn: a function that Ray can pickle (cloudpickle); it runs in a worker process, so
                it must build what it needs (engines by name) rather than capture live clients.
            items: the inputs (sent as task arguments: never put secrets in them).
            keys: a stable name per item for the journal (default: its index).
            journal: a JSON-lines file of finished results; items found there are not sent
                again, and new results are appended as they arrive. Results must be JSON.
            before_submit: called before each task is sent; raise from it (e.g. a budget
                check) to stop: tasks in flight are cancelled and the exception propagates.

        Raises:
            DistributedError: Ray cannot be reached.
        """
        inputs = list(items)
        names = [str(i) for i in range(len(inputs))] if keys is None else [str(k) for k in keys]
        if len(names) != len(inputs) or len(set(names)) != len(names):
            raise InvalidInputError("keys must name every item once, without repeats")
        book = Journal(journal) if journal is not None else None
        done = book.read() if book is not None else {}
        outcomes: dict[int, Any] = {i: done[k] for i, k in enumerate(names) if k in done}
        todo = [i for i in range(len(inputs)) if i not in outcomes]
        if todo:
            self._run(fn, inputs, todo, names, outcomes, book, before_submit)
        return [outcomes[i] for i in range(len(inputs))]

    def _run(
        self,
        fn: Callable[[Any], Any],
        inputs: list[Any],
        todo: list[int],
        names: list[str],
        outcomes: dict[int, Any],
        book: Journal | None,
        before_submit: Callable[[], None] | None,
    ) -> None:
        ray = self.connect()
        env = forwarded_environment(self.env)
        task = ray.remote(_run_task).options(
            max_retries=self.max_retries,
            retry_exceptions=True,
            num_cpus=self.num_cpus,
            runtime_env={"env_vars": env} if env else None,
        )
        window = self.max_in_flight or max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
        fn_ref = ray.put(fn)
        pending: dict[Any, int] = {}
        queue = list(todo)
        try:
            while queue or pending:
                while queue and len(pending) < window:
                    if before_submit is not None:
                        before_submit()
                    index = queue.pop(0)
                    pending[task.remote(fn_ref, inputs[index])] = index
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    index = pending.pop(ref)
                    outcomes[index] = self._collect(ray, ref, index, inputs[index])
                    if book is not None and not isinstance(outcomes[index], TaskFailed):
                        book.add(names[index], outcomes[index])
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise

    def _collect(self, ray: Any, ref: Any, index: int, item: Any) -> Any:
        """The task's result (its usage added to this process's meters), or a TaskFailed."""
        try:
            result, meter = ray.get(ref)
        except ray.exceptions.RayTaskError as error:
            cause = error.cause if getattr(error, "cause", None) is not None else error
            return TaskFailed(
                index,
                _describe(item),
                self.max_retries + 1,
                type(cause).__name__,
                str(error.traceback_str if hasattr(error, "traceback_str") else error),
            )
        except ray.exceptions.RayError as error:  # the worker died on every attempt
            return TaskFailed(
                index, _describe(item), self.max_retries + 1, type(error).__name__, str(error)
            )
        record_meter(meter)
        return result


def _describe(item: Any, limit: int = 80) -> str:
    text = repr(item)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def ray_map(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    description: str,
    return_exceptions: bool,
    error_type: Callable[..., BaseException],
    backend: str | RayBackend = "ray",
) -> list[Any]:
    """What ``tg.map(..., backend="ray")`` runs: :meth:`RayBackend.map` with ``tg.map``'s way of
    reporting failures (``error_type`` is :class:`wordgrad.batch.MapError`)."""
    if not isinstance(backend, RayBackend) and backend != "ray":
        raise InvalidInputError(
            f"backend must be 'threads', 'ray' or a RayBackend, got {backend!r}"
        )
    outcomes = (backend if isinstance(backend, RayBackend) else RayBackend()).map(fn, items)
    failures: list[tuple[int, BaseException]] = [
        (i, o) for i, o in enumerate(outcomes) if isinstance(o, TaskFailed)
    ]
    if failures and not return_exceptions:
        index, first = failures[0]
        more = f" ({len(failures) - 1} more items failed too)" if len(failures) > 1 else ""
        raise error_type(
            f"{description}: item {index} of {len(outcomes)} failed on Ray: {first}{more}",
            failures=failures,
        ) from first
    return outcomes
