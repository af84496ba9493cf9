"""Every command README.md shows either runs here or names the test / CI step that runs it.

Why: a README command that stopped working is the first thing a newcomer hits. The commands are
read from README itself (```bash blocks, their printed output, the ```python block, and inline
`python -m …`, `make …`, `albert-edge …`, `pip …` spans), so a new or changed command fails
`test_every_readme_command_is_run_or_mapped` until it is added to `RUN_HERE` or `COVERED_ELSEWHERE`.
The cheap ones run in `test_readme_command_runs` (slow: a fresh interpreter each); the expensive
ones (the full export, training, device runs) are mapped to where they are exercised.
"""
from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

from albert_edge import resources
from conftest import assert_printed_score  # noqa: E402  (tests/ is on sys.path under pytest)

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
COMMAND_START = re.compile(r"^(python|make|albert-edge|pip|bash)\b")
INLINE = re.compile(r"`((?:python -m|make|albert-edge|pip install) [^`]*)`")


def readme_commands() -> List[Tuple[str, Optional[str]]]:
    """(command, output README shows under it or None), in README order, without repeats.

    Block lines that do not start a command are its printed output; a trailing `# …` is a comment.
    """
    text = README.read_text(encoding="utf-8")
    found: List[Tuple[str, Optional[str]]] = []
    for lang, block in re.findall(r"```(\w*)\n(.*?)```", text, re.S):
        if lang == "python":
            found.append((block.strip(), None))
            continue
        if lang != "bash":
            continue   # the layout tree
        for line in block.splitlines():
            if not line.strip():
                continue
            if line.startswith((" ", "\t")) and found:        # a continuation of the synopsis above
                command, _ = found[-1]
                found[-1] = (f"{command} {line.strip()}", None)
            elif COMMAND_START.match(line):
                found.append((re.sub(r"\s+#.*$", "", line).strip(), None))
            elif found:
                command, _ = found[-1]
                found[-1] = (command, line.strip())
    for command in INLINE.findall(text):
        found.append((" ".join(command.split()), None))      # a span may wrap across lines
    seen, unique = set(), []
    for command, output in found:
        if command not in seen:
            seen.add(command)
            unique.append((command, output))
    return unique


# ------------------------------------------------------------------------------ run by this file
LCQMC_VALID = str(resources.LCQMC_VALID)
SIMILARITY_CALL = 'from albert_edge.similarity import Similarity\nSimilarity().predict_sentence("花呗怎么还款", "花呗如何还钱")'

# README command -> (argv after `python`, stdin, why the argv differs from the README text if it does)
RUN_HERE: Dict[str, Tuple[List[str], Optional[str], str]] = {
    'python -m albert_edge.similarity "我喜欢妈妈做的汤" "妈妈做的汤我很喜欢喝"': ([], None, ""),
    'python -m albert_edge.similarity "花呗怎么还款" "花呗如何还钱"': ([], None, ""),
    'python -m albert_edge.similarity "北京有什么好玩的地方" "上海有什么好玩的地方"': ([], None, ""),
    "python -m albert_edge.tokenize --vocab V --max-seq-len N < lines":
        (["-m", "albert_edge.tokenize", "--vocab", str(resources.VOCAB), "--max-seq-len", "16"],
         "今天天气很好\n今天\t明天\n", "V, N and the input lines are placeholders"),
    "python -m albert_edge.evaluate --model exports/albert_tiny/albert_tiny_int8.tflite --data pairs.tsv":
        (["-m", "albert_edge.evaluate", "--model", str(resources.DEFAULT_MODEL), "--data", LCQMC_VALID,
          "--limit", "20"], None,
         "exports/ exists only after `make export` (the .tflite path is run by tests/test_similarity_evaluate.py); "
         "pairs.tsv is a placeholder; --limit keeps it short"),
    "python -m albert_edge.export --npu list": ([], None, ""),
    "albert-edge --help": (["-m", "albert_edge", "--help"], None,
                           "the console script is `python -m albert_edge` (tests/test_cli.py runs the script)"),
    SIMILARITY_CALL + "   # 0.978781": (["-c", "{}\nprint(round({}, 6))".format(*SIMILARITY_CALL.splitlines())], None,
                                         "the library call, printed"),
}

