"""A fake OpenAI-compatible chat server on 127.0.0.1: fixed latency, seeded faults, counters.

It speaks just enough of ``POST /v1/chat/completions`` for the official ``openai`` SDK (and so
for ``wordgrad.get_engine("openai/<model>", base_url=...)`` and upstream textgrad's
``ChatExternalClient``). Replies are deterministic functions of the request (:func:`reply_for`),
so a concurrent and a sequential run see the same replies whatever order calls arrive in, and
optimizer updates parse (tags or JSON, whichever the request asks for).

Faults are drawn from a seeded RNG per attempt: HTTP 500, HTTP 429 with ``Retry-After``, or a
hang that sleeps past the client's time-out. Counters say what the server saw: attempts, faults,
answered requests and the tokens it reported.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import socket
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

UPDATE_TAG = "IMPROVED_VARIABLE"
"""Requests that mention this tag are optimizer updates; the reply puts a new value inside it."""

REPLY_WORDS = 40
"""Words in an ordinary reply (its completion tokens are about this many)."""


def digest(texts: Sequence[str]) -> str:
    """A short, stable hash of the request's texts."""
    return hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()[:10]


def reply_for(texts: Sequence[str], schema: Mapping[str, Any] | None = None) -> str:
    """The reply to a request whose messages hold ``texts``.

    With a JSON ``schema``, an object filling its first property; for an optimizer update, the
    new value between the update tags; otherwise a few words derived from the request. Only the
    request decides the reply, never arrival order or time.
    """
    key = digest(texts)
    if schema is not None:
        properties = list(schema.get("properties", {})) or ["reply"]
        return json.dumps({properties[0]: f"Revised instruction {key}: reason, then answer."})
    if any(UPDATE_TAG in text for text in texts):
        return f"<{UPDATE_TAG}>Revised instruction {key}: reason, then answer.</{UPDATE_TAG}>"
    filler = " ".join(f"w{(int(key, 16) >> i) % 97}" for i in range(REPLY_WORDS - 2))
    return f"Reply {key}: {filler}"


def count_tokens(text: str) -> int:
    """A rough token count (4 characters a token), as the server reports it."""
    return max(1, len(text) // 4)


@dataclass
class Faults:
    """Rates (0..1) of faults per attempt, drawn from an RNG seeded with ``seed``."""

    error_500: float = 0.0
    error_429: float = 0.0
    hang: float = 0.0
    retry_after_s: float = 0.2
    hang_s: float = 3.0
    """How long a hanging request sleeps; make it longer than the client's time-out."""
    seed: int = 0


@dataclass
class Counters:
    """What the server saw (thread-safe through the server's lock)."""

    attempts: int = 0
    answered: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    """Injected faults by kind (``error_500``, ``error_429``, ``hang``)."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    prompts: list[str] = field(default_factory=list)
    """The canonical body of every answered request, in arrival order."""

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class FakeOpenAIServer:
    """The server; use :func:`serve` to run one for the length of a ``with`` block.

    ``latency_s`` is added to every answered request and may be changed between runs.
    """

    def __init__(self, latency_s: float = 0.3, faults: Faults | None = None) -> None:
        self.latency_s = latency_s
        self.faults = faults or Faults()
        self.counters = Counters()
        self._lock = threading.Lock()
        self._rng = random.Random(self.faults.seed)
        self._stopping = threading.Event()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._http.daemon_threads = True
        self._thread = threading.Thread(
            target=self._http.serve_forever, name="fake-openai", daemon=True
        )

    @property
    def base_url(self) -> str:
        """The address to give the SDK, e.g. ``http://127.0.0.1:41234/v1``."""
        return f"http://127.0.0.1:{self._http.server_address[1]}/v1"

    def reset(self, faults: Faults | None = None) -> Counters:
        """Start counting afresh (optionally with other faults); return the old counters."""
        with self._lock:
            old, self.counters = self.counters, Counters()
            if faults is not None:
                self.faults = faults
                self._rng = random.Random(faults.seed)
        return old

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()

    # ------------------------------------------------------------------ one request

    def draw_fault(self) -> str | None:
        """Count an attempt and decide whether it fails, and how."""
        with self._lock:
            self.counters.attempts += 1
            draw = self._rng.random()
            faults = self.faults
            for name, rate in (
                ("error_500", faults.error_500),
                ("error_429", faults.error_429),
                ("hang", faults.hang),
            ):
                if draw < rate:
                    self.counters.faults[name] = self.counters.faults.get(name, 0) + 1
                    return name
                draw -= rate
            return None

    def answer(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The completion object for ``body`` (after the configured latency)."""
        texts = [_content_text(message.get("content")) for message in body.get("messages", [])]
        text = reply_for(texts, _requested_schema(body.get("response_format")))
        usage = {
            "prompt_tokens": sum(count_tokens(t) for t in texts),
            "completion_tokens": count_tokens(text),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if self.latency_s:
            self._stopping.wait(self.latency_s)
        with self._lock:
            self.counters.answered += 1
            self.counters.prompt_tokens += usage["prompt_tokens"]
            self.counters.completion_tokens += usage["completion_tokens"]
            self.counters.prompts.append(json.dumps(body, sort_keys=True))
        return {
            "id": f"chatcmpl-{digest(texts)}",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", "fake"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": usage,
        }

    def hang(self) -> None:
        """Sleep past the client's time-out (or until the server stops)."""
        self._stopping.wait(self.faults.hang_s)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def _requested_schema(response_format: Any) -> Mapping[str, Any] | None:
    if not isinstance(response_format, dict) or response_format.get("type") == "text":
        return None
    schema = response_format.get("schema") or response_format.get("json_schema", {}).get("schema")
    return schema if isinstance(schema, dict) else {}


_PATH = re.compile(r"^/(v1/)?chat/completions/?$")


def _handler_for(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real API does

        def setup(self) -> None:
            super().setup()
            # Headers and body leave in separate writes; without this, Nagle's algorithm and
            # delayed ACKs add ~40 ms to every reply.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if not _PATH.match(self.path.split("?")[0]):
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            fault = server.draw_fault()
            if fault == "error_500":
                self._send(500, {"error": {"message": "injected server error"}})
            elif fault == "error_429":
                retry_after = f"{server.faults.retry_after_s:g}"
                self._send(
                    429, {"error": {"message": "injected rate limit"}}, {"Retry-After": retry_after}
                )
            elif fault == "hang":
                server.hang()
                self.close_connection = True
            else:
                self._send(200, server.answer(json.loads(raw or b"{}")))

        def _send(
            self, status: int, payload: dict[str, Any], headers: Mapping[str, str] | None = None
        ) -> None:
            data = json.dumps(payload).encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (e.g. its time-out)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the benchmark prints its own figures."""

    return Handler


@contextmanager
def serve(latency_s: float = 0.3, faults: Faults | None = None) -> Iterator[FakeOpenAIServer]:
    """Run a :class:`FakeOpenAIServer` on 127.0.0.1 for the block, then close it."""
    server = FakeOpenAIServer(latency_s, faults)
    server.start()
    try:
        yield server
    finally:
        server.stop()
