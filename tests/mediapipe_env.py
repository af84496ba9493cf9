"""Where the tests find MediaPipe: its own interpreter (see tests/mediapipe_client.py for why).

`make mediapipe-deps` installs it into .tools/mediapipe-venv (pins: tests/requirements-mediapipe.txt);
ALBERT_EDGE_MEDIAPIPE_PYTHON names another. Under `make test` (ALBERT_EDGE_REQUIRE_MEDIAPIPE=1) a
missing MediaPipe fails the tests; a bare `pytest` skips them, saying how to install it.
"""
import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CLIENT = Path(__file__).with_name("mediapipe_client.py")


def python() -> str:
    path = Path(os.environ.get("ALBERT_EDGE_MEDIAPIPE_PYTHON") or REPO / ".tools" / "mediapipe-venv" / "bin" / "python")
    if not path.is_file():
        message = f"MediaPipe's interpreter {path} not found: run `make mediapipe-deps`"
        if os.environ.get("ALBERT_EDGE_REQUIRE_MEDIAPIPE") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return str(path)


def call(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """The client run on `args` (a command and its arguments)."""
    return subprocess.run([python(), str(CLIENT), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "GLOG_minloglevel": "2"})


def run(*args: str, timeout: int = 600):
    """The client's JSON answer for `args`."""
    proc = call(*args, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)
