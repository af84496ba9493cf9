"""The main job on a single-sentence model (ChnSentiCorp) and an NLI model (OCNLI → XNLI).

Each is fine-tuned here (mini config, real samples), then exported by the same pipeline as the
bundled similarity model — with its own calibration and evaluation files, its own labels and task
read back from the model folder — and gated. Nothing in the export names these tasks: the task
registry (albert_edge.tasks) and ModelDir carry what differs.
"""
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import mini_config  # noqa: E402  (tests/ is on sys.path under pytest)

pytestmark = pytest.mark.slow

DATA = Path(__file__).parent / "data" / "tasks"
CASES = {
    # task: (train file = calibration file, eval file, labels)
    "single": (DATA / "chnsenticorp_train.tsv", DATA / "chnsenticorp_dev.tsv", ["negative", "positive"]),
    "nli": (DATA / "ocnli_train.tsv", DATA / "xnli_dev.tsv", ["contradiction", "entailment", "neutral"]),
}


def finetune_case(task: str, out: Path) -> Path:
    """A mini model fine-tuned on the task's bundled sample (also tests/test_mediapipe.py's model)."""
    from albert_edge.train.finetune import FinetuneOptions, Finetuner
    train, _, labels = CASES[task]
    config = out.parent / f"{task}_mini.json"
    config.write_text(mini_config().to_json_string())
    Finetuner(FinetuneOptions(task=task, train_files=[str(train)], output_dir=str(out), config=str(config),
                              labels=labels, batch_size=32, max_seq_len=64, epochs=2, learning_rate=1e-3,
                              progress=False, log_every=50)).run()
    return out


@pytest.fixture(scope="module", params=sorted(CASES))
def exported(request, tmp_path_factory):
    from albert_edge.export.pipeline import ExportOptions, export
    task = request.param
    work = tmp_path_factory.mktemp(task)
    model = finetune_case(task, work / "model")
    train, dev, _ = CASES[task]
    opts = ExportOptions(preset="tiny", checkpoint=str(model), out=str(work / "export"),
                         variants=("fp32", "dynamic_int8", "int8"), seq_lens=(32, 64), calibration=str(train),
                         eval=str(dev), threads=(1,), latency_runs=2, max_accuracy_drop=10.0, progress=False)
    return task, model, export(opts), opts


def test_the_model_folder_records_its_task_and_labels(exported):
    task, model, _, _ = exported
    assert (model / "task.txt").read_text().strip() == task
    assert (model / "labels.txt").read_text().split() == CASES[task][2]
    # the vocabulary it was trained with travels with it, and is the one ModelDir tokenizes with
    from albert_edge import resources
    from albert_edge.model_dir import ModelDir
    assert (model / "vocab.txt").read_bytes() == resources.VOCAB.read_bytes()
    assert ModelDir.load(model).vocab == model / "vocab.txt"


def test_export_gates_every_variant_on_the_tasks_own_eval_file(exported):
    task, _, result, _ = exported
    report = result.report
    assert result.failures == [] and report["failures"] == []
    assert report["task"] == task and report["labels"] == CASES[task][2]
    assert report["n_eval"] == 120 and Path(report["eval_file"]).name == CASES[task][1].name
    assert 0.0 < report["tf_accuracy"] <= 1.0
    assert "behaviour" not in report                      # the similarity suite is not this task's
    by_variant = {r["variant"]: r for r in report["variants"]}
    assert by_variant["fp32"]["max_abs_logit_delta"] <= 1e-4
    for record in by_variant.values():
        assert 0.0 <= record["accuracy"] <= 1.0 and record["agreement_with_tf"] >= 0.9


