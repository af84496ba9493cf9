"""Issue 24 §2 and §4: nothing the user gave is ever overwritten; every bad value is a clear exit 2.

Grouped by rule, each rule parametrized over its cases:

* a flag out of bounds (NaN, inf, 0, -1, huge) is refused by argparse, naming the flag;
* an output that resolves to an input, or into a model folder given as input (the bundled model
  always), is exit 2 before anything is written, and every input is byte-identical afterwards;
* a symlink where a writer puts its file is replaced, never written through;
* a config too large to build, a corpus that is not UTF-8 text, a broken vocabulary, a full disk:
  exit 2 with what, where and how, and what was written before stays intact;
* a non-finite loss stops training before a save; a model whose outputs are not finite fails the
  export's gate and is refused by similarity / evaluate.

Most cases fail in argparse or before TensorFlow loads and run in-process; those that train, convert
or start a process are marked slow.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from albert_edge import resources

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = resources.DEFAULT_MODEL
CORPUS_LINES = ["今天天气很好。我们去公园散步吧。", "花呗怎么还款？可以用银行卡还吗。", "",
                "这本书写得很好。我看了两遍。", "明天会下雨吗？记得带伞。", ""] * 6


# ------------------------------------------------------------------------------------------ helpers
def digest_tree(*paths: Path) -> dict:
    """sha256 of every file under `paths` (files or folders), by path: 'byte-identical afterwards'."""
    out = {}
    for root in paths:
        root = Path(root)
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for f in files:
            out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def listing(folder: Path) -> list:
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*"))


def exits_2(main, argv, capsys, *needles: str) -> str:
    """`main(argv)` exits 2 (return or argparse's SystemExit); stderr names every needle, no traceback."""
    try:
        code = main(argv)
    except SystemExit as stop:
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2, f"exit {code}:\n{err[-2000:]}"
    assert "Traceback" not in err, err[-2000:]
    for needle in needles:
        assert needle in err, f"{needle!r} not in stderr:\n{err[-2000:]}"
    return err


def main_of(name: str):
    """The `main(argv)` of a command, by module name (imported lazily: none imports TensorFlow)."""
    import importlib
    module = importlib.import_module(name)
    return module.main


def fake_model_folder(folder: Path) -> Path:
    """A folder that looks like a model to the output checks (they never read it)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("albert_model.ckpt.index", "index"), ("albert_model.ckpt.data-00000-of-00001", "data"),
                       ("checkpoint", 'model_checkpoint_path: "albert_model.ckpt"\n'), ("labels.txt", "0\n1\n"),
                       ("albert_config.json", "{}"), ("eval_results.json", "{}")):
        (folder / name).write_text(text)
    return folder


# --------------------------------------------------------------- rule 1: bounds are argparse errors
# (command module, argv, the flag named in the message). `{d}` is a scratch folder.
TRAIN = ["--task", "pairs", "--train-files", "{d}/t.tsv", "--output-dir", "{d}/out"]
PRE = ["--train-files", "{d}/t.tfrecord", "--output-dir", "{d}/out"]
PTD = ["--input", "{d}/c.txt", "--output-dir", "{d}/out"]
CAL = ["--model", "{d}/m", "--data", "{d}/t.tsv"]
FLAG_CASES = [
    ("albert_edge.finetune", TRAIN + ["--learning-rate", "nan"], "--learning-rate"),
    ("albert_edge.finetune", TRAIN + ["--learning-rate", "-1"], "--learning-rate"),
    ("albert_edge.finetune", TRAIN + ["--epochs", "nan"], "--epochs"),
    ("albert_edge.finetune", TRAIN + ["--epochs", "inf"], "--epochs"),
    ("albert_edge.finetune", TRAIN + ["--warmup-proportion", "nan"], "--warmup-proportion"),
    ("albert_edge.finetune", TRAIN + ["--save-every", "0"], "--save-every"),
    ("albert_edge.finetune", TRAIN + ["--log-every", "0"], "--log-every"),
    ("albert_edge.finetune", TRAIN + ["--max-train-examples", "-1"], "--max-train-examples"),
    ("albert_edge.finetune", TRAIN + ["--dropout", "1.5"], "--dropout"),
    ("albert_edge.finetune", TRAIN + ["--intra-op-threads", "-5"], "--intra-op-threads"),
    ("albert_edge.finetune", TRAIN + ["--max-seq-len", "1000000000"], "--max-seq-len"),
    ("albert_edge.pretrain", PRE + ["--learning-rate", "nan"], "--learning-rate"),
    ("albert_edge.pretrain", PRE + ["--batch-size", "0"], "--batch-size"),
    ("albert_edge.pretrain", PRE + ["--num-train-steps", "-1"], "--num-train-steps"),
    ("albert_edge.pretrain", PRE + ["--shuffle-buffer", "-5"], "--shuffle-buffer"),
    ("albert_edge.pretrain", PRE + ["--keep-checkpoints", "-1"], "--keep-checkpoints"),
    ("albert_edge.pretrain", PRE + ["--save-every", "0"], "--save-every"),
    ("albert_edge.pretrain", PRE + ["--inter-op-threads", "100000"], "--inter-op-threads"),
    ("albert_edge.pretraining_data", PTD + ["--max-seq-len", "1000000000"], "--max-seq-len"),
    ("albert_edge.pretraining_data", PTD + ["--shuffle-buffer", "-5"], "--shuffle-buffer"),
    ("albert_edge.pretraining_data", PTD + ["--masked-lm-prob", "nan"], "--masked-lm-prob"),
    ("albert_edge.train.calibrate", CAL + ["--batch-size", "0"], "--batch-size"),
    ("albert_edge.train.calibrate", CAL + ["--max-seq-len", "0"], "--max-seq-len"),
    ("albert_edge.train.calibrate", CAL + ["--max-seq-len", "1000000000"], "--max-seq-len"),
    ("albert_edge.similarity", ["--threads", "100000", "a", "b"], "--threads"),
    ("albert_edge.evaluate", ["--model", "{d}/m.tflite", "--data", "{d}/t.tsv", "--seq-len", "100000"], "--seq-len"),
    ("albert_edge.tokenize", ["--max-seq-len", "1000000000"], "--max-seq-len"),
    ("albert_edge.benchmark.__main__", ["peers", "--runs", "0"], "--runs"),
    ("albert_edge.benchmark.__main__", ["peers", "--runs", "-1"], "--runs"),
    ("albert_edge.benchmark.__main__", ["peers", "--chunk", "0"], "--chunk"),
    ("albert_edge.benchmark.__main__", ["peers", "--mix-pairs", "-1"], "--mix-pairs"),
    ("albert_edge.benchmark.__main__", ["host", "--model", "{d}/m.tflite", "--threads", "100000"], "--threads"),
]


@pytest.mark.parametrize("module,argv,flag", FLAG_CASES,
                         ids=[f"{c[0].split('.')[-1]}{' '.join(c[1][-2:])}" for c in FLAG_CASES])
def test_out_of_bounds_flags_are_argparse_errors(module, argv, flag, tmp_path, capsys):
    argv = [a.format(d=tmp_path) for a in argv]
    before = listing(tmp_path)
    exits_2(main_of(module), argv, capsys, flag, "must be")
    assert listing(tmp_path) == before     # nothing written
    assert "tensorflow" not in sys.modules or True   # (other tests may have loaded it; the rule is argparse)


def test_bounds_are_declared_once_in_cli():
    """The shared types accept their bounds' edges and refuse what lies past them."""
    import argparse

    from albert_edge import cli
    for kind, good, bad in ((cli.thread_count, ["1", str(cli.MAX_THREADS)], ["0", "-5", str(cli.MAX_THREADS + 1)]),
                            (cli.seq_length, ["3", str(cli.MAX_SEQ_LEN)], ["2", "0", str(cli.MAX_SEQ_LEN + 1)]),
                            (cli.positive_float, ["1e-5", "3"], ["0", "-1", "nan", "inf", "1e309"]),
                            (cli.probability, ["0", "0.999"], ["1", "1.5", "-0.1", "nan"]),
                            (cli.fraction, ["0", "1"], ["1.01", "nan", "-1"]),
                            (cli.positive_fraction, ["1", "0.5"], ["0", "nan", "2"])):
        for text in good:
            kind(text)
        for text in bad:
            with pytest.raises(argparse.ArgumentTypeError, match="must be"):
                kind(text)


# --------------------------------------------------------- rule 2: an output is never an input
def test_export_out_into_the_bundled_model_is_exit_2_and_the_model_is_untouched(capsys):
    from albert_edge.export.__main__ import main
    before = digest_tree(BUNDLED)
    listed = listing(BUNDLED)
    exits_2(main, ["--out", str(BUNDLED), "--variants", "fp32", "--no-progress"], capsys, "--out", "bundled model")
    assert digest_tree(BUNDLED) == before and listing(BUNDLED) == listed


def test_export_out_equal_to_its_checkpoint_folder_is_exit_2(tmp_path, capsys):
    from albert_edge.export.__main__ import main
    model = fake_model_folder(tmp_path / "model")
    before = digest_tree(model)
    exits_2(main, ["--checkpoint", str(model / "albert_model.ckpt"), "--out", str(model), "--no-progress"],
            capsys, "--out", "--checkpoint")
    assert digest_tree(model) == before and not (model / ".lock").exists()


@pytest.mark.parametrize("case", ["init-folder", "init-prefix", "bundled", "inside-bundled", "symlink-to-init"])
def test_finetune_output_dir_over_a_model_is_exit_2(case, tmp_path, capsys):
    model = fake_model_folder(tmp_path / "model")
    train = tmp_path / "t.tsv"
    train.write_text("".join(f"句子{i}\t句子{i + 1}\t{i % 2}\n" for i in range(40)), encoding="utf-8")
    init, out = str(model), str(model)
    if case == "init-prefix":
        init = str(model / "albert_model.ckpt")
    elif case == "bundled":
        init, out = None, str(BUNDLED)
    elif case == "inside-bundled":
        init, out = None, str(BUNDLED / "best")
    elif case == "symlink-to-init":
        (tmp_path / "link").symlink_to(model)
        out = str(tmp_path / "link")
    argv = ["--task", "pairs", "--train-files", str(train), "--output-dir", out, "--config", "tiny"]
    argv += ["--init-checkpoint", init] if init else []
    before = digest_tree(model, BUNDLED, train)
    listed = listing(BUNDLED)
    exits_2(main_of("albert_edge.finetune"), argv, capsys, "--output-dir", "choose another --output-dir")
    assert digest_tree(model, BUNDLED, train) == before and listing(BUNDLED) == listed
    assert not (BUNDLED / "best").exists()


def test_pretrain_output_dir_equal_to_init_checkpoint_is_exit_2_before_tensorflow(tmp_path, capsys):
    model = fake_model_folder(tmp_path / "model")
    records = tmp_path / "t.tfrecord"
    records.write_bytes(b"records")
    before = digest_tree(model, records)
    exits_2(main_of("albert_edge.pretrain"), ["--train-files", str(records), "--output-dir", str(model),
                                              "--init-checkpoint", str(model)], capsys,
            "--output-dir", "--init-checkpoint")
    assert digest_tree(model, records) == before


def test_pretrain_output_dir_over_its_training_file_is_exit_2(tmp_path, capsys):
    records = tmp_path / "out"
    records.write_bytes(b"records")
    exits_2(main_of("albert_edge.pretrain"), ["--train-files", str(records), "--output-dir", str(records)],
            capsys, "--output-dir", "--train-files")
    assert records.read_bytes() == b"records"


@pytest.mark.parametrize("flag", ["--json", "--markdown", "--json-link"])
def test_benchmark_host_output_over_the_model_is_exit_2(flag, tmp_path, capsys):
    from albert_edge.benchmark.__main__ import main
    model = tmp_path / "m.tflite"
    model.write_bytes(b"TFL3 model bytes")
    target = str(model)
    if flag == "--json-link":
        (tmp_path / "rows.json").symlink_to(model)
        flag, target = "--json", str(tmp_path / "rows.json")
    exits_2(main, ["host", "--model", str(model), flag, target, "--runs", "1"], capsys, flag, "--model")
    assert model.read_bytes() == b"TFL3 model bytes"


def test_benchmark_parse_json_over_its_input_is_exit_2(tmp_path, capsys):
    from albert_edge.benchmark.__main__ import main
    source = ROOT / "tests" / "data" / "benchmark_outputs" / "litert-2.3.0_benchmark_litert_model_cpu.txt"
    log = tmp_path / "run.txt"
    shutil.copyfile(source, log)
    before = digest_tree(log)
    exits_2(main, ["parse", str(log), "--json", str(log)], capsys, "--json")
    assert digest_tree(log) == before


@pytest.mark.parametrize("name", ["stats.json", "train-00000-of-00001.tfrecord", "eval-00000-of-00001.tfrecord"])
def test_pretraining_data_input_that_it_would_write_is_exit_2(name, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    corpus = out / name
    corpus.write_text("\n".join(CORPUS_LINES) + "\n", encoding="utf-8")
    before = digest_tree(out)
    exits_2(main_of("albert_edge.pretraining_data"), ["--input", str(corpus), "--output-dir", str(out),
                                                      "--no-progress"], capsys, "--output-dir", "--input")
    assert digest_tree(out) == before and listing(out) == [name]


def test_check_outputs_apart_allows_what_is_apart(tmp_path):
    """The helper refuses only what overlaps: an output beside (not inside) a model folder is fine."""
    from albert_edge.fileio import OutputOverlapError, check_outputs_apart
    model = fake_model_folder(tmp_path / "model")
    check_outputs_apart({"--out": tmp_path / "out"}, {"--data": tmp_path / "d.tsv"}, {"--checkpoint": model})
    check_outputs_apart({"--out": tmp_path / "model2"}, {}, {"--checkpoint": model / "albert_model.ckpt"})
    with pytest.raises(OutputOverlapError, match="--checkpoint"):
        check_outputs_apart({"--out": model / "sub"}, {}, {"--checkpoint": model / "albert_model.ckpt"})
    with pytest.raises(OutputOverlapError, match="bundled model"):
        check_outputs_apart({"--out": BUNDLED / "labels.txt"})


# ------------------------------------------------------ rule 3: a symlink is replaced, not followed
def plant_link(folder: Path, name: str, victim: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).symlink_to(victim)
    return folder / name


@pytest.fixture
def victim(tmp_path) -> Path:
    path = tmp_path / "victim.txt"
    path.write_text("precious\n")
    return path


def test_log_appends_replace_a_planted_symlink(tmp_path, victim):
    from albert_edge.benchmark.results_io import append_jsonl
    from albert_edge.train.common import JsonlLog
    log = plant_link(tmp_path / "run", "train_log.jsonl", victim)
    JsonlLog(log).write(step=1)
    JsonlLog(log).write(step=2)      # appends to the new file
    rows = plant_link(tmp_path / "bench", "results.jsonl", victim)
    append_jsonl(rows, {"row": 1})
    assert victim.read_text() == "precious\n"
    assert not log.is_symlink() and [json.loads(x)["step"] for x in log.read_text().splitlines()] == [1, 2]
    assert not rows.is_symlink() and json.loads(rows.read_text()) == {"row": 1}


def test_atomic_writes_and_fresh_temporaries_replace_a_symlink(tmp_path, victim):
    from albert_edge.fileio import fresh_path, write_text_atomic
    stats = plant_link(tmp_path, "stats.json", victim)
    write_text_atomic(stats, "{}\n")
    tmp = plant_link(tmp_path, "train-00000-of-00001.tfrecord.tmp", victim)
    fresh_path(tmp).write_bytes(b"records")
    assert victim.read_text() == "precious\n"
    assert not stats.is_symlink() and stats.read_text() == "{}\n"
    assert not tmp.is_symlink() and tmp.read_bytes() == b"records"


@pytest.mark.slow
def test_pretraining_data_writes_past_planted_symlinks(tmp_path, victim):
    from albert_edge.data import pretraining_data as pd
    out = tmp_path / "out"
    links = [plant_link(out, n, victim) for n in ("stats.json.tmp", "train-00000-of-00001.tfrecord.tmp",
                                                  "stats.json")]
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(CORPUS_LINES) + "\n", encoding="utf-8")
    stats = pd.create_pretraining_data([corpus], out, pd.PretrainingDataOptions(max_seq_len=32,
                                       max_predictions_per_seq=5), progress=False)
    assert stats.instances > 0
    assert victim.read_text() == "precious\n"
    assert not links[2].is_symlink() and json.loads(links[2].read_text())["stats"]["instances"] == stats.instances
    assert (out / "train-00000-of-00001.tfrecord").stat().st_size > 0


# --------------------------------------------------------------- rule 4: unusable inputs, exit 2
@pytest.mark.parametrize("field,value", [("hidden_size", 1_200_000_000), ("vocab_size", 100_000_000_000),
                                         ("num_hidden_layers", 10**7), ("max_position_embeddings", 10**9)])
def test_absurd_configs_are_refused_before_building_with_the_limit(field, value, tmp_path, capsys):
    from albert_edge.config import LIMITS, AlbertConfig, ConfigError
    from albert_edge.model_dir import ModelDir, ModelDirError
    with pytest.raises(ConfigError, match=f"{field}.*limit of {LIMITS[field]:,}"):
        AlbertConfig(**{field: value})
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**AlbertConfig().to_dict(), field: value}))
    # a model folder holding it (similarity, evaluate, export read it through ModelDir) …
    model = fake_model_folder(tmp_path / "model")
    shutil.copyfile(bad, model / "albert_config.json")
    with pytest.raises(ModelDirError, match=f"limit of {LIMITS[field]:,}"):
        ModelDir.load(model)
    # … and --config of finetune: exit 2 before TensorFlow
    train = tmp_path / "t.tsv"
    train.write_text("".join(f"句子{i}\t句子{i + 1}\t{i % 2}\n" for i in range(40)), encoding="utf-8")
    exits_2(main_of("albert_edge.finetune"), ["--task", "pairs", "--train-files", str(train), "--output-dir",
                                              str(tmp_path / "out"), "--config", str(bad)], capsys,
            field, f"{LIMITS[field]:,}")
    assert not (tmp_path / "out").exists()


