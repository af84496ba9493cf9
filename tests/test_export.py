"""The main job end to end on a small ALBERT: freeze → convert → metadata → verify → report."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tensorflow as tf

from albert_edge.export import convert as conv
from albert_edge.export import metadata
from albert_edge.export.pipeline import ExportError, ExportOptions, export
from albert_edge.export.verify import check_gates
from albert_edge.runtime import ModelError, TFLiteModel, load_interpreter, read_metadata

ROOT = Path(__file__).parents[1]
REF = Path(__file__).parent / "data" / "reference_checkpoint"
from conftest import mini_config  # noqa: E402  (tests/ is on sys.path under pytest)


@pytest.mark.slow
def test_export_writes_every_variant_with_report_and_passes_fp32_parity(exported):
    result, _ = exported
    out = result.out_dir
    for name in ("albert_tiny_fp32.tflite", "albert_tiny_dynamic_int8.tflite", "albert_tiny_int8.tflite",
                 "vocab.txt", "labels.txt", "report.json", "report.md", "saved_model/saved_model.pb"):
        assert (out / name).exists(), name
    report = json.loads((out / "report.json").read_text())
    by_variant = {r["variant"]: r for r in report["variants"]}
    assert by_variant["fp32"]["max_abs_logit_delta"] <= 1e-4
    assert not result.failures
    for r in report["variants"]:
        assert r["n_eval"] == 60 and 0.0 <= r["accuracy"] <= 1.0
        assert set(r["latency_ms"]["t1"]) == {"L16", "L32"}
        assert not any(op.startswith("CUSTOM") for op in r["ops"])
    assert "| int8 |" in (out / "report.md").read_text()


@pytest.mark.slow
def test_signatures_share_weights_and_runtime_picks_the_smallest_length(exported):
    out = exported[0].out_dir
    fp32, int8 = out / "albert_tiny_fp32.tflite", out / "albert_tiny_int8.tflite"
    # the word-embedding table dominates this model: one copy across signatures means int8 ≈ ¼ of fp32
    assert int8.stat().st_size < 0.35 * fp32.stat().st_size
    model = TFLiteModel(int8)
    assert model.seq_lens == [16, 32]
    short, L_short = model.encode("今天天气好", "天气不错")
    long_, L_long = model.encode("今天天气好" * 5, "天气不错")
    assert (L_short, L_long) == (16, 32) and short.num_tokens <= 16 < long_.num_tokens
    clipped, L = model.encode("很长的句子" * 40, "另一句")
    assert L == 32 and clipped.truncated


@pytest.mark.slow
def test_metadata_is_in_the_flatbuffer_the_zip_and_the_sidecar(exported):
    path = exported[0].out_dir / "albert_tiny_int8.tflite"
    data = path.read_bytes()
    entries = metadata.flatbuffer_metadata(data)
    embedded = json.loads(entries["albert_edge"])
    assert entries["TFLITE_METADATA"][4:8] == b"M001"   # the standard dialect beside ours (test_mediapipe reads it)
    with zipfile.ZipFile(path) as archive:
        assert set(archive.namelist()) == {"albert_edge.json", "vocab.txt", "labels.txt"}
        assert archive.read("vocab.txt") == (ROOT / "albert_edge/resources/vocab.txt").read_bytes()
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert embedded == sidecar == read_metadata(path)
    assert embedded["seq_lens"] == [16, 32] and embedded["labels"] == ["0", "1"]
    assert embedded["input_order"] == ["input_ids", "input_mask", "segment_ids"] and embedded["do_lower_case"]
    load_interpreter(path)   # the appended zip does not disturb the interpreter


@pytest.mark.slow
def test_rerun_is_resumable_and_byte_identical(exported):
    result, opts = exported
    out = result.out_dir
    fp32 = out / "albert_tiny_fp32.tflite"
    before = {p.name: p.read_bytes() for p in out.glob("*.tflite")}
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.glob("*.tflite")}
    fp32.unlink()                                            # as if killed before fp32 landed
    (out / ".albert_tiny_int8.tflite.abc.tmp").write_bytes(b"half a model")  # a killed write's leftover
    export(opts)
    after = {p.name: p.read_bytes() for p in out.glob("*.tflite")}
    assert after == before                                    # same inputs → same bytes
    assert (out / "albert_tiny_int8.tflite").stat().st_mtime_ns == mtimes["albert_tiny_int8.tflite"]


def test_accuracy_gate_and_parity_gate():
    records = [{"variant": "fp32", "max_abs_logit_delta": 2e-5, "accuracy": 0.80},
               {"variant": "int8", "max_abs_logit_delta": 0.1, "accuracy": 0.785},
               {"variant": "dynamic_int8", "max_abs_logit_delta": 0.01, "accuracy": 0.797}]
    failures = check_gates(records, None, max_accuracy_drop=1.0)
    assert len(failures) == 1 and failures[0].startswith("int8") and "1.50 points" in failures[0]
    assert check_gates([{"variant": "fp32", "max_abs_logit_delta": 3e-4}], None, 1.0)[0].startswith("fp32 parity")
    assert check_gates(records, None, max_accuracy_drop=2.0) == []


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "albert_edge.export", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)


@pytest.mark.slow
def test_cli_missing_checkpoint_says_where_checkpoints_come_from(tmp_path):
    proc = _cli("tiny", "--checkpoint", str(tmp_path / "nope"), "--out", str(tmp_path / "o"), "--no-progress")
    assert proc.returncode == 2
    assert "checkpoint not found" in proc.stderr and "albert_zh" in proc.stderr
    assert "python -m albert_edge.finetune" in proc.stderr and "Traceback" not in proc.stderr


def test_wrong_config_for_checkpoint_names_the_mismatch(mini_checkpoint, tmp_path):
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(mini_config().replace(hidden_size=48, intermediate_size=96).to_dict()))
    # one error type for unusable input from the library (ExportError, exit 2), naming the mismatch
    with pytest.raises(ExportError, match=r"word_embeddings_2.*\[16, 48\].*\[16, 32\]"):
        export(ExportOptions(checkpoint=str(mini_checkpoint), config=str(wrong), out=str(tmp_path / "o"),
                             variants=("fp32",), seq_lens=(16,), progress=False))


def test_bad_options_are_clear_errors(mini_checkpoint, tmp_path):
    with pytest.raises(ExportError, match="unknown variant"):
        export(ExportOptions(checkpoint=str(mini_checkpoint), variants=("int4",), out=str(tmp_path)))
    small = tmp_path / "few.tsv"
    small.write_text("今天\t明天\t0\n" * 20)
    with pytest.raises(ExportError, match="at least 200"):
        export(ExportOptions(checkpoint=str(mini_checkpoint), variants=("int8",), seq_lens=(16,),
                             calibration=str(small), out=str(tmp_path / "o"), progress=False))
    with pytest.raises(ExportError, match="max_position_embeddings"):
        export(ExportOptions(checkpoint=str(mini_checkpoint), seq_lens=(128,), out=str(tmp_path / "p")))


def test_corrupt_tflite_is_a_clear_error(tmp_path):
    bad = tmp_path / "m.tflite"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(ModelError, match="not a TFLite model"):
        load_interpreter(bad)
    with pytest.raises(ModelError, match="not found"):
        load_interpreter(tmp_path / "missing.tflite")


@pytest.mark.slow
def test_albert_zh_own_tf1_graph_is_frozen_and_converted(tmp_path):
    """albert_zh's documented graph: .meta + checkpoint → frozen .pb → .tflite with its six inputs."""
    graph = tf.Graph()
    with graph.as_default():
        saver = tf.compat.v1.train.import_meta_graph(str(REF / "albert_model.ckpt.meta"), clear_devices=True)
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            saver.save(sess, str(tmp_path / "ckpt" / "albert_model.ckpt"))
    result = export(ExportOptions(tf1_meta=str(tmp_path / "ckpt" / "albert_model.ckpt"), out=str(tmp_path / "o"),
                                  variants=("fp32",), progress=False))
    lite = tmp_path / "o" / "albert_tiny_tf1_fp32.tflite"
    interpreter = load_interpreter(lite)
    names = sorted(d["name"] for d in interpreter.get_input_details())
    assert names == sorted(["input_ids", "input_mask", "segment_ids", "masked_lm_positions",
                            "masked_lm_ids", "masked_lm_weights"])
    assert result.report["variants"][0]["size_mb"] > 15   # the whole 4.3 M-parameter graph
    assert (tmp_path / "o" / "albert_tiny_tf1_frozen.pb").stat().st_size > 15e6