# ------------------------------------------------------------------------------ run elsewhere
COVERED_ELSEWHERE: Dict[str, str] = {
    "make export": "the full tiny export (minutes): `make export` by hand; the same pipeline on a mini model is "
                   "tests/test_export.py::test_export_writes_every_variant_with_report_and_passes_fp32_parity",
    "python -m albert_edge.export tiny": "= make export (above)",
    "make test": "CI: .ci/run runs `make test` on a clean clone",
    "make test PYTEST_WORKERS=0": "CI's `make test` (the same target); the variable only sets pytest-xdist's "
                                  "-n (0 = in one process), which test_pytest_workers_variable_reaches_pytest checks",
    "make test-fast": "the `pytest -m \"not slow\"` loop: every test CI runs minus the slow ones; "
                      "test_install_extras_and_make_targets_exist checks the target exists",
    "python -m albert_edge.export tiny [--checkpoint DIR] [--config FILE] [--out DIR] "
    "[--variants fp32,fp16,dynamic_int8,int8] [--seq-lens 32,64,128] [--calibration FILE] "
    "[--eval FILE] [--task pairs|single|nli|mlm] [--max-accuracy-drop 1.0] [--mediapipe]":
        "a synopsis: test_synopses_name_real_flags (here) checks every flag and variant",
    "python -m albert_edge.finetune --task single --labels negative,positive --train-files senti_train.tsv "
    "--eval-file senti_dev.tsv --init-checkpoint models/albert_tiny_lcqmc --output-dir runs/senti":
        "the same steps on a mini model with real ChnSentiCorp / OCNLI samples: "
        "tests/test_export_tasks.py (fine-tune, then export with its own calibration and eval files)",
    "python -m albert_edge.export tiny --checkpoint runs/senti --calibration senti_train.tsv --eval senti_dev.tsv "
    "--out exports/senti": "tests/test_export_tasks.py::test_export_gates_every_variant_on_the_tasks_own_eval_file",
    "python -m albert_edge.export tiny --checkpoint runs/senti --calibration senti_train.tsv --eval senti_dev.tsv "
    "--out exports/chnsenticorp --seq-lens 64 --mediapipe":
        "the same export of a fine-tuned mini ChnSentiCorp model with --mediapipe: tests/test_mediapipe.py "
        "(every variant, read back by MediaPipe's MetadataDisplayer and TextClassifier)",
    'from mediapipe.tasks.python import text\nclassifier = text.TextClassifier.create_from_model_path('
    '"exports/chnsenticorp/albert_tiny_int8_L64.mediapipe.tflite")\nprint(classifier.classify("房间很干净，服务也周到")'
    '.classifications[0].categories[0])':
        "MediaPipe's own interpreter (make mediapipe-deps): tests/test_mediapipe.py::test_readme_mediapipe_example_runs",
    "make mediapipe-deps": "part of `make test` (test-python); tests/test_mediapipe.py runs MediaPipe through it",
    "python -m albert_edge.export tiny --tf1-meta ~/albert_tiny_zh/albert_model.ckpt":
        "tests/test_export.py::test_albert_zh_own_tf1_graph_is_frozen_and_converted (albert_zh's own .meta graph)",
    "python -m albert_edge.evaluate --model models/albert_tiny_lcqmc --behaviour":
        "tests/test_behaviour.py::test_bundled_model_meets_every_behaviour_target (the same argv, in-process)",
    "albert-edge <command>": "tests/test_cli.py::test_every_command_answers_help_and_the_top_level_loads_no_tensorflow",
    "python -m albert_edge.pretraining_data": "tests/test_cli_help.py (--help); tests/test_pretraining_data.py",
    "python -m albert_edge.pretrain": "tests/test_cli_help.py (--help); tests/test_pretrain.py::test_pretrain_resumes_after_kill_9",
    "python -m albert_edge.finetune": "tests/test_cli_help.py (--help); "
                                      "tests/test_finetune.py::test_finetune_label_outside_label_set_names_file_and_line",
    "python -m albert_edge.pretraining_pairs": "tests/test_cli_help.py (--help); tests/test_pretrain_torch.py",
    "python -m albert_edge.pretrain_torch": "tests/test_cli_help.py (--help); tests/test_pretrain_torch.py",
    'pip install -e ".[torch]"': "test_install_extras_and_make_targets_exist (here): the extra is declared",
    "python -m albert_edge.embedding_init":
        "tests/test_embedding_init.py::test_embedding_init_cli_writes_a_checkpoint_finetune_starts_from",
    "python -m albert_edge.benchmark train-throughput":
        "tests/test_train_throughput.py::test_measures_both_libraries_on_a_mini_config",
    "python -m albert_edge.benchmark {parse,host,adb,farm,compare,peers,arm,npu-check,train-throughput}":
        "test_benchmark_list_is_every_subcommand (here); tests/test_cli_help.py runs each one's --help",
    "python -m albert_edge.benchmark host --model exports/albert_tiny/albert_tiny_int8.tflite --threads 1,2 --runs 30":
        "needs `make export`; the same CLI: tests/test_benchmark_host.py::test_cli_isolated_json_and_bad_input",
    "python -m albert_edge.benchmark adb --model … --all":
        "needs a phone; tests/test_benchmark_adb.py runs it against tests/fake_adb",
    "python -m albert_edge.benchmark adb --delegates npu --model M.sm8650.tflite … --qnn-device-libs DIR":
        "needs a Snapdragon phone and QAIRT; tests/test_benchmark_adb.py::"
        "test_npu_runs_the_model_of_each_phones_soc_and_reports_the_npu runs it against tests/fake_adb",
    "make arm-check": "tests/test_benchmark_arm.py (the same runs on the mini export)",
    "python -m albert_edge.benchmark arm --model M… [--cpu cortex-a76,cortex-a72,max,sme=off] [--seq-len 32,128] "
    "[--pairs N] [--json OUT]": "a synopsis: test_synopses_name_real_flags (here); tests/test_benchmark_arm.py runs it",
    "python -m albert_edge.export tiny --verify-arm":
        "tests/test_benchmark_arm.py::test_export_verify_arm_records_rows_in_report",
    "make android-assets": "tests/test_android_apk.py (android_check.sh copies the assets)",
    "make android-check": "tests/test_android_apk.py::test_android_check_builds_a_signed_aligned_apk",
    "make android-aipack": "needs `make export`; the same script on a mini export: "
                           "tests/test_android_jvm.py::test_aipack_layout_follows_the_documented_format",
    "python -m albert_edge.similarity --model M --pairs FILE": "the synopsis of the comparison with the app's "
        "path (M, FILE placeholders): tests/test_android_jvm.py runs it (python_cli) next to similarity-jvm",
    "python -m albert_edge.benchmark peers --runs 60 --threads 1 --json benchmark/peers_results.json":
        "minutes of timing; the same CLI on a mini model: tests/test_peers.py::test_peers_runs_end_to_end_on_a_mini_model",
    "make actionlint-deps": "tests/test_android_ci.py::test_actionlint_reports_a_bad_workflow (make test installs it)",
    "make npu-deps": "make test's test-python builds the same .tools/qnn/libQnnLpai.so and installs the test extra "
                     "(onnxruntime-qnn); tests/test_npu.py uses both",
    'pip install -e ".[npu]"': "test_install_extras_and_make_targets_exist (here): the extra is declared",
    "python -m albert_edge.export tiny --npu sm8550,sm8650,sm8750":
        "the same pipeline on the mini export: tests/test_npu.py::test_export_npu_compiles_every_signature_fully_onto_the_npu",
    "python -m albert_edge.benchmark npu-check --model exports/albert_tiny/albert_tiny_int8.sm8650.tflite "
    "--data pairs.tsv --pairs 5":
        "needs `make export`; the same CLI on the mini export: "
        "tests/test_npu.py::test_npu_check_passes_on_the_emulator_with_the_shared_rule",
    "python -m albert_edge.export tiny --out exports/albert_tiny_npuvar --variants int8,int8_full,int16x8 "
    "--stages convert --npu sm8550,sm8650,sm8750 --npu-variants int8,int8_full,int16x8 --allow-cpu-fallback":
        "the measurement behind README's variant table (minutes); --npu-variants and the gate on the mini export: "
        "tests/test_npu.py",
    "python -m albert_edge.benchmark npu-check --model …sm8650.tflite --data albert_edge/resources/samples/lcqmc_dev.tsv "
    "--pairs 10 --seq-len 32": "the measurement behind README's variant table; the same CLI: tests/test_npu.py",
    "python -m albert_edge.evaluate --model …_int8_full.tflite --data albert_edge/resources/samples/lcqmc_dev.tsv":
        "the measurement behind README's variant table; the same CLI: tests/test_similarity_evaluate.py",
    "make npu-check": "minutes of emulation on `make export`'s output; its two commands on the mini export: tests/test_npu.py",
}