def test_a_vocabulary_of_random_bytes_is_exit_2(tmp_path, capsys, monkeypatch):
    import io
    vocab = tmp_path / "vocab.txt"
    vocab.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"x\n")))
    exits_2(main_of("albert_edge.tokenize"), ["--vocab", str(vocab)], capsys, "vocab.txt", "UTF-8")
    train = tmp_path / "t.tsv"
    train.write_text("".join(f"句子{i}\t句子{i + 1}\t{i % 2}\n" for i in range(40)), encoding="utf-8")
    exits_2(main_of("albert_edge.finetune"), ["--task", "pairs", "--train-files", str(train), "--output-dir",
                                              str(tmp_path / "out"), "--vocab-file", str(vocab)], capsys,
            "--vocab-file", "UTF-8")


class FullDisk:
    """A stdout whose writes fail as on a full disk, after the first `allowed` bytes."""

    def __init__(self, allowed: int):
        self.allowed, self.kept = allowed, []

    def write(self, text: str) -> int:
        if sum(map(len, self.kept)) + len(text) > self.allowed:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.kept.append(text)
        return len(text)

    def flush(self) -> None:
        pass


def test_tokenize_to_a_full_disk_is_exit_2_and_keeps_what_was_written(monkeypatch, capsys):
    import io
    full = FullDisk(allowed=2000)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("你好\t再见\n".encode() * 200)))
    monkeypatch.setattr(sys, "stdout", full)
    err = exits_2(main_of("albert_edge.tokenize"), ["--max-seq-len", "16"], capsys, "No space left on device",
                  "free some space")
    assert full.kept and all(json.loads(line)["input_ids"][0] == 101 for line in "".join(full.kept).splitlines())
    assert "stdout" in err


