"""`albert-edge <command>`: one console script in front of every `python -m albert_edge.<module>`."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

HELP_ALL = """
import contextlib, io, json, sys
from albert_edge.__main__ import COMMANDS, main
top = io.StringIO()
with contextlib.redirect_stdout(top):
    code = main(["--help"])
out = {"top": [code, top.getvalue(), "tensorflow" in sys.modules]}
for cmd in COMMANDS:
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            main([cmd, "--help"])
        out[cmd] = [None, buf.getvalue()]
    except SystemExit as e:
        out[cmd] = [e.code, buf.getvalue()]
print(json.dumps(out))
"""


@pytest.mark.slow
def test_every_command_answers_help_and_the_top_level_loads_no_tensorflow():
    res = subprocess.run([sys.executable, "-c", HELP_ALL], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    code, text, loaded_tf = out.pop("top")
    assert code == 0 and not loaded_tf
    from albert_edge.__main__ import COMMANDS
    assert set(out) == set(COMMANDS)
    for cmd, (exit_code, help_text) in out.items():
        assert cmd in text
        assert exit_code == 0 and "usage:" in help_text, cmd


def test_unknown_command_exits_2_and_lists_the_commands(capsys):
    from albert_edge.__main__ import main
    assert main(["tokenise"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'tokenise'" in err and "tokenize" in err and "export" in err
    assert main([]) == 2


@pytest.mark.slow
def test_console_script_runs_a_command_like_python_dash_m():
    script = Path(sys.executable).with_name("albert-edge")
    if not script.is_file():
        pytest.skip("albert-edge console script not installed in this environment (pip install -e .)")
    via_script = subprocess.run([str(script), "tokenize", "--max-seq-len", "8"], input="今天天气\n",
                                capture_output=True, text=True, timeout=60)
    via_module = subprocess.run([sys.executable, "-m", "albert_edge.tokenize", "--max-seq-len", "8"],
                                input="今天天气\n", capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert via_script.returncode == via_module.returncode == 0
    assert via_script.stdout == via_module.stdout
    assert json.loads(via_script.stdout)["input_ids"][:6] == [101, 791, 1921, 1921, 3698, 102]
