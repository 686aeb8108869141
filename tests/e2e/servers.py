"""Start a real server process for a test and wait until it answers."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(
    command: list[str], env: dict, ready_url: str, log: Path, timeout: float = 120
) -> Iterator[subprocess.Popen]:
    """Run `command` until the block ends; fail the test if `ready_url` never answers."""
    with open(log, "w") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"{command[0]} exited: {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(ready_url, timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"{command[0]} did not answer within {timeout:.0f} s")
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen, grace: float = 30) -> None:
    """Ask the process to end; kill it if it has not within `grace` seconds."""
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