CORPORA = {
    "empty": b"",
    "whitespace": b"  \n\t\n\n   \n" * 50,
    "gbk": "\n".join(CORPUS_LINES).encode("gbk"),
    "utf16": "\n".join(CORPUS_LINES).encode("utf-16"),
    "random": np.random.default_rng(1).integers(0, 256, 20000, dtype=np.uint8).tobytes(),
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(CORPORA))
def test_pretraining_data_refuses_a_corpus_that_is_not_text(kind, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "stats.json").write_text('{"earlier": "run"}\n')
    (out / "train-00000-of-00001.tfrecord").write_bytes(b"earlier shards")
    corpus = tmp_path / f"{kind}.txt"
    corpus.write_bytes(CORPORA[kind])
    before = digest_tree(out, corpus)
    needle = "no pretraining instance" if kind in ("empty", "whitespace") else "not UTF-8 text"
    exits_2(main_of("albert_edge.pretraining_data"), ["--input", str(corpus), "--output-dir", str(out),
                                                      "--no-progress", "--max-seq-len", "32"], capsys,
            str(corpus), needle)
    assert digest_tree(out, corpus) == before and listing(out) == ["stats.json", "train-00000-of-00001.tfrecord"]


@pytest.mark.slow
def test_pretraining_data_on_a_full_disk_is_exit_2_and_keeps_the_earlier_run(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "stats.json").write_text('{"earlier": "run"}\n')
    (out / "train-00000-of-00001.tfrecord").write_bytes(b"earlier shards")
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(CORPUS_LINES) + "\n", encoding="utf-8")
    before = digest_tree(out, corpus)
    real_replace = os.replace

    def replace(src, dst, *a, **kw):
        if str(dst).endswith((".tfrecord", "stats.json")):
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        return real_replace(src, dst, *a, **kw)

    monkeypatch.setattr(os, "replace", replace)
    exits_2(main_of("albert_edge.pretraining_data"), ["--input", str(corpus), "--output-dir", str(out),
                                                      "--no-progress", "--max-seq-len", "32"], capsys,
            "No space left on device")
    assert digest_tree(out, corpus) == before


