"""Issue 15: no gate can be switched off by bad input, every user mistake exits 2 with a message,
nothing is left behind.

The contract (README, "Exit codes"): 0 success, 1 a gate failed (named), 2 unusable input or
environment (what, where, how to fix) — and never a traceback. Where the exit code is the contract
a case runs the command in a subprocess; cases whose code comes from a `main(argv)` run in-process.
Most cases fail before TensorFlow loads, so the whole file stays cheap.
"""
from __future__ import annotations

import argparse
import errno
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "albert_edge" / "resources" / "samples"
VALID = SAMPLES / "lcqmc_valid.tsv"
CALIB = SAMPLES / "lcqmc_calib.tsv"
BENCH_OUTPUT = ROOT / "tests" / "data" / "benchmark_outputs" / "litert-2.3.0_benchmark_litert_model_cpu.txt"
FAKE_ADB = ROOT / "tests" / "fake_adb" / "adb"
sys.path.insert(0, str(ROOT / "tests" / "fake_adb"))

TF_NOISE = ("absl::InitializeLog", "cuInit", "oneDNN custom operations", "cpu_feature_guard", "cudart_stub")


# ------------------------------------------------------------------------------------------ helpers
def run_cli(module: str, *args: str, stdin: bytes | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `python -m module args` as a user would: TF_CPP_MIN_LOG_LEVEL unset (conftest sets it)."""
    env = dict(os.environ)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    proc = subprocess.run([sys.executable, "-m", module, *args], input=stdin, capture_output=True,
                          env=env, cwd=ROOT, timeout=timeout)
    proc.stdout = proc.stdout.decode("utf-8", "replace")
    proc.stderr = proc.stderr.decode("utf-8", "replace")
    return proc


def assert_exit(proc: subprocess.CompletedProcess, code: int, *needles: str) -> None:
    """Exit `code`, every needle in stderr, no traceback, and none of TensorFlow's C++ start-up lines."""
    text = proc.stdout + proc.stderr
    assert proc.returncode == code, f"exit {proc.returncode}, expected {code}:\n{text[-3000:]}"
    assert "Traceback" not in text, text[-3000:]
    for needle in needles:
        assert needle in proc.stderr, f"{needle!r} not in stderr:\n{proc.stderr[-3000:]}"
    noise = [n for n in TF_NOISE if n in proc.stderr]
    assert not noise, f"TensorFlow log lines {noise} in stderr:\n{proc.stderr[-3000:]}"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def rows_file(path: Path, **override) -> Path:
    row = {"device_model": "host", "model": "a_int8.tflite", "signature": "L32", "threads": 1,
           "inference_avg_us": 1000.0, "p90_us": 1200.0, "init_us": 5000.0, "peak_mem_mb": 60.0,
           "mem_overall_mb": 5.0}
    row.update(override)
    return write(path, json.dumps([row]))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    """Every bad input the command-line table needs, made once."""
    d = tmp_path_factory.mktemp("bad_input")
    lines = VALID.read_text(encoding="utf-8").splitlines()[:300]
    bad_eval = list(lines)
    a, b, _ = bad_eval[6].split("\t")
    bad_eval[6] = f"{a}\t{b}\tx"                      # line 7: a typo'd label
    calib = CALIB.read_text(encoding="utf-8").splitlines()[:40]
    bad_train = list(calib)
    a, b, _ = bad_train[8].split("\t")
    bad_train[8] = f"{a}\t{b}\tx"                     # line 9
    from tiny_model import build_tiny_tflite          # cached on disk across sessions
    out = {
        "tmp": d,
        "model": str(build_tiny_tflite(d / "albert_tiny_fp32.tflite")),
        "afile": str(write(d / "afile", "not a folder\n")),
        "eval300": str(write(d / "e300.tsv", "\n".join(lines) + "\n")),
        "eval300x": str(write(d / "e300x.tsv", "\n".join(bad_eval) + "\n")),
        "train_x": str(write(d / "train_x.tsv", "\n".join(bad_train) + "\n")),
        "pairs_latin1": str(d / "pairs_latin1.tsv"),
        "base": str(rows_file(d / "base.json")),
        "nan": str(write(d / "nan.json", rows_file(d / "tmp.json").read_text().replace("1000.0", "NaN"))),
        "slow": str(rows_file(d / "slow.json", inference_avg_us=1500.0, p90_us=1800.0)),
        "text": str(rows_file(d / "text.json", inference_avg_us="fast")),
        "nulls": str(rows_file(d / "nulls.json", inference_avg_us=None, p90_us=None, peak_mem_mb=None,
                               mem_overall_mb=None)),
        "other": str(rows_file(d / "other.json", device_model="pixel", model="b_fp32.tflite", signature="L128",
                               inference_avg_us=1500.0)),
        "badjson": str(write(d / "bad.json", '[{"inference_avg_us": 1,\n  "p90_us": }]\n')),
    }
    Path(out["pairs_latin1"]).write_bytes("你好\t再见\n".encode("utf-8") + "caf\xe9\tx\n".encode("latin-1"))
    return out


# --------------------------------------------------------------- cheap commands (before TensorFlow)
# (id, module, args, exit code, needles in stderr); {name} is filled from the `files` fixture.
CLI_CASES = [
    # 2. numeric flags are validated by argparse, naming the flag (not "the file may be corrupt")
    ("evaluate-threads-0", "albert_edge.evaluate", ["--model", "{model}", "--data", "{eval300}", "--threads", "0"],
     2, ["--threads", "an integer from 1 to"]),
    ("evaluate-threads-neg", "albert_edge.evaluate", ["--model", "{model}", "--data", "{eval300}", "--threads", "-1"],
     2, ["--threads"]),
    ("evaluate-limit-0", "albert_edge.evaluate", ["--model", "{model}", "--data", "{eval300}", "--limit", "0"],
     2, ["--limit"]),
    ("evaluate-limit-neg", "albert_edge.evaluate", ["--model", "{model}", "--data", "{eval300}", "--limit", "-1"],
     2, ["--limit"]),
    ("similarity-threads-0", "albert_edge.similarity", ["--model", "{model}", "--threads", "0", "a", "b"],
     2, ["--threads"]),
    ("host-threads-0", "albert_edge.benchmark", ["host", "--model", "{model}", "--threads", "0"], 2, ["--threads"]),
    ("host-threads-abc", "albert_edge.benchmark", ["host", "--model", "{model}", "--threads", "abc"],
     2, ["--threads", "'abc'"]),
    ("host-runs-0", "albert_edge.benchmark", ["host", "--model", "{model}", "--runs", "0"], 2, ["--runs"]),
    ("host-warmup-neg", "albert_edge.benchmark", ["host", "--model", "{model}", "--warmup", "-1"], 2, ["--warmup"]),
    # 2. an unwritable output is found before measuring
    ("host-json-unwritable", "albert_edge.benchmark",
     ["host", "--model", "{model}", "--runs", "1", "--json", "{afile}/rows.json"], 2, ["--json", "afile"]),
    ("parse-json-unwritable", "albert_edge.benchmark", ["parse", str(BENCH_OUTPUT), "--json", "{afile}/run.json"],
     2, ["--json", "afile"]),
    # 1. compare: a regression gate either checks or exits 2 saying why it cannot
    ("compare-nan-latency", "albert_edge.benchmark", ["compare", "{base}", "{nan}"], 2, ["nan.json", "inference_avg_us"]),
    ("compare-all-gated-null", "albert_edge.benchmark", ["compare", "{nulls}", "{nulls}"], 2, ["gated metrics"]),
    ("compare-bound-nan", "albert_edge.benchmark", ["compare", "{base}", "{slow}", "--max-regression", "nan"],
     2, ["--max-regression", "finite"]),
    ("compare-bound-inf", "albert_edge.benchmark", ["compare", "{base}", "{slow}", "--max-regression", "1e309"],
     2, ["--max-regression", "finite"]),
    ("compare-non-numeric", "albert_edge.benchmark", ["compare", "{base}", "{text}"], 2, ["text.json", "'fast'"]),
    ("compare-other-model-signature", "albert_edge.benchmark", ["compare", "{base}", "{other}"],
     2, ["no configuration present in both"]),
    ("compare-bad-json", "albert_edge.benchmark", ["compare", "{base}", "{badjson}"], 2, ["bad.json:2"]),
    ("compare-real-regression-still-fails", "albert_edge.benchmark", ["compare", "{base}", "{slow}"], 1, []),
    # 6. messages that send the user the right way
    ("tokenize-vocab-is-folder", "albert_edge.tokenize", ["--vocab", "{tmp}"], 2, ["is a folder"]),
    ("similarity-pairs-not-utf8", "albert_edge.similarity", ["--model", "{model}", "--pairs", "{pairs_latin1}"],
     2, ["pairs_latin1.tsv:2", "UTF-8"]),
    ("similarity-pairs-folder", "albert_edge.similarity", ["--model", "{model}", "--pairs", "{tmp}"],
     2, ["--pairs", "folder"]),
    # 3. training: a typo is never a new class
    ("finetune-typo-label", "albert_edge.finetune",
     ["--task", "pairs", "--train-files", "{train_x}", "--output-dir", "{tmp}/ft_out", "--config", "tiny"],
     2, ["train_x.tsv:9", "'x'"]),
    ("finetune-single-needs-labels", "albert_edge.finetune",
     ["--task", "single", "--train-files", "{tmp}/single.tsv", "--output-dir", "{tmp}/ft_single", "--config", "tiny"],
     2, ["--labels"]),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_bad_input(case, files):
    _, module, args, code, needles = case
    write(files["tmp"] / "single.tsv", "".join(f"句子{i}\t{'pos' if i % 2 else 'neg'}\n" for i in range(40)))
    proc = run_cli(module, *[a.format(**files) for a in args])
    assert_exit(proc, code, *needles)


@pytest.mark.slow
def test_finetune_label_error_comes_before_tensorflow_and_writes_nothing(files):
    out = files["tmp"] / "ft_nothing"
    code = ("import sys; from albert_edge.finetune import main; "
            f"rc = main(['--task', 'pairs', '--train-files', {files['train_x']!r}, '--output-dir', {str(out)!r}]); "
            "print('TF_LOADED' if 'tensorflow' in sys.modules else 'TF_NOT_LOADED'); sys.exit(rc)")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert_exit(proc, 2, "train_x.tsv:9")
    assert "TF_NOT_LOADED" in proc.stdout and not out.exists()


@pytest.mark.slow
def test_finetune_typo_with_init_checkpoint_names_the_line_not_the_shape(files, mini_checkpoint):
    proc = run_cli("albert_edge.finetune", "--task", "pairs", "--train-files", files["train_x"],
                   "--output-dir", str(files["tmp"] / "ft_init"), "--init-checkpoint", str(mini_checkpoint))
    assert_exit(proc, 2, "train_x.tsv:9")
    assert "shape" not in proc.stderr


def test_host_keeps_its_rows_when_the_json_cannot_be_written(monkeypatch, capsys, tmp_path):
    from albert_edge.benchmark import __main__ as bench
    from albert_edge.benchmark import host

    rows = [{"status": "ok", "model": "m.tflite", "signature": "L32", "threads": 1, "inference_avg_us": 1.0}]
    monkeypatch.setattr(host, "run_host", lambda *a, **k: rows)

    def full_disk(path, obj):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(host, "atomic_write_json", full_disk)
    model = tmp_path / "m.tflite"
    model.write_bytes(b"x")
    code = bench.main(["host", "--model", str(model), "--json", str(tmp_path / "rows.json")])
    out, err = capsys.readouterr()
    assert code == 2 and "No space left" in err and "Traceback" not in err
    assert json.loads(out) == rows            # the measurements are not lost


# ------------------------------------------------------------------------ export (the accuracy gate)
@pytest.mark.slow
def test_export_bad_eval_label_exits_2_before_freezing(files, mini_checkpoint):
    out = files["tmp"] / "export_bad_eval"
    proc = run_cli("albert_edge.export", "tiny", "--checkpoint", str(mini_checkpoint), "--out", str(out),
                   "--variants", "fp32,int8", "--seq-lens", "16,32", "--eval", files["eval300x"], "--no-progress")
    assert_exit(proc, 2, "e300x.tsv:7", "label 'x'")
    assert not out.exists()                   # nothing frozen, no empty folder left


@pytest.mark.slow
def test_export_out_is_a_file_and_tensorflow_is_quiet(files):
    proc = run_cli("albert_edge.export", "tiny", "--out", files["afile"], "--no-progress")
    assert_exit(proc, 2, "--out", "is a file")


@pytest.mark.slow
def test_export_empty_variants_is_a_usage_error(files):
    proc = run_cli("albert_edge.export", "tiny", "--variants", ",", "--out", str(files["tmp"] / "nv"))
    assert_exit(proc, 2, "--variants")
    assert not (files["tmp"] / "nv").exists()


EXPORT_FLAG_CASES = [
    (["--max-accuracy-drop", "nan"], "--max-accuracy-drop"),
    (["--max-accuracy-drop", "-1"], "--max-accuracy-drop"),
    (["--max-accuracy-drop", "1e309"], "--max-accuracy-drop"),
    (["--threads", "0"], "--threads"),
    (["--threads", "1,-1"], "--threads"),
    (["--eval-limit", "0"], "--eval-limit"),
    (["--latency-runs", "0"], "--latency-runs"),
    (["--seq-lens", "0"], "--seq-lens"),
    (["--variants", ","], "--variants"),
    (["--stages", ","], "--stages"),
    (["--qat-steps", "-5"], "--qat-steps"),
]


@pytest.mark.parametrize("args,flag", EXPORT_FLAG_CASES, ids=[" ".join(c[0]) for c in EXPORT_FLAG_CASES])
def test_export_flags_are_validated_by_argparse(args, flag, capsys, tmp_path, mini_checkpoint):
    from albert_edge.export.__main__ import main
    with pytest.raises(SystemExit) as exc:      # small settings first: the flag under test comes last
        main([*_small_export_args(mini_checkpoint, tmp_path / "o"), *args])
    assert exc.value.code == 2 and flag in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("field,value", [("max_accuracy_drop", float("nan")), ("max_accuracy_drop", -1.0),
                                         ("variants", ()), ("threads", (0,)), ("latency_runs", 0),
                                         ("eval_limit", -1)])
def test_export_library_rejects_options_that_disable_a_gate(field, value, tmp_path, mini_checkpoint):
    from albert_edge.export.pipeline import ExportError, ExportOptions, export
    base = dict(checkpoint=str(mini_checkpoint), out=str(tmp_path / "o"), variants=("fp32",), seq_lens=(16,),
                threads=(1,), latency_runs=1, eval_limit=20, progress=False)
    base[field] = value
    opts = ExportOptions(**base)
    with pytest.raises(ExportError):
        export(opts)


def _small_export_args(mini_checkpoint, out: Path) -> list:
    return ["tiny", "--checkpoint", str(mini_checkpoint), "--out", str(out), "--variants", "fp32",
            "--seq-lens", "16,32", "--threads", "1", "--latency-runs", "1", "--eval-limit", "40",
            "--eval", str(VALID), "--no-progress"]


def _export_main(mini_checkpoint, out: Path, *extra: str) -> int:
    from albert_edge.export.__main__ import main
    return main([*_small_export_args(mini_checkpoint, out), *extra])


@pytest.mark.parametrize("failure", ["enospc", "erofs", "tf_resource_exhausted"])
def test_export_full_or_read_only_disk_is_exit_2(failure, mini_checkpoint, monkeypatch, tmp_path, capsys):
    import tensorflow as tf
    from albert_edge.export import freeze

    def broken(model, out_dir, *a, **k):
        if failure == "enospc":
            raise OSError(errno.ENOSPC, "No space left on device", str(out_dir))
        if failure == "erofs":
            raise OSError(errno.EROFS, "Read-only file system", str(out_dir))
        raise tf.errors.ResourceExhaustedError(None, None, f"{out_dir}/variables/variables_temp; No space left on device")

    monkeypatch.setattr(freeze, "save_saved_model", broken)
    code = _export_main(mini_checkpoint, tmp_path / "o")
    err = capsys.readouterr().err
    assert code == 2, err
    assert "error:" in err and ("No space left" in err or "Read-only" in err) and "Traceback" not in err


def test_export_unwritable_out_is_exit_2_up_front(mini_checkpoint, capsys, tmp_path):
    target = Path("/sys/albert_edge_bad_input_test")
    try:
        target.mkdir()
    except OSError:
        pass
    else:
        target.rmdir()
        pytest.skip("/sys is writable here")
    code = _export_main(mini_checkpoint, target)
    err = capsys.readouterr().err
    assert code == 2 and "--out" in err and "writable" in err


# ------------------------------------------------------------------ concurrency, leftovers, digests
def test_second_export_into_a_locked_folder_exits_2_naming_the_holder(mini_checkpoint, capsys, tmp_path):
    from albert_edge.fileio import exclusive_lock
    out = tmp_path / "o"
    with exclusive_lock(out, "export"):
        code = _export_main(mini_checkpoint, out)
    err = capsys.readouterr().err
    assert code == 2 and "in use by another export" in err and f"pid {os.getpid()}" in err
    assert not (out / ".lock").exists()       # the holder's name goes with the holder


def test_export_removes_what_a_killed_run_left(files, mini_checkpoint, capsys, tmp_path):
    out = tmp_path / "o"
    stale_dir = out / ".saved_model.ab12cd34"
    (stale_dir / "variables").mkdir(parents=True)
    (stale_dir / "variables" / "variables.data-00000-of-00001").write_bytes(b"\0" * 1024)
    stale_file = out / ".albert_tiny_fp32.tflite.zz99yy88.tmp"
    stale_file.write_bytes(b"half")
    keep = out / ".fingerprints.json"
    keep.write_text("{}")
    code = _export_main(mini_checkpoint, out, "--eval", files["eval300x"])   # stops on the bad label
    assert code == 2
    assert not stale_dir.exists() and not stale_file.exists() and keep.exists()


def test_fingerprints_hold_a_content_digest(tmp_path):
    from albert_edge.export.pipeline import Fingerprints
    art = tmp_path / "m.tflite"
    art.write_bytes(b"TFL3" * 1000)
    fp = Fingerprints(tmp_path)
    fp.record(art.name, "inputs-1")
    assert Fingerprints(tmp_path).fresh(art.name, "inputs-1")
    assert not Fingerprints(tmp_path).fresh(art.name, "inputs-2")
    art.write_bytes(b"TFL3" * 10)             # truncated: must be rebuilt, not reused
    assert not Fingerprints(tmp_path).fresh(art.name, "inputs-1")
    (tmp_path / ".fingerprints.json").write_text(json.dumps({art.name: "inputs-1"}))   # old format
    assert not Fingerprints(tmp_path).fresh(art.name, "inputs-1")
    sm = tmp_path / "saved_model"
    (sm / "variables").mkdir(parents=True)
    (sm / "variables" / "v.data").write_bytes(b"abc")
    fp = Fingerprints(tmp_path)
    fp.record("saved_model", "d")
    assert Fingerprints(tmp_path).fresh("saved_model", "d")
    (sm / "variables" / "v.data").write_bytes(b"ab")
    assert not Fingerprints(tmp_path).fresh("saved_model", "d")


# --------------------------------------------------------------------------------- Python API
BAD_PAIRS = [
    (("你好", "再见"), TypeError, "bare pair"),
    ([("你好", "再见"), "再见"], TypeError, "pair 1"),
    ([(1, "再见")], TypeError, "pair 0: the first sentence must be str, got int"),
    ([("你好", b"bytes")], TypeError, "pair 0: the second sentence must be str, got bytes"),
    ([("你好", "再见", "1")], TypeError, "pair 0"),
    ([("你好", "  ")], ValueError, "pair 0: the second sentence is empty"),
    (42, TypeError, "got int"),
    ("你好再见", TypeError, "got str"),
]


@pytest.mark.parametrize("pairs,error,message", BAD_PAIRS, ids=[repr(c[0])[:30] for c in BAD_PAIRS])
def test_similarity_pairs_are_checked(pairs, error, message):
    from albert_edge.similarity import check_pairs
    with pytest.raises(error, match=message.replace("(", r"\(")):
        check_pairs(pairs)


def test_similarity_accepts_a_generator_and_scores_one_pair(files):
    from albert_edge.similarity import Similarity
    sim = Similarity(files["model"])
    pairs = [("我想办信用卡", "怎么申请信用卡"), ("今天天气", "明天下雨")]
    from_list = sim.predict_sentences(pairs)
    assert sim.predict_sentences(p for p in pairs) == from_list
    assert sim.predict_sentence(*pairs[0]) == from_list[0]
    assert isinstance(sim.predict_sentence(*pairs[1]), float)


# ---------------------------------------------------------------------------------- training data
def test_finetune_labels_come_from_flag_checkpoint_or_task():
    from albert_edge.train.common import TrainingError
    from albert_edge.train.finetune_data import resolve_labels
    assert resolve_labels(None, [], task="pairs") == ["0", "1"]
    assert resolve_labels(None, [], task="nli") == ["contradiction", "entailment", "neutral"]
    assert resolve_labels("neg,pos", [], task="single") == ["neg", "pos"]
    with pytest.raises(TrainingError, match="--labels"):
        resolve_labels(None, [], task="single")
    with pytest.raises(TrainingError, match="duplicate"):
        resolve_labels("0,1,1", [], task="pairs")


def test_finetune_names_an_empty_sentence_before_tensorflow(tmp_path):
    """An empty sentence carries no signal for its label: the data step stops at its file:line."""
    from albert_edge.train.finetune_data import prepare_data
    from albert_edge.train.options import FinetuneOptions, TrainingError
    data = tmp_path / "train.tsv"
    data.write_text("今天天气好\t今天天气不错\t1\n今天\t \t0\n", encoding="utf-8")
    with pytest.raises(TrainingError, match=r"train\.tsv:2: empty text"):
        prepare_data(FinetuneOptions(task="pairs", train_files=[str(data)], output_dir=str(tmp_path / "o")))


# ---------------------------------------------------------------------------------- tokenizer
def test_tokenize_bounds_the_work_on_a_huge_line():
    from albert_edge.tokenization import FullTokenizer
    tok = FullTokenizer()
    line = "今天天气怎么样，我们去公园散步吧 hello wörld " * 200000       # ~6 MB
    start = time.perf_counter()
    enc = tok.encode(line, line, max_seq_len=128)
    assert time.perf_counter() - start < 2.0 and enc.truncated and enc.num_tokens == 128


def test_bounded_tokenization_equals_the_whole_text():
    import random
    from albert_edge.tokenization import FullTokenizer, encode_tokens
    tok = FullTokenizer()
    alphabet = list("abcΣσΑ.,:'é\u0301 \t中文字。！，ＡＢü\u2028\x00-") + ["hello", "ΑΣ.Β", "unbelievable", "😀"]
    rng = random.Random(0)
    for _ in range(400):
        L = rng.choice([4, 8, 16, 32])
        a = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300)))
        b = None if rng.random() < 0.3 else "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300)))
        whole = encode_tokens(tok.vocab, tok.tokenize(a), None if b is None else tok.tokenize(b), L)
        assert tok.encode(a, b, L) == whole, (a, b, L)


