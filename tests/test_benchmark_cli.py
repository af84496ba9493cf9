"""Every subcommand answers --help; usage mistakes exit 2 without a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from albert_edge.benchmark.__main__ import SUBCOMMANDS, build_parser

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("argv", [[name, "--help"] for name in SUBCOMMANDS] + [
    ["farm", "aws", "--help"], ["farm", "firebase", "--help"], ["farm", "collect", "--help"]])
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser([argv[0]]).parse_args(argv)
    assert exc.value.code == 0
    assert "usage:" in capsys.readouterr().out


@pytest.mark.slow
def test_top_level_lists_subcommands_and_rejects_garbage():
    top = subprocess.run([sys.executable, "-m", "albert_edge.benchmark", "--help"], capture_output=True, text=True,
                         cwd=REPO)
    assert top.returncode == 0
    for name in SUBCOMMANDS:
        assert name in top.stdout
    bad = subprocess.run([sys.executable, "-m", "albert_edge.benchmark", "host", "--runs", "x", "--model", "m"],
                         capture_output=True, text=True, cwd=REPO)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
