"""``ScriptedEngine``: an engine for tests that answers from a function or a queue.

Use it to test your own pipelines without a network or a model::

    engine = ScriptedEngine({"forward": "42", "backward": "be shorter", "optimizer": "..."})
    tg.set_backward_engine(engine, override=True)
    ...
    assert engine.requests[0].purpose == "forward"

Route on what a request is for (:attr:`Request.purpose`: ``forward``, ``backward``,
``optimizer``, ``evaluation``), not on the wording of our prompts, so rewording a prompt breaks
only the tests about that prompt.

With a function, answers depend only on each request, so results are the same whatever order
concurrent calls arrive in. With a queue (a list of replies), replies are handed out in the order
requests arrive; set ``tg.set_max_concurrency(1)`` when that order matters.
Every request is recorded in :attr:`ScriptedEngine.requests` (thread-safe). The cache is off
unless asked for, so each call reaches the script.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from wordgrad.engine.base import EngineLM
from wordgrad.engine.cache import ResponseCache
from wordgrad.errors import InvalidInputError, WordgradError
from wordgrad.llm import Capabilities, Request, Response, Usage

Script = Callable[[Request], "str | BaseException"]


class ScriptExhaustedError(WordgradError):
    """A queue-driven :class:`ScriptedEngine` received more requests than it had replies."""


class ScriptedEngine(EngineLM):
    """Answers each request from ``script``.

    Args:
        script: a function from :class:`Request` to the reply text; a mapping from a purpose
            (``"forward"``, ``"backward"``, ``"optimizer"``, ``"evaluation"``, ``"other"``) to a
            reply or such a function (a purpose it lacks is a :class:`ScriptExhaustedError`); or
            an iterable of replies handed out in order. A reply that is an exception instance is
            raised instead (to test error handling). Default: echo the prompt.
        model_string: the name shown in usage tables.
        latency_s: seconds each call sleeps, to simulate a slow model.
        cache: off by default, so every call reaches the script.
    """

    provider = "scripted"

    def __init__(
        self,
        script: Script
        | Mapping[str, str | BaseException | Script]
        | Iterable[str | BaseException]
        | None = None,
        *,
        model_string: str = "scripted",
        latency_s: float = 0.0,
        cache: bool | ResponseCache | str | None = False,
        capabilities: Capabilities | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(model_string, cache=cache, capabilities=capabilities, **kwargs)
        self._queue: deque[str | BaseException] | None = None
        if script is None:
            self._script: Script = lambda request: request.prompt
        elif callable(script):
            self._script = script
        elif isinstance(script, Mapping):
            self._script = _by_purpose(dict(script))
        elif isinstance(script, (str, bytes)):
            raise InvalidInputError(
                "script must be a function or a list of replies, not a single string; "
                f"wrap it: ScriptedEngine([{script!r:.40}])"
            )
        else:
            self._queue = deque(script)
            for reply in self._queue:
                if not isinstance(reply, (str, BaseException)):
                    raise InvalidInputError(
                        f"every scripted reply must be a str or an exception, got "
                        f"{type(reply).__name__} ({reply!r:.60})"
                    )
            self._script = self._next_from_queue
        self.latency_s = latency_s
        self.requests: list[Request] = []
        self._lock = threading.Lock()

    def _next_from_queue(self, request: Request) -> str | BaseException:
        assert self._queue is not None
        with self._lock:
            if not self._queue:
                raise ScriptExhaustedError(
                    f"the scripted engine ran out of replies at request {len(self.requests)} "
                    f"(prompt starts {request.prompt[:80]!r}); add more replies or use a function"
                )
            return self._queue.popleft()

    def complete(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(request)
        if self.latency_s:
            time.sleep(self.latency_s)
        reply = self._script(request)
        if isinstance(reply, BaseException):
            raise reply
        if not isinstance(reply, str):
            raise InvalidInputError(
                f"the scripted engine's script returned {type(reply).__name__} ({reply!r:.60}); "
                "it must return the reply text (a str) or an exception to raise"
            )
        return Response(
            texts=(reply,),
            usage=Usage.estimate(request, [reply]),
            model=self.model_string,
            latency_s=self.latency_s,
        )

    def requests_for(self, purpose: str) -> list[Request]:
        """The requests made for ``purpose`` so far, in arrival order."""
        with self._lock:
            return [request for request in self.requests if request.purpose == purpose]

    @property
    def prompts(self) -> list[str]:
        """The user prompt of every request so far, in arrival order."""
        with self._lock:
            return [request.prompt for request in self.requests]

    def reset(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self.requests.clear()


def _by_purpose(replies: dict[str, str | BaseException | Script]) -> Script:
    def script(request: Request) -> str | BaseException:
        if request.purpose not in replies:
            raise ScriptExhaustedError(
                f"the scripted engine has no reply for a {request.purpose!r} request; "
                f"it has replies for {sorted(replies)}"
            )
        reply = replies[request.purpose]
        return reply(request) if callable(reply) else reply

    return script
