"""The Java tokenizer CLI (android_demo/core/tokenize) prints byte-identical output to
`python -m albert_edge.tokenize` on real files, and fails the same way on bad input.

Needs a JDK (javac + java); skipped with the reason when there is none. The Java unit and golden
tests themselves run through android_demo/run_java_tests.sh.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

from conftest import missing_tool  # noqa: E402  (tests/ is on sys.path under pytest)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JAVA_CLI = os.path.join(REPO, "android_demo", "core", "tokenize")
VOCAB = os.path.join(REPO, "albert_edge", "resources", "vocab.txt")
DATA = os.path.join(REPO, "tests", "data")

@pytest.fixture(autouse=True)
def _jdk():
    if shutil.which("javac") is None or shutil.which("java") is None:
        missing_tool("no JDK (javac/java) on PATH: apt-get install -y default-jdk-headless (make java-deps)")


def _crafted_lines() -> list[bytes]:
    spec = importlib.util.spec_from_file_location("make_golden", os.path.join(REPO, "tools", "make_golden.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lines = [t for t in module.CRAFTED_TEXTS if "\n" not in t and t.count("\t") <= 1]
    lines += [f"{a}\t{b}" for a, b in module.CRAFTED_PAIRS if "\n" not in a + b and "\t" not in a + b]
    return [line.encode("utf-8") + b"\n" for line in lines]


def _run(cmd: list[str], stdin: bytes) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, input=stdin, capture_output=True, cwd=REPO, timeout=120)


def _both(args: list[str], stdin: bytes):
    py = _run([sys.executable, "-m", "albert_edge.tokenize", *args], stdin)
    java = _run([JAVA_CLI, *args], stdin)
    return py, java


@pytest.mark.slow
@pytest.mark.parametrize(
    "max_seq_len, max_lines, extra",
    [("128", None, []), ("24", 600, []), ("64", 400, ["--no-lower-case"])],
)
def test_java_cli_output_is_byte_identical_on_real_files(max_seq_len, max_lines, extra):
    """All real pairs and texts + crafted lines at 128; a heavily truncating 24, and cased, on a part."""
    with open(os.path.join(DATA, "tokenizer_pairs.tsv"), "rb") as f:
        pairs = f.read().splitlines(keepends=True)
    with open(os.path.join(DATA, "tokenizer_texts.txt"), "rb") as f:
        texts = f.read().splitlines(keepends=True)
    if max_lines:
        pairs, texts = pairs[: max_lines // 2], texts[: max_lines // 2]
    stdin = b"".join(pairs + texts + _crafted_lines()) + "末行无换行\r".encode("utf-8")
    py, java = _both(["--vocab", VOCAB, "--max-seq-len", max_seq_len, *extra], stdin)
    assert py.returncode == 0, py.stderr.decode()
    assert java.returncode == 0, java.stderr.decode()
    assert py.stdout.count(b"\n") == stdin.count(b"\n") + 1 > (3800 if max_lines is None else max_lines)
    if java.stdout != py.stdout:
        for n, (a, b) in enumerate(zip(py.stdout.split(b"\n"), java.stdout.split(b"\n")), start=1):
            assert a == b, f"line {n} differs:\n python: {a[:200]!r}\n java:   {b[:200]!r}"
    assert java.stdout == py.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, stdin",
    [
        (["--vocab", "/no/such/vocab.txt"], b"x\n"),
        (["--vocab", VOCAB, "--max-seq-len", "2"], b"x\n"),
        (["--vocab", VOCAB, "--max-seq-len", "3"], b"ok\na\tb\n"),
        (["--vocab", VOCAB], b"a\tb\tc\n"),
        (["--vocab", VOCAB], b"ok\n\xe4\xb8\n"),
    ],
)
def test_java_cli_fails_like_python(args, stdin):
    py, java = _both(args, stdin)
    assert py.returncode == java.returncode == 2
    assert java.stdout == py.stdout  # lines before the bad one are printed by both
    def message(stderr: bytes) -> str:  # the text after "error: " on the first error line
        line = next(l for l in stderr.decode().splitlines() if "error: " in l)
        return line.split("error: ", 1)[1]

    assert message(java.stderr) == message(py.stderr)
    assert b"Exception" not in java.stderr and b"Traceback" not in py.stderr
