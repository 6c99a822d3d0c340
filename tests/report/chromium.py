"""A small driver for headless Chromium over the DevTools protocol, on a pipe.

Chromium started with ``--remote-debugging-pipe`` reads protocol messages (JSON, each ended by a
NUL byte) from file descriptor 3 and writes its own to descriptor 4. Using the pipe rather than
a debugging port means no socket at all, and no browser download: it drives the system's
Chromium (``/usr/bin/chromium``) with the standard library only.

Chromium runs with the flags that keep it off the network (no background requests, updates or
sync) and a fresh profile directory.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
OFFLINE_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
)


class DevToolsError(RuntimeError):
    """Chromium answered a command with an error, or did not answer in time."""


def _above_4(fd: int) -> int:
    """``fd`` moved above 4, so that putting the pipe ends at 3 and 4 overwrites neither."""
    if fd > 4:
        return fd
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return moved


class Chromium:
    """One headless Chromium with one page; use as a context manager.

    Args:
        profile: an empty directory for the browser's profile.
        log_path: where Chromium's own stderr goes.
        timeout_s: how long any one command may take.
    """

    def __init__(
        self, profile: Path, log_path: Path, *, executable: Path = CHROMIUM, timeout_s: float = 30
    ) -> None:
        self.timeout_s = timeout_s
        self.events: list[dict[str, Any]] = []
        self._next_id = 0
        self._buffer = b""
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        to_browser_r, from_browser_w = _above_4(to_browser_r), _above_4(from_browser_w)
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in close()
        # bash puts the pipe ends at descriptors 3 and 4, where Chromium expects them.
        redirect = (
            f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w} '
            f"{to_browser_r}<&- {from_browser_w}>&-"
        )
        self._process = subprocess.Popen(
            [
                "/bin/bash",  # dash takes only one-digit descriptors in redirections
                "-c",
                redirect,
                str(executable),
                *OFFLINE_FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            pass_fds=(to_browser_r, from_browser_w),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.session = ""

    # ------------------------------------------------------------------ the protocol

    def send(self, method: str, params: dict[str, Any] | None = None, *, page: bool = True) -> Any:
        """Run one command (on the page's session unless ``page=False``); returns its result."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if page and self.session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        reply = self._wait(lambda m: m.get("id") == message["id"], f"reply to {method}")
        if "error" in reply:
            raise DevToolsError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def wait_event(self, method: str) -> dict[str, Any]:
        """The first event ``method`` received so far or next."""
        for event in self.events:
            if event.get("method") == method:
                return event
        return self._wait(lambda m: m.get("method") == method, method)

    def _wait(self, wanted: Any, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout_s
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "method" in message:
                    self.events.append(message)
                if wanted(message):
                    return dict(message)
            left = deadline - time.monotonic()
            if left <= 0:
                raise DevToolsError(f"no {what} from Chromium within {self.timeout_s}s")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 16)
                if not chunk:
                    raise DevToolsError(f"Chromium closed the pipe while waiting for {what}")
                self._buffer += chunk

    # ------------------------------------------------------------------ a page

    def open_page(self, width: int = 1280, height: int = 900) -> None:
        """Open a page and listen to its console, log and errors."""
        target = self.send("Target.createTarget", {"url": "about:blank"}, page=False)
        attached = self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}, page=False
        )
        self.session = attached["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable")
        self.resize(width, height)

    def resize(self, width: int, height: int) -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def navigate(self, url: str) -> None:
        """Load ``url`` and wait for its load event."""
        self.events = [e for e in self.events if e.get("method") != "Page.loadEventFired"]
        self.send("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (JSON-able values)."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise DevToolsError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path, width: int = 1280, max_height: int = 8000) -> Path:
        """A PNG of the whole page (up to ``max_height`` pixels tall)."""
        height = int(self.evaluate("document.documentElement.scrollHeight"))
        self.resize(width, min(height, max_height))
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def console_errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries seen so far."""
        errors = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(" ".join(str(a.get("value", a)) for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                errors.append(str(params.get("exceptionDetails", {}).get("text", params)))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                errors.append(str(params["entry"].get("text")))
        return errors

    # ------------------------------------------------------------------ closing

    def close(self) -> None:
        try:
            if self._process.poll() is None:
                self.send("Browser.close", page=False)
                self._process.wait(timeout=self.timeout_s)
        except (DevToolsError, OSError, subprocess.TimeoutExpired):
            self._process.kill()
            self._process.wait()
        finally:
            os.close(self._to_browser)
            os.close(self._from_browser)
            self._log.close()

    def __enter__(self) -> Chromium:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