@pytest.mark.slow
def test_deterministic_conversion_of_the_same_saved_model(mini_checkpoint, tmp_path):
    from albert_edge.export import freeze
    from albert_edge.model_dir import ModelDir
    model = ModelDir.load(mini_checkpoint).build_model()
    freeze.save_saved_model(model, tmp_path / "sm", [16])
    a = conv.convert_saved_model(tmp_path / "sm", "dynamic_int8", ["L16"])
    b = conv.convert_saved_model(tmp_path / "sm", "dynamic_int8", ["L16"])
    assert a == b


@pytest.mark.slow
def test_stage_scripts_run_freeze_then_convert(mini_checkpoint, tmp_path):
    out = tmp_path / "o"
    common = ["tiny", "--checkpoint", str(mini_checkpoint), "--out", str(out), "--seq-lens", "16",
              "--variants", "fp32", "--no-progress"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHON=sys.executable)
    early = subprocess.run(["bash", str(ROOT / "convert/convert.sh"), *common], capture_output=True, text=True, env=env)
    assert early.returncode == 2 and "run the freeze stage first" in early.stderr
    frozen = subprocess.run(["bash", str(ROOT / "freeze/freeze.sh"), *common], capture_output=True, text=True, env=env)
    assert frozen.returncode == 0, frozen.stderr
    assert (out / "saved_model" / "saved_model.pb").is_file() and not list(out.glob("*.tflite"))
    converted = subprocess.run(["bash", str(ROOT / "convert/convert.sh"), *common], capture_output=True, text=True, env=env)
    assert converted.returncode == 0, converted.stderr
    assert TFLiteModel(out / "albert_tiny_fp32.tflite").seq_lens == [16]


def test_the_standard_licence_states_the_training_datas_terms(tmp_path):
    """The licence in the standard metadata: licence.txt beside the checkpoint (the bundled model's:
    LCQMC, research use only), "not recorded" without one, the kit's for untrained random weights."""
    from albert_edge.export.metadata import UNKNOWN_LICENCE
    from albert_edge.export.pipeline import model_licence
    from albert_edge.model_dir import ModelDir
    from conftest import mini_config, write_classifier_checkpoint
    bundled = model_licence(ModelDir.resolve(None, None, "tiny"))
    assert "LCQMC" in bundled and "research use only" in bundled.lower()
    folder = write_classifier_checkpoint(tmp_path, mini_config())
    assert model_licence(ModelDir.load(folder)) == UNKNOWN_LICENCE
    (folder / "licence.txt").write_text("CC BY-NC 4.0 (my data)\n", encoding="utf-8")
    assert model_licence(ModelDir.load(folder)) == "CC BY-NC 4.0 (my data)"
    assert model_licence(ModelDir.preset("base")).startswith("Apache-2.0 (untrained")