def test_every_readme_command_is_run_or_mapped():
    commands = [command for command, _ in readme_commands()]
    assert len(commands) >= 20, "README lost its commands, or this reader lost track of them"
    unmapped = [c for c in commands if c not in RUN_HERE and c not in COVERED_ELSEWHERE]
    assert not unmapped, f"README commands neither run here nor mapped to a test: {unmapped}"
    stale = [c for c in [*RUN_HERE, *COVERED_ELSEWHERE] if c not in commands]
    assert not stale, f"commands mapped here that README no longer shows: {stale}"


def _options(parser) -> set:
    return {opt for action in parser._actions for opt in action.option_strings}


def test_synopses_name_real_flags():
    from albert_edge.benchmark.__main__ import build_parser as benchmark_parser
    from albert_edge.export import variants
    from albert_edge.export.__main__ import build_parser as export_parser

    arm_parser = benchmark_parser(["arm"])._subparsers._group_actions[0].choices["arm"]
    for prefix, parser in (("python -m albert_edge.export tiny [--checkpoint", export_parser()),
                           ("python -m albert_edge.benchmark arm --model", arm_parser)):
        synopsis = next(c for c in COVERED_ELSEWHERE if c.startswith(prefix))
        unknown = set(re.findall(r"--[a-z][a-z0-9-]*", synopsis)) - _options(parser)
        assert not unknown, f"README's synopsis `{prefix} …` names unknown flags: {sorted(unknown)}"
    synopsis = next(c for c in COVERED_ELSEWHERE if c.startswith("python -m albert_edge.export tiny [--checkpoint"))
    shown = re.search(r"--variants ([\w,]+)", synopsis).group(1).split(",")
    assert set(shown) <= set(variants.names())