def test_benchmark_peers_without_torch_names_the_extra(tmp_path, capsys, caplog, monkeypatch):
    import importlib.util

    from albert_edge.benchmark.__main__ import main
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in ("torch", "onnxruntime")
                        else real(name, *a))
    code = main(["peers", "--work", str(tmp_path / "w"), "--engines", "tflite,torch"])
    err = capsys.readouterr().err + caplog.text   # peers reports through logging (stderr in the CLI)
    assert code == 2 and "Traceback" not in err
    assert "torch" in err and "pip install -e '.[test]'" in err and "--engines" in err
    assert not (tmp_path / "w").exists()


# ---------------------------------------------------------- rule 5: nothing non-finite passes
def test_a_non_finite_loss_stops_training_naming_the_step():
    from albert_edge.train.common import TrainingError, check_finite_loss
    check_finite_loss(3, {"loss": 0.7, "grad_norm": 1.2})
    for value in (float("nan"), float("inf")):
        with pytest.raises(TrainingError, match="step 7: loss = .* not finite.*lower --learning-rate"):
            check_finite_loss(7, {"loss": value})


def test_the_export_gate_fails_a_model_with_non_finite_outputs():
    from albert_edge.export import verify
    record = {"variant": "fp32", "max_abs_logit_delta": 0.0, "finite_outputs": False, "accuracy": 0.5}
    failures = verify.check_gates([record], 0.5, 1.0)
    assert any("fp32 finite outputs" in f for f in failures)
    assert verify.all_finite(np.ones(3), None) and not verify.all_finite(np.array([1.0, np.nan]))
    assert not verify.check_gates([{**record, "finite_outputs": True}], 0.5, 1.0)


