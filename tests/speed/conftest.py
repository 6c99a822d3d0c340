"""Fixtures for the speed tests: a scripted engine that answers like the benchmark's server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from benchmarks.server import digest, reply_for

import wordgrad as tg
from wordgrad.llm import Request


def texts_of(request: Request) -> list[str]:
    return [message.text for message in request.messages]


def shuffled_script(request: Request) -> str:
    """The server's reply, after 0-3 ms chosen by the request, so calls finish out of order."""
    texts = texts_of(request)
    time.sleep(int(digest(texts), 16) % 4 / 1000)
    return reply_for(texts)


@pytest.fixture
def engine() -> tg.ScriptedEngine:
    return tg.ScriptedEngine(shuffled_script)


class InFlight:
    """A script that counts the calls running at once; each holds until ``hold()`` returns."""

    def __init__(self, hold: Callable[[], object], reply: Callable[[Request], str]) -> None:
        self.hold = hold
        self.reply = reply
        self.running = 0
        self.peak = 0
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> str:
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        self.hold()
        with self._lock:
            self.running -= 1
        return self.reply(request)