def test_benchmark_list_is_every_subcommand():
    from albert_edge.benchmark.__main__ import SUBCOMMANDS

    listed = next(c for c in COVERED_ELSEWHERE if c.startswith("python -m albert_edge.benchmark {"))
    assert re.search(r"\{(.*)\}", listed).group(1).split(",") == list(SUBCOMMANDS)


def test_pytest_workers_variable_reaches_pytest():
    """`make test PYTEST_WORKERS=N` is pytest-xdist's -n, and pytest-xdist is a test extra."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^PYTEST_WORKERS \?= auto$", makefile, re.M)
    assert re.search(r"pytest -q -n \$\(PYTEST_WORKERS\)", makefile)
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert any(dep.startswith("pytest-xdist") for dep in extras["test"])


def test_install_extras_and_make_targets_exist():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for command in [*RUN_HERE, *COVERED_ELSEWHERE]:
        extra = re.search(r'pip install -e "\.\[(\w+)\]"', command)
        if extra:
            assert extra.group(1) in project["optional-dependencies"], command
    targets = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M))
    for command in COVERED_ELSEWHERE:
        if command.startswith("make "):
            assert command.split()[1] in targets, command


RUNS = [(command, output) for command, output in readme_commands() if command in RUN_HERE]


@pytest.mark.slow
@pytest.mark.parametrize("command,shown", RUNS, ids=[c.splitlines()[-1][:60] for c, _ in RUNS])
def test_readme_command_runs(command, shown):
    argv, stdin, _ = RUN_HERE[command]
    if not argv:                                  # runs exactly as README writes it
        argv = shlex.split(command)[1:]
    res = subprocess.run([sys.executable, *argv], input=stdin, capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert res.returncode == 0, f"{command}\n{res.stderr[-3000:]}"
    out = res.stdout.strip()
    if shown is not None:                          # README prints the output under the command
        assert_printed_score(float(out), shown, f"README (`{command}`)")
    if "# 0." in command:                          # the python block's comment is its output
        assert_printed_score(float(out), command.rsplit("# ", 1)[1], "README's python block")
    if "albert_edge.tokenize" in command:
        rows = [json.loads(line) for line in out.splitlines()]
        assert len(rows) == 2 and all(len(r["input_ids"]) == 16 for r in rows)
        assert rows[0]["input_ids"][0] == 101 and rows[1]["segment_ids"].count(1) >= 2
    if "albert_edge.evaluate" in command:
        assert json.loads(out.splitlines()[-1])["n"] == 20
    if command == "albert-edge --help":
        assert "commands:" in out and "benchmark" in out
