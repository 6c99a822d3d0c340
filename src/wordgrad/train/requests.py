"""The request log of a run: ``<run_dir>/requests.jsonl``, one line per LLM call.

Every request the run sends (pre-flight, answers, judges, feedback, updates, evaluations) is
appended when its reply comes back, with its purpose, the role of the value it produced, the
engine and model, every message, the reply, tokens, latency, whether it came from the cache and
any error. Secrets are redacted (:func:`wordgrad.train.events.redact`) before anything is
written. A resumed run appends to the same file, so a step that was cut short and redone shows
its calls twice: the log says what was sent, not what the results used.

Read it with :func:`read_requests`, or ``wordgrad show RUN --requests N``.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import IO, Any

from wordgrad.calls import Call
from wordgrad.train.events import redact

REQUESTS_FILE = "requests.jsonl"


class RequestLog:
    """A :class:`wordgrad.calls.Watcher` that appends each finished call to ``path``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - close()
        self._lock = threading.Lock()

    def before(self, call: Call) -> None:
        pass

    def after(self, call: Call) -> None:
        line = json.dumps(redact(call.as_dict()), ensure_ascii=False, default=str) + "\n"
        with self._lock:
            if not self._file.closed:
                self._file.write(line)
                self._file.flush()

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()


def read_requests(run_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The logged calls of a run, oldest first (a torn last line is skipped)."""
    path = Path(run_dir) / REQUESTS_FILE
    if not path.exists():
        return []
    records = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records