def test_exported_models_describe_their_task_and_run_it(exported):
    from albert_edge.inference import load_classifier
    from albert_edge.model_dir import ModelDir
    task, model, result, _ = exported
    path = result.out_dir / "albert_tiny_int8.tflite"
    meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert meta["task"] == task and meta["labels"] == CASES[task][2]
    assert meta["outputs"] == ["logits", "probabilities"]
    assert ModelDir.load(path).task.name == task
    examples = ModelDir.load(model).task.read(CASES[task][1])[:8]
    texts = [(e.text_a, e.text_b) for e in examples]
    if task == "single":
        assert all(b is None for _, b in texts)
    tflite = load_classifier(result.out_dir / "albert_tiny_fp32.tflite").logits(texts)
    checkpoint = load_classifier(model).logits(texts)
    assert tflite.shape == (8, len(CASES[task][2]))
    np.testing.assert_allclose(tflite, checkpoint, atol=1e-4)


def test_a_task_without_bundled_data_must_be_given_its_own(exported, tmp_path):
    from albert_edge.export.pipeline import ExportError, ExportOptions, export
    task, model, _, _ = exported
    with pytest.raises(ExportError, match=f"the {task} task has no bundled data for the accuracy gate: pass --eval"):
        export(ExportOptions(checkpoint=str(model), out=str(tmp_path / "a"), variants=("fp32",), seq_lens=(32,),
                             progress=False))
    with pytest.raises(ExportError, match=f"the {task} task has no bundled data for int8 calibration: "
                                          "pass --calibration"):
        export(ExportOptions(checkpoint=str(model), out=str(tmp_path / "b"), variants=("int8",), seq_lens=(32,),
                             eval=str(CASES[task][1]), stages=("freeze", "convert"), progress=False))
    wrong = tmp_path / "wrong.tsv"                       # LCQMC pairs: labels not in the model's set
    wrong.write_text("今天天气好\t今天天气不错\t1\n" * 3, encoding="utf-8")
    with pytest.raises(ExportError, match=r"wrong\.tsv:1.*not in the label set"):
        export(ExportOptions(checkpoint=str(model), out=str(tmp_path / "c"), variants=("fp32",), seq_lens=(32,),
                             eval=str(wrong), progress=False, task="nli"))


def test_readme_command_exports_the_tasks_model(exported, tmp_path):
    """README's `python -m albert_edge.export tiny --checkpoint … --calibration … --eval … --out …`
    (plus flags that only make it quicker): exit 0, the task's report."""
    import subprocess
    import sys
    task, model, _, _ = exported
    train, dev, _ = CASES[task]
    out = tmp_path / "cli"
    proc = subprocess.run([sys.executable, "-m", "albert_edge.export", "tiny", "--checkpoint", str(model),
                           "--calibration", str(train), "--eval", str(dev), "--out", str(out),
                           "--variants", "fp32,int8", "--seq-lens", "32", "--threads", "1", "--latency-runs", "2",
                           "--max-accuracy-drop", "10", "--no-progress"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["task"] == task and [v["variant"] for v in report["variants"]] == ["fp32", "int8"]


def test_masked_lm_export_calibrates_on_bundled_text(tmp_path):
    """--task mlm (albert_zh's masked-LM graph): the default variants, int8 included, export with the
    bundled text for calibration and parity — no labelled file of its own needed."""
    from albert_edge import checkpoint as ck
    from albert_edge.export.pipeline import ExportOptions, export
    from albert_edge.modeling import AlbertForMaskedLM
    folder = tmp_path / "mlm"
    folder.mkdir()
    model = AlbertForMaskedLM(mini_config()).build_weights()
    ck.save_tf1_checkpoint(model, folder / "model.ckpt")
    (folder / "albert_config.json").write_text(mini_config().to_json_string())
    result = export(ExportOptions(checkpoint=str(folder), task="mlm", out=str(tmp_path / "out"), seq_lens=(16,),
                                  variants=("fp32", "int8"), threads=(1,), latency_runs=2, progress=False))
    assert result.failures == [] and result.report["task"] == "mlm"
    meta = json.loads((result.out_dir / "albert_tiny_int8.json").read_text(encoding="utf-8"))
    assert meta["task"] == "mlm" and meta["outputs"] == ["log_probs"]
