"""A real Ray cluster on 127.0.0.1 for the tests of this folder: one head node (its raylet starts
the worker processes), no dashboard, no usage reporting, no auth token (loopback only), started once per
module and stopped after it. The head's environment has no API keys: whatever secret a task sees
came through the driver's ``runtime_env``."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# Ray reads these when it is imported: keep every address on loopback, report nothing.
LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
os.environ.update(LOOPBACK)

import ray  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RAY_CPUS = 2


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ours(marker: str) -> list[int]:
    """Processes whose command line names our cluster's private temp folder."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _listening(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, int(port))) == 0


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """The head's address (``127.0.0.1:port``); ``RAY_ADDRESS`` points at it meanwhile."""
    temp_dir = tempfile.mkdtemp(prefix="wgray-")  # short: Ray puts Unix sockets in it
    address = f"127.0.0.1:{_free_port()}"
    settings = {
        **LOOPBACK,
        # Loopback only, so no token: Ray reads a driver's auth mode when it is imported,
        # before a fixture could set it.
        "RAY_AUTH_MODE": "disabled",
    }
    head_env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_API_KEY") and not k.startswith("WORDGRAD_")
    }
    head_env.update(settings, PYTHONPATH=str(ROOT))
    started = time.monotonic()
    head = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("ray")),
            "start",
            "--head",
            "--block",
            "--node-ip-address=127.0.0.1",
            f"--port={address.rsplit(':', 1)[1]}",
            f"--num-cpus={RAY_CPUS}",
            "--include-dashboard=false",
            "--disable-usage-stats",
            f"--temp-dir={temp_dir}",
        ],
        env=head_env,
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**settings, "RAY_ADDRESS": address}.items():
            patch.setenv(name, value)
        try:
            deadline = time.monotonic() + 120
            while not _listening(address):  # ray.init before the GCS is up stalls for minutes
                assert head.poll() is None, "ray start --head exited"
                assert time.monotonic() < deadline, "the Ray head did not come up in 120 s"
                time.sleep(0.2)
            ray.init(address=address, log_to_driver=False, configure_logging=False)
            print(f"\nRay head up and connected in {time.monotonic() - started:.1f} s")
            yield address
        finally:
            ray.shutdown()
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
            for pid in _ours(temp_dir):  # worker processes Ray started in their own sessions
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            shutil.rmtree(temp_dir, ignore_errors=True)
