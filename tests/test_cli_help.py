"""`--help` of every command answers without importing TensorFlow (or PyTorch).

Why it matters: TensorFlow takes seconds to import and prints its own start-up lines; a user asking
for the options, or mistyping one, must get argparse's answer at once. Each command is run the way
README documents it (`python -m albert_edge.<module> --help`) in a fresh interpreter, which then
reports the heavy modules it ended up holding.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from albert_edge.__main__ import COMMANDS
from albert_edge.benchmark.__main__ import SUBCOMMANDS
from training_helpers import ENV  # noqa: E402  (tests/ is on sys.path under pytest)

ROOT = Path(__file__).parents[1]
HEAVY = ("tensorflow", "tf_keras", "torch", "transformers")

# Runs `python -m <module> <args>` in this interpreter, then prints the heavy modules it imported.
RUN_AND_REPORT = textwrap.dedent("""
    import json, runpy, sys
    module, args = sys.argv[1], sys.argv[2:]
    sys.argv = [module, *args]
    code = 0
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as stop:
        code = stop.code or 0
    print(json.dumps({"code": code, "heavy": [m for m in %r if m in sys.modules]}))
""" % (HEAVY,))


def _python_m(module: str) -> str:
    """The documented `python -m` name of a command module (`albert_edge.export`, not its __main__)."""
    return module[: -len(".__main__")] if module.endswith(".__main__") else module


HELP_RUNS = ([("albert_edge", ["--help"])]
             + [(_python_m(module), ["--help"]) for module, _ in COMMANDS.values()]
             + [("albert_edge.benchmark", [name, "--help"]) for name in SUBCOMMANDS])


@pytest.mark.slow
@pytest.mark.parametrize("module,args", HELP_RUNS, ids=[" ".join([m, *a]) for m, a in HELP_RUNS])
def test_help_imports_no_tensorflow(module, args):
    res = subprocess.run([sys.executable, "-c", RUN_AND_REPORT, module, *args], env=ENV, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    lines = res.stdout.strip().splitlines()
    report = json.loads(lines[-1])
    assert report["code"] == 0, res.stderr[-2000:]
    assert "usage:" in "\n".join(lines[:-1])
    assert report["heavy"] == [], f"`python -m {module} {' '.join(args)}` imported {report['heavy']}"


@pytest.mark.slow
@pytest.mark.parametrize("cli", ["pretrain", "finetune", "pretraining_data"])
def test_training_cli_help_answers_without_importing_tensorflow(cli):
    """``--help`` and usage errors are instant: TensorFlow is imported only when a job runs."""
    code = textwrap.dedent(f"""
        import sys
        from albert_edge.{cli} import build_parser
        help_text = build_parser().format_help()
        assert "--" in help_text
        print("tensorflow" in sys.modules)
    """)
    res = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == "False"