# ------------------------------------------------------------------------- untrusted files, shells
class _Exploit:
    """Unpickling this runs code: what a hostile training_state.pt would hold."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pretrain_torch_state_is_loaded_without_unpickling_code(tmp_path):
    torch = pytest.importorskip("torch")
    from albert_edge.train.pretrain_torch import TorchPretrainError, load_state, save_state
    model = torch.nn.Linear(4, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.ones(3, 4)).sum().backward()
    optimizer.step()
    generator = torch.Generator().manual_seed(0)
    path = tmp_path / "training_state.pt"
    save_state(path, model, optimizer, generator, 7, 100, 10, 1.5)
    state = load_state(path)                  # weights_only=True reads what we write
    assert state["step"] == 7 and set(state["model"]) == {"weight", "bias"}
    optimizer.load_state_dict(state["optimizer"])

    marker = tmp_path / "pwned"
    hostile = tmp_path / "hostile.pt"
    with open(hostile, "wb") as f:
        pickle.dump({"model": _Exploit(str(marker)), "optimizer": {}, "step": 0}, f, protocol=2)
    with pytest.raises(TorchPretrainError, match="not loaded"):
        load_state(hostile)
    assert not marker.exists()


HOSTILE = "m';touch PWNED;'x \"$(touch PWNED2)\".tflite"


@pytest.mark.slow
def test_apk_command_keeps_a_hostile_name_one_word_in_a_real_shell(tmp_path):
    """The device shell is a POSIX shell: run the exact command lines through `sh` with `am`,
    `taskset` and the tool as functions that record their argv."""
    from albert_edge.benchmark.adb import apk_start_command, binary_command
    args = [f"--graph=/data/local/tmp/{HOSTILE}", "--num_threads=2", "--x=a;b|c&d`e`"]
    got = tmp_path / "argv.txt"
    record = f'printf "%s\\n" "$@" > {got}'
    prelude = f"am() {{ {record}; }}; bm() {{ {record}; }}; taskset() {{ shift; \"$@\"; }}; "
    expected = {apk_start_command(args): " ".join(args), binary_command("bm", args, "f0"): args}
    for command, want in expected.items():
        subprocess.run(["sh", "-c", prelude + command.replace("exec ", "", 1)], cwd=tmp_path, timeout=30,
                       capture_output=True)
        assert not (tmp_path / "PWNED").exists() and not (tmp_path / "PWNED2").exists(), command
        received = got.read_text().splitlines()
        if isinstance(want, str):      # am: … --es args VALUE, VALUE one word holding every argument
            assert received[-2:] == ["args", want], received
        else:
            assert received == want, received


@pytest.mark.slow
def test_adb_apk_route_with_a_hostile_model_name(tmp_path, monkeypatch, files):
    from albert_edge.benchmark.adb import AdbConfig, run_adb
    model = tmp_path / HOSTILE
    shutil.copy(files["model"], model)
    cfg = {"root": str(tmp_path / "devices"), "host_runs": 3, "python": sys.executable,
           "devices": [{"serial": "emu-1", "props": {"ro.product.model": "Pixel 3"}}]}
    (tmp_path / "fake_adb.json").write_text(json.dumps(cfg))
    monkeypatch.setenv("FAKE_ADB_CONFIG", str(tmp_path / "fake_adb.json"))
    wrapper = tmp_path / "adb"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_ADB}" "$@"\n')
    wrapper.chmod(0o755)
    apk = tmp_path / "benchmark_model.apk"
    apk.write_bytes(b"PK\x03\x04 fake apk")
    code, rows = run_adb(AdbConfig(models=[str(model)], threads=[1], benchmark_apk=str(apk), cooldown_s=0.0,
                                   runs=2, warmup=1, run_timeout_s=60.0, adb_timeout_s=60.0,
                                   out_dir=str(tmp_path / "out"), adb_path=str(wrapper), signatures=["L32"]))
    assert code == 0 and rows[0]["status"] == "ok", rows
    assert not (tmp_path / "PWNED").exists() and not Path("PWNED").exists()


def test_farm_spec_refuses_a_name_that_would_reach_a_shell():
    from albert_edge.benchmark.farm import aws_test_spec
    with pytest.raises(ValueError, match="rename"):
        aws_test_spec([f"/x/{HOSTILE}"], [1])
    with pytest.raises(ValueError, match="cpu-mask"):
        aws_test_spec(["/x/m.tflite"], [1], cpu_mask="f0;reboot")


# --------------------------------------------------------------------------- shared argparse types
@pytest.mark.parametrize("kind,text", [("positive_int", "0"), ("positive_int", "-1"), ("positive_int", "x"),
                                       ("nonnegative_int", "-1"), ("finite_float", "nan"),
                                       ("finite_float", "1e309"), ("nonnegative_float", "-0.5")])
def test_cli_types_reject(kind, text):
    from albert_edge import cli
    with pytest.raises(argparse.ArgumentTypeError):
        getattr(cli, kind)(text)
    with pytest.raises(argparse.ArgumentTypeError):
        cli.csv_of(cli.positive_int)(",")


@pytest.mark.parametrize("kind,text,message", [
    ("positive_int", "0", "must be a positive integer (≥ 1), got '0'"),
    ("positive_int", "two", "must be a positive integer (≥ 1), got 'two'"),
    ("nonnegative_int", "-1", "must be an integer ≥ 0, got '-1'"),
    ("finite_float", "inf", "must be a finite number, got 'inf'"),
    ("nonnegative_float", "nan", "must be a finite number ≥ 0, got 'nan'"),
])
def test_cli_types_say_what_they_expect(kind, text, message):
    from albert_edge import cli
    with pytest.raises(argparse.ArgumentTypeError, match=re.escape(message)):
        getattr(cli, kind)(text)


@pytest.mark.parametrize("kind,text,value", [("positive_int", "3", 3), ("nonnegative_int", "0", 0),
                                             ("finite_float", "-2.5", -2.5), ("nonnegative_float", "0", 0.0)])
def test_cli_types_accept_what_is_in_bounds(kind, text, value):
    from albert_edge import cli
    assert getattr(cli, kind)(text) == value


def test_finetune_negative_edited_pairs_is_an_argparse_error(capsys):
    from albert_edge.finetune import build_parser
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["--train-files", "t.tsv", "--output-dir", "o", "--edited-pairs", "-1"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "usage:" in err and "--edited-pairs" in err and "'-1'" in err
    assert build_parser().parse_args(["--train-files", "t.tsv", "--output-dir", "o",
                                      "--edited-pairs", "0"]).edited_pairs == 0


def test_finetune_init_checkpoint_with_an_unknown_task_is_exit_2(tmp_path, capsys):
    """A task.txt naming no registered task: exit 2 naming the file, no traceback."""
    import shutil
    from albert_edge import resources
    from albert_edge.finetune import main
    init = tmp_path / "init"
    shutil.copytree(resources.DEFAULT_MODEL, init)
    (init / "task.txt").write_text("sentiment\n")
    train = tmp_path / "train.tsv"
    train.write_text("今天天气好\t今天天气不错\t1\n", encoding="utf-8")
    code = main(["--train-files", str(train), "--init-checkpoint", str(init), "--output-dir", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "task.txt: unknown task 'sentiment'" in err and "Traceback" not in err