@pytest.fixture(scope="module")
def nan_checkpoint(tmp_path_factory) -> Path:
    """A classifier checkpoint whose weights are NaN (what a diverged run used to save)."""
    from conftest import mini_config

    from albert_edge import checkpoint as ck
    from albert_edge.modeling import AlbertClassifier
    folder = tmp_path_factory.mktemp("nan_model")
    model = AlbertClassifier(mini_config(), num_labels=2).build_weights()
    for v in model.weight_map().values():
        v.assign(np.full(v.shape, np.nan, np.float32))
    ck.save_tf1_checkpoint(model, folder / "model.ckpt")
    (folder / "albert_config.json").write_text(json.dumps(mini_config().to_dict()))
    (folder / "labels.txt").write_text("0\n1\n")
    return folder


@pytest.mark.slow
def test_similarity_and_evaluate_refuse_a_model_with_non_finite_outputs(nan_checkpoint, tmp_path, capsys):
    data = tmp_path / "d.tsv"
    data.write_text("花呗怎么还款\t花呗如何还钱\t1\n今天天气好\t明天下雨\t0\n", encoding="utf-8")
    before = digest_tree(nan_checkpoint)
    exits_2(main_of("albert_edge.similarity"), ["--model", str(nan_checkpoint), "花呗怎么还款", "花呗如何还钱"],
            capsys, "not finite", str(nan_checkpoint))
    exits_2(main_of("albert_edge.evaluate"), ["--model", str(nan_checkpoint), "--data", str(data)], capsys,
            "not finite")
    exits_2(main_of("albert_edge.evaluate"), ["--model", str(nan_checkpoint), "--data", str(data),
                                              "--seq-len", "4096"], capsys, "--seq-len 4096", "64 positions")
    assert digest_tree(nan_checkpoint) == before


@pytest.mark.slow
def test_finetune_that_diverges_stops_before_a_save_and_a_full_disk_is_exit_2(workdir, pair_files, tmp_path,
                                                                            capsys, monkeypatch):
    train, valid = pair_files
    common = ["--task", "pairs", "--train-files", str(train), "--config", str(workdir / "mini.json"),
              "--max-seq-len", "32", "--batch-size", "16", "--epochs", "1", "--no-progress"]
    out = tmp_path / "diverged"
    exits_2(main_of("albert_edge.finetune"), common + ["--output-dir", str(out), "--learning-rate", "1e30"], capsys,
            "not finite", "--learning-rate")
    assert not (out / "albert_model.ckpt.index").exists() and not (out / "best").exists()

    import albert_edge.train.finetune as ft
    real = ft.write_bytes_atomic

    def full(path, data, *a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(ft, "write_bytes_atomic", full)
    out = tmp_path / "full"
    fake_model_folder(out)
    before = digest_tree(out)
    exits_2(main_of("albert_edge.finetune"), common + ["--output-dir", str(out), "--stop-after-steps", "1"], capsys,
            "No space left on device", "free some space")
    monkeypatch.setattr(ft, "write_bytes_atomic", real)
    after = digest_tree(out)
    assert {k: v for k, v in after.items() if k in before} == before   # what was there stays intact


@pytest.mark.slow
def test_calibrate_on_a_broken_checkpoint_is_exit_2(mini_checkpoint, tmp_path, capsys):
    data = resources.LCQMC_CALIBRATION
    for case in ("truncated", "no-state-file-two-checkpoints"):
        model = tmp_path / case
        shutil.copytree(mini_checkpoint, model)
        if case == "truncated":
            shard = next(model.glob("model.ckpt.data-*"))
            shard.write_bytes(shard.read_bytes()[:100])
        else:
            (model / "checkpoint").unlink()
            for f in list(model.glob("model.ckpt.*")):
                shutil.copyfile(f, model / f.name.replace("model.ckpt", "other.ckpt"))
        before = digest_tree(model)
        exits_2(main_of("albert_edge.train.calibrate"), ["--model", str(model), "--data", str(data)], capsys,
                str(model))
        assert digest_tree(model) == before


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["random-bytes", "truncated", "short-records"])
def test_pretrain_on_broken_records_is_exit_2(kind, workdir, tmp_path, capsys):
    from training_helpers import PREDS, SEQ
    good = sorted((workdir / "data").glob("train-*.tfrecord"))[0]
    records = tmp_path / f"{kind}.tfrecord"
    if kind == "random-bytes":
        records.write_bytes(np.random.default_rng(2).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    elif kind == "truncated":
        records.write_bytes(good.read_bytes()[:3000])
    else:
        shutil.copyfile(good, records)
    seq = SEQ * 2 if kind == "short-records" else SEQ
    out = tmp_path / "out"
    exits_2(main_of("albert_edge.pretrain"), ["--train-files", str(records), "--output-dir", str(out),
                                              "--config", str(workdir / "mini.json"), "--max-seq-len", str(seq),
                                              "--max-predictions-per-seq", str(PREDS), "--batch-size", "4",
                                              "--num-train-steps", "2", "--no-progress"], capsys,
            str(records))
    assert not list(out.glob("*.index"))


@pytest.mark.parametrize("case", ["bundled", "holds-the-corpus"])
def test_embedding_init_never_replaces_a_folder_holding_an_input(case, tmp_path, capsys):
    """embedding_init replaces its --output-dir as a whole: over the bundled model, or over a folder
    holding its corpus, it would delete them."""
    corpus = tmp_path / "out" / "corpus.txt"
    corpus.parent.mkdir()
    corpus.write_text("\n".join(CORPUS_LINES) + "\n", encoding="utf-8")
    out = BUNDLED if case == "bundled" else corpus.parent
    before = digest_tree(BUNDLED, corpus)
    exits_2(main_of("albert_edge.embedding_init"), ["--corpus", str(corpus), "--output-dir", str(out)], capsys,
            "--output-dir")
    assert digest_tree(BUNDLED, corpus) == before


def test_compare_on_a_100000_deep_json_is_exit_2(tmp_path, capsys):
    from albert_edge.benchmark.__main__ import main
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    base = tmp_path / "base.json"
    base.write_text(json.dumps([{"device_model": "host", "model": "a.tflite", "signature": "L32", "threads": 1,
                                 "inference_avg_us": 1000.0}]))
    exits_2(main, ["compare", str(base), str(deep)], capsys, "deep.json", "nested too deeply")


@pytest.mark.slow
def test_benchmark_host_seq_len_without_a_signature_is_exit_2(tmp_path, capsys):
    sys.path.insert(0, str(ROOT / "tests" / "fake_adb"))
    from tiny_model import build_tiny_tflite

    from albert_edge.benchmark.__main__ import main
    model = build_tiny_tflite(tmp_path / "m.tflite")
    exits_2(main, ["host", "--model", str(model), "--seq-len", "7", "--runs", "1"], capsys, "L7")
    single = build_tiny_tflite(tmp_path / "single.tflite", single_signature=True)
    exits_2(main, ["host", "--model", str(single), "--seq-len", "7", "--runs", "1", "--json",
                   str(tmp_path / "rows.json")], capsys, "--seq-len 7", "takes length")
    assert not (tmp_path / "rows.json").exists()


@pytest.mark.slow
def test_pretrain_that_diverges_stops_before_a_save(workdir, tmp_path, capsys):
    from training_helpers import PREDS, SEQ
    out = tmp_path / "out"
    exits_2(main_of("albert_edge.pretrain"), ["--train-files", str(workdir / "data" / "train-*"), "--output-dir",
                                              str(out), "--config", str(workdir / "mini.json"), "--max-seq-len",
                                              str(SEQ), "--max-predictions-per-seq", str(PREDS), "--batch-size", "8",
                                              "--num-train-steps", "6", "--save-every", "3", "--learning-rate",
                                              "1e30", "--optimizer", "adamw", "--no-progress"], capsys,
            "not finite", "--learning-rate")
    assert not list(out.glob("*.index")) and not (out / "state").exists()


def test_calibrate_never_rewrites_the_bundled_model(capsys):
    before = digest_tree(BUNDLED)
    exits_2(main_of("albert_edge.train.calibrate"), ["--model", str(BUNDLED), "--data",
                                                    str(resources.LCQMC_CALIBRATION)], capsys,
            "bundled model", "--dry-run")
    assert digest_tree(BUNDLED) == before


@pytest.mark.slow
def test_export_of_a_model_with_non_finite_outputs_fails_its_gate(nan_checkpoint, tmp_path, capsys):
    from albert_edge.export.__main__ import main
    before = digest_tree(nan_checkpoint)
    code = main(["--checkpoint", str(nan_checkpoint), "--out", str(tmp_path / "out"), "--variants", "fp32",
                 "--seq-lens", "16", "--eval-limit", "20", "--threads", "1", "--latency-runs", "1", "--no-progress"])
    captured = capsys.readouterr()
    assert code == 1, captured.err[-2000:]
    assert "fp32 finite outputs" in captured.out + captured.err and "Traceback" not in captured.err
    assert digest_tree(nan_checkpoint) == before
