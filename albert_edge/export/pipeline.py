"""The export pipeline: checkpoint → SavedModel → .tflite variants → verification → report.

`export(ExportOptions(...))` is the library call; `python -m albert_edge.export` is a thin CLI whose
every flag is an `ExportOptions` field. Each artifact is written atomically and fingerprinted
(inputs + options), so a killed run leaves no truncated file under a final name and re-running
skips what is already done and finishes the rest.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from albert_edge import resources, tasks
from albert_edge.behaviour import run_suite
from albert_edge.checkpoint import CheckpointError
from albert_edge.cli import check_writable_dir
from albert_edge.config import ConfigError
from albert_edge.data.tasks import DataError
from albert_edge.export import convert as conv
from albert_edge.export import freeze, mediapipe, metadata, npu, verify
from albert_edge.export import variants as vr
# Defined in the TensorFlow-free options module (the CLI builds them before loading this module);
# the same objects here.
from albert_edge.export.options import STAGES, ExportError, ExportOptions
from albert_edge.fileio import (LockBusy, OutputOverlapError, check_outputs_apart, content_digest, exclusive_lock, remove_stale_temporaries,
                                write_bytes_atomic)
from albert_edge.inference import NonFiniteOutput
from albert_edge.model_dir import ModelDir, ModelDirError
from albert_edge.runtime import TFLiteModel
from albert_edge.similarity import Similarity

logger = logging.getLogger(__name__)

MIN_CALIBRATION_EXAMPLES = 200
FORMAT_VERSION = "4"  # in every stage fingerprint: bump when the same inputs give different artifacts


@dataclasses.dataclass
class ExportResult:
    out_dir: Path
    report: dict
    failures: List[str]


# ------------------------------------------------------------------------------------- inputs
def _resolve_model(opts: ExportOptions) -> ModelDir:
    """The model to export (`ModelDir.resolve`: --checkpoint, else the bundled model of the preset,
    else an untrained preset) with the task from --task / --head, else the one it recorded."""
    task = opts.task
    if opts.head not in (None, "classifier", "mlm"):
        raise ExportError(f"unknown --head {opts.head!r}; choose classifier or mlm (or --task {'/'.join(tasks.names())})")
    if opts.head == "mlm":
        if task not in (None, "mlm"):
            raise ExportError(f"--head mlm contradicts --task {task}")
        task = "mlm"
    try:
        model_dir = ModelDir.resolve(opts.checkpoint, opts.config, opts.preset, task)
    except (ModelDirError, tasks.UnknownTask, DataError) as err:
        raise ExportError(str(err)) from None
    if opts.head == "classifier" and model_dir.task.head != "classifier":
        raise ExportError(f"--head classifier contradicts the {model_dir.task.name} task")
    if model_dir.task.head == "classifier" and len(model_dir.labels) < 2:
        raise ExportError(f"the {model_dir.task.name} task has no default label set and {model_dir.path or 'the model'} "
                          "records none: put labels.txt (one label per line) beside the checkpoint")
    if not model_dir.trained:
        logger.warning("no checkpoint given and no bundled %s model: exporting an UNTRAINED model with random "
                       "weights (plumbing demo only; its accuracy means nothing)", opts.preset)
    return model_dir


def _examples(task: tasks.Task, path: Path, limit: Optional[int] = None) -> List:
    """The task's labelled examples in `path` (ExportError naming file:line on a bad file)."""
    try:
        examples = task.read(path)
    except DataError as err:
        raise ExportError(str(err)) from None
    return examples[:limit] if limit else examples


def _file_digest(paths: Sequence[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.name.encode())
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


class Fingerprints:
    """out/.fingerprints.json: artifact name → {"inputs": digest of what produced it,
    "content": sha256 of the artifact itself}.

    Why both: the inputs digest says whether the artifact is the one these options would make; the
    content digest says it is still that artifact byte for byte — a truncated or edited file is
    rebuilt, never reused (existence alone proves nothing). Old-format entries (a bare string)
    count as stale.
    """

    def __init__(self, out: Path):
        self.out = out
        self.path = out / ".fingerprints.json"
        try:
            data = json.loads(self.path.read_text()) if self.path.is_file() else {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            data = {}
        self.data = data if isinstance(data, dict) else {}

    def fresh(self, name: str, digest: str, out: Optional[Path] = None) -> bool:
        entry = self.data.get(name)
        if not isinstance(entry, dict) or entry.get("inputs") != digest:
            return False
        actual = content_digest((out or self.out) / name)
        if actual is None:
            return False
        if actual != entry.get("content"):
            logger.warning("%s does not match its recorded digest (truncated or changed): rebuilding it",
                           (out or self.out) / name)
            return False
        return True

    def record(self, name: str, digest: str) -> None:
        self.data[name] = {"inputs": digest, "content": content_digest(self.out / name)}
        write_bytes_atomic(self.path, json.dumps(self.data, indent=2, sort_keys=True).encode())


def _digest(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _calibration_set(task: tasks.Task, tokenizer, path: Path, seq_lens: Sequence[int]) -> conv.CalibrationSet:
    """Model inputs for calibration at every length: the task's examples, encoded as the task encodes."""
    examples = _examples(task, path)
    if len(examples) < MIN_CALIBRATION_EXAMPLES:
        raise ExportError(f"{path}: {len(examples)} calibration examples; full-integer calibration needs at least "
                          f"{MIN_CALIBRATION_EXAMPLES} real {task.name} examples ({task.file_layout} lines)")
    out: conv.CalibrationSet = {}
    for L in seq_lens:
        feeds = []
        for ex in examples:
            enc = task.encode(tokenizer, ex, L)
            feeds.append({name: np.asarray([getattr(enc, name)], np.int32)
                          for name in ("input_ids", "input_mask", "segment_ids")})
        out[freeze.signature_key(L)] = feeds
    return out


def _require(path: Optional[Path], task: tasks.Task, flag: str, why: str) -> Path:
    if path is None:
        raise ExportError(f"the {task.name} task has no bundled data for {why}: pass {flag} FILE "
                          f"({task.file_layout} lines, the model's own labels)")
    return path


def _build_model(model_dir: ModelDir):
    """The Keras model to freeze; CheckpointError and friends become an ExportError (exit 2)."""
    try:
        return model_dir.build_model()
    except (CheckpointError, ConfigError, ModelDirError) as err:
        raise ExportError(str(err)) from None


# ------------------------------------------------------------------------------------- pipeline
def _progress(total: int, enabled: bool):
    return tqdm(total=total, desc="export", unit="stage", disable=not enabled, leave=True)


def validate_options(opts: ExportOptions) -> None:
    """Reject options that would make a gate check nothing: no variants, a NaN or negative allowed
    drop (every comparison with NaN is False), thread counts or run counts below 1."""
    if not opts.variants:
        raise ExportError(f"--variants is empty: choose one or more of {', '.join(vr.names())}")
    drop = opts.max_accuracy_drop
    if isinstance(drop, bool) or not isinstance(drop, (int, float)) or not math.isfinite(drop) or drop < 0:
        raise ExportError(f"--max-accuracy-drop must be a finite number of points ≥ 0, got {drop!r}")
    if not opts.threads or any(isinstance(t, bool) or not isinstance(t, int) or t < 1 for t in opts.threads):
        raise ExportError(f"--threads must be positive integers, got {list(opts.threads)}")
    if isinstance(opts.latency_runs, bool) or not isinstance(opts.latency_runs, int) or opts.latency_runs < 1:
        raise ExportError(f"--latency-runs must be a positive integer, got {opts.latency_runs!r}")
    if opts.eval_limit is not None and (not isinstance(opts.eval_limit, int) or opts.eval_limit < 1):
        raise ExportError(f"--eval-limit must be a positive integer, got {opts.eval_limit!r}")
    if not opts.stages:
        raise ExportError(f"--stages is empty: choose from {', '.join(STAGES)}")


def prepare_out_dir(out: Path) -> None:
    """--out must be a folder this process can write (checked before the model is loaded)."""
    try:
        check_writable_dir(out, "--out")
    except ValueError as err:
        raise ExportError(str(err)) from None


def export(opts: ExportOptions) -> ExportResult:
    """Run the whole export; raises ExportError for unusable inputs, returns the report otherwise.

    The output folder is locked for the run (a second export into it exits 2 naming the first),
    and what a killed earlier run left there (hidden temporaries) is removed first.
    """
    validate_options(opts)
    out = opts.out_dir()
    try:   # before the folder is made: --out never lies in a model given as input (or the bundled one)
        check_outputs_apart({"--out": out}, {"--calibration": opts.calibration, "--eval": opts.eval,
                                             "--qat-train": opts.qat_train, "--config": opts.config,
                                             "--frozen-graph": opts.frozen_graph},
                            {"--checkpoint": opts.checkpoint, "--tf1-meta": opts.tf1_meta})
    except OutputOverlapError as err:
        raise ExportError(str(err)) from None
    created = not out.exists()
    prepare_out_dir(out)
    try:
        with exclusive_lock(out, "export"):
            removed = remove_stale_temporaries(out)
            if removed:
                logger.warning("removed %d leftover(s) of an interrupted run in %s", len(removed), out)
            return _export_locked(opts)
    except LockBusy as err:
        raise ExportError(str(err)) from None
    except BaseException:
        if created:   # a run that stopped on bad input leaves no empty folder behind
            with contextlib.suppress(OSError):
                out.rmdir()
        raise


def _export_locked(opts: ExportOptions) -> ExportResult:
    unknown = [v for v in opts.variants if v not in vr.REGISTRY]
    if unknown:
        raise ExportError(f"unknown variant(s) {unknown}; choose from {', '.join(vr.names())}")
    if opts.tf1_meta or opts.frozen_graph:
        if opts.mediapipe:
            raise ExportError("--mediapipe exports a classifier from its checkpoint: albert_zh's raw TF1 graph "
                              "(--tf1-meta / --frozen-graph) has no classifier head; drop one of the flags")
        return export_tf1_graph(opts)
    if not opts.seq_lens or min(opts.seq_lens) < 8:
        raise ExportError(f"--seq-lens must be lengths ≥ 8, got {list(opts.seq_lens)}")
    seq_lens = sorted(set(opts.seq_lens))
    model_dir = _resolve_model(opts)
    task, config, labels, trained = model_dir.task, model_dir.config, model_dir.labels, model_dir.trained
    _check_model_transforms(opts, task)
    if opts.mediapipe:
        mediapipe.check_task(task)     # exit 2 before any slow stage
    if max(seq_lens) > config.max_position_embeddings:
        raise ExportError(f"--seq-lens {max(seq_lens)} exceeds the model's max_position_embeddings "
                          f"{config.max_position_embeddings}")
    out = opts.out_dir()
    out.mkdir(parents=True, exist_ok=True)
    fingerprints = Fingerprints(out)
    tokenizer = model_dir.tokenizer()
    name = f"albert_{opts.preset}"
    licence = model_licence(model_dir)
    source_digest = _digest(FORMAT_VERSION, _file_digest(model_dir.weight_files()), config.to_dict(),
                            labels, task.name, task.head, seq_lens, _file_digest([model_dir.vocab]), licence)
    # None when the task bundles no data of its own: required (ExportError) only where a stage needs it.
    calibration_path = Path(opts.calibration) if opts.calibration else task.default_calibration
    eval_path = Path(opts.eval) if opts.eval else task.default_eval

    unknown_stages = [st for st in opts.stages if st not in STAGES]
    if unknown_stages:
        raise ExportError(f"unknown stage(s) {unknown_stages}; choose from {', '.join(STAGES)}")
    stages = set(opts.stages)
    arm_env = _prepare_arm(opts, stages)       # before any slow stage: a missing qemu is exit 2 at once
    npu_targets = _prepare_npu(opts)           # likewise an unknown SoC or missing Qualcomm libraries
    eval_examples = _eval_examples(task, eval_path, opts, labels) if "verify" in stages else None
    if "convert" in stages and any(vr.get(v).calibrated for v in opts.variants):   # before any slow stage
        calibration_path = _require(calibration_path, task, "--calibration", "int8 calibration")
        if not calibration_path.is_file():
            raise ExportError(f"--calibration {calibration_path}: file not found ({task.file_layout} lines)")
    bar = _progress(len(stages) + (len(opts.variants) - 1 if "convert" in stages else 0) + 1, opts.progress)
    model = None
    if stages & {"freeze", "verify"}:
        bar.set_postfix_str("load checkpoint")
        model = _build_model(model_dir)
    bar.update()

    saved_model = out / "saved_model"
    if "freeze" in stages:
        bar.set_postfix_str("freeze")
        if opts.force or not fingerprints.fresh("saved_model", source_digest, out):
            freeze.save_saved_model(model, saved_model, seq_lens, task.head)
            functions = freeze.serving_functions(model, [max(seq_lens)], task.head)
            freeze.save_frozen_graph(functions[freeze.signature_key(max(seq_lens))],
                                     out / f"{name}_frozen_L{max(seq_lens)}.pb")
            fingerprints.record("saved_model", source_digest)
        bar.update()
    elif ("convert" in stages   # a variant with a model transform (qat) freezes its own SavedModel
          and any(vr.get(v).model_transform is None for v in opts.variants)
          and not fingerprints.fresh("saved_model", source_digest, out)):
        raise ExportError(f"{saved_model} is missing or was made from other inputs: run the freeze stage first "
                          "(freeze/freeze.sh, or --stages freeze)")

    vocab_bytes = model_dir.vocab.read_bytes()
    source = (os.path.relpath(model_dir.source, resources.REPO_DIR) if trained else model_dir.source)
    artifacts: Dict[str, Path] = {v: out / f"{name}_{v}.tflite" for v in opts.variants}
    if "convert" in stages:
        calibration = None
        if any(vr.get(v).calibrated for v in opts.variants):
            calibration = _calibration_set(task, tokenizer, calibration_path, seq_lens)   # checked above
        write_bytes_atomic(out / "vocab.txt", vocab_bytes)
        write_bytes_atomic(out / "labels.txt", ("\n".join(labels) + "\n").encode("utf-8"))
        for variant, file in artifacts.items():
            bar.set_postfix_str(f"convert {variant}")
            spec = vr.get(variant)
            digest = _digest(source_digest, variant,
                             _file_digest([calibration_path]) if spec.calibrated else None,
                             _transform_digest(spec, opts, calibration_path) if spec.model_transform else None)
            # (file, seq_lens, digest): the multi-length model, then with --mediapipe one file per length
            targets = [(file, seq_lens, digest)] + [
                (out / mediapipe.file_name(name, variant, L), [L], _digest(digest, "mediapipe", L))
                for L in (seq_lens if opts.mediapipe else [])]
            source_dir = None
            for target, lengths, target_digest in targets:
                if not opts.force and fingerprints.fresh(target.name, target_digest, out):
                    continue
                if source_dir is None:
                    source_dir = saved_model
                    if spec.model_transform is not None:
                        if model is None:
                            model = _build_model(model_dir)
                        source_dir = _transformed_saved_model(spec, model, opts, out, task, tokenizer, labels,
                                                              seq_lens, calibration_path)
                keys = [freeze.signature_key(L) for L in lengths]
                raw = conv.convert_saved_model(source_dir, variant, keys,
                                               {k: calibration[k] for k in keys} if calibration else None)
                if target != file:
                    raw = mediapipe.probabilities_first(raw)
                meta = metadata.build_metadata(
                    model_name=name, variant=variant, task=task.name, head=task.head, outputs=task.outputs,
                    seq_lens=lengths, labels=labels, do_lower_case=True, config=config.to_dict(), trained=trained,
                    source=source)
                write_bytes_atomic(target, metadata.embed(raw, meta, vocab_bytes, labels, licence))
                if target == file:
                    write_bytes_atomic(file.with_suffix(".json"), metadata.metadata_json(meta))
                fingerprints.record(target.name, target_digest)
            bar.update()

    npu_section = None
    if npu_targets is not None:
        chips, libs, npu_variants = npu_targets
        missing = [str(artifacts[v]) for v in npu_variants if not artifacts[v].is_file()]
        if missing:
            raise ExportError(f"--npu: {missing} missing; run the convert stage first")
        npu_section = npu.compile_all(chips, libs, artifacts, npu_variants,
                                      fresh=lambda n, d: fingerprints.fresh(n, d, out), record=fingerprints.record,
                                      force=opts.force, allow_cpu_fallback=opts.allow_cpu_fallback,
                                      progress=bar.set_postfix_str)

    report, failures = {}, []
    if "verify" in stages:
        missing = [str(f) for f in artifacts.values() if not f.is_file()]
        if missing:
            raise ExportError(f"nothing to verify: {missing} missing; run the convert stage first")
        bar.set_postfix_str("verify")
        report = _verify(model, opts, artifacts, model_dir, tokenizer, eval_path, seq_lens, source, eval_examples)
        failures = verify.check_gates(report["variants"], report.get("tf_accuracy"), opts.max_accuracy_drop,
                                      apply_accuracy_gate=trained)
        if arm_env is not None:
            bar.set_postfix_str("verify-arm")
            report["arm"] = _verify_arm(arm_env, opts, artifacts, seq_lens, eval_path)
            failures = failures + report["arm"]["failures"]
    if npu_section is not None:
        # Its own files too, so an NPU-only run (--stages convert --npu …) never replaces the verify report.
        write_bytes_atomic(out / "npu_report.json", (json.dumps(npu_section, indent=2) + "\n").encode())
        write_bytes_atomic(out / "npu_report.md", "\n".join(npu.markdown(npu_section)).encode())
        if report:
            report["npu"] = npu_section
        else:
            report = {"npu": npu_section}
        failures = failures + npu_section["failures"]
    if "verify" in stages:
        report["failures"] = failures
        write_report(out, report)
        bar.update()
    bar.close()
    return ExportResult(out, report, failures)


def model_licence(model_dir: ModelDir) -> str:
    """The licence the standard metadata states: `licence.txt` beside the checkpoint (a model inherits
    its training data's terms, which only its owner knows), else "not recorded"; an untrained preset's
    random weights carry the kit's own licence."""
    if not model_dir.trained:
        return "Apache-2.0 (untrained random weights: no training data)"
    folder = model_dir.folder
    path = folder / "licence.txt" if folder is not None else None
    if path is not None and path.is_file():
        text = path.read_text(encoding="utf-8").strip()
        if text:
            return text
    return metadata.UNKNOWN_LICENCE


def _check_model_transforms(opts: ExportOptions, task: tasks.Task) -> None:
    """Fail before any slow stage when a variant's model transform (qat) cannot run on these options."""
    for name in opts.variants:
        transform = vr.get(name).model_transform
        if transform is not None:
            try:
                transform.check(opts, task)
            except vr.VariantInputError as err:
                raise ExportError(str(err)) from None


def _transform_digest(spec: vr.Variant, opts: ExportOptions, calibration_path: Optional[Path]) -> list:
    """What a variant's model transform depends on (its files' contents and its settings), for the fingerprint."""
    files, values = spec.model_transform.inputs(opts, calibration_path)
    return [_file_digest([f]) if f.is_file() else str(f) for f in files] + list(values)


def _transformed_saved_model(spec: vr.Variant, model, opts: ExportOptions, out: Path, task: tasks.Task, tokenizer,
                             labels: Sequence[str], seq_lens: Sequence[int], calibration_path: Optional[Path]) -> Path:
    """The variant's own SavedModel: its model transform applied to the float model (qat: fake-quant fine-tuned)."""
    inputs = vr.TransformInputs(options=opts, task=task, tokenizer=tokenizer, labels=labels, seq_lens=seq_lens,
                                calibration_path=calibration_path, read_examples=lambda path: _examples(task, path))
    try:
        transformed = spec.model_transform.apply(model, inputs)
    except vr.VariantInputError as err:
        raise ExportError(str(err)) from None
    return freeze.save_saved_model(transformed, out / f"saved_model_{spec.name}", seq_lens, task.head)


def _eval_examples(task: tasks.Task, eval_path: Optional[Path], opts: ExportOptions, labels: Sequence[str]) -> List:
    """The evaluation examples, checked before any slow stage: every label must be one of the model's.

    Why before freezing: a gate must check what it says. Skipping examples with unknown labels
    (or falling back to agreement with TF) would let a failing export exit 0; instead the export
    stops here, in seconds, naming file:line.
    """
    examples = _examples(task, _require(eval_path, task, "--eval", "the accuracy gate"), opts.eval_limit)
    if task.head == "classifier":
        try:
            task.label_ids(examples, labels)
        except DataError as err:
            raise ExportError(f"--eval {err}; the accuracy gate needs every evaluation label "
                              f"to be one of the model's labels") from None
    return examples


def _verify(model, opts: ExportOptions, artifacts: Dict[str, Path], model_dir: ModelDir, tokenizer,
            eval_path: Path, seq_lens: Sequence[int], source: str, examples: Optional[List] = None) -> dict:
    task, labels, trained = model_dir.task, model_dir.labels, model_dir.trained
    if examples is None:
        examples = _eval_examples(task, eval_path, opts, labels)
    pairs = [task.texts(e) for e in examples]
    parity_sets = {L: [task.encode(tokenizer, e, L) for e in examples[:32]] for L in seq_lens}
    report = {"model": f"albert_{opts.preset}", "source": source, "trained": trained, "task": task.name,
              "head": task.head, "seq_lens": list(seq_lens), "labels": labels, "eval_file": str(eval_path),
              "config": model_dir.config.to_dict(), "threads": list(opts.threads), "variants": []}
    if task.head == "mlm":
        reference = {L: _mlm_reference(model, encs) for L, encs in parity_sets.items()}
        for variant, path in artifacts.items():
            report["variants"].append(_verify_mlm(path, variant, parity_sets, reference, opts))
        return report
    parity_reference = {L: verify.tf_logits(model, encs) for L, encs in parity_sets.items()}
    gold = np.asarray(task.label_ids(examples, labels))   # checked by _eval_examples before freezing
    encodings, lengths = verify.bucket_encodings(tokenizer, pairs, seq_lens)
    eval_set = verify.EvalSet(encodings, lengths, gold)
    eval_reference = verify.tf_logits_bucketed(model, eval_set)
    report["tf_accuracy"] = round(task.score(eval_reference, gold)["accuracy"], 4)
    report["n_eval"] = len(pairs)
    report["bucket_histogram"] = {f"L{L}": lengths.count(L) for L in seq_lens}
    for variant, path in artifacts.items():
        record = verify.verify_variant(path, variant, parity_sets=parity_sets, parity_reference=parity_reference,
                                       eval_set=eval_set, eval_reference=eval_reference, threads=opts.threads,
                                       latency_runs=opts.latency_runs)
        record["ops"] = conv.op_histogram(path.read_bytes())
        report["variants"].append(record)
    fp32 = next((r for r in report["variants"] if r["variant"] == "fp32"), None)
    for r in report["variants"]:
        if fp32:
            r["size_vs_fp32"] = round(r["size_mb"] / fp32["size_mb"], 3)
    if trained and task.behaviour_suite and list(labels) == ["0", "1"]:
        behaviour = {variant: _behaviour(path) for variant, path in artifacts.items()}
        report["behaviour"] = {v: b for v, b in behaviour.items() if "skipped" not in b}
        if len(report["behaviour"]) < len(behaviour):   # non-finite outputs: the gate says so
            report["behaviour_skipped"] = {v: b["skipped"] for v, b in behaviour.items() if "skipped" in b}
    return report


def _behaviour(path: Path) -> dict:
    """The behaviour suite (albert_edge.behaviour) on one exported similarity model: reported, not a
    gate — a user's own similarity model may be meant for another domain's notion of "same"."""
    try:
        report = run_suite(Similarity(path).predict_sentences)
    except NonFiniteOutput as err:   # the `finite outputs` gate fails it; nothing to measure here
        return {"skipped": str(err)}
    if not report.ok:
        logger.warning("%s: behaviour below target in %s", path.name, ", ".join(report.failed_gates))
    return report.to_dict()


def _mlm_reference(model, encodings) -> np.ndarray:
    feeds = {n: tf.constant([getattr(e, n) for e in encodings[:4]], tf.int32)
             for n in ("input_ids", "input_mask", "segment_ids")}
    return tf.nn.log_softmax(model(feeds), axis=-1).numpy()


def _verify_mlm(path, variant, parity_sets, reference, opts) -> dict:
    runtime = TFLiteModel(path)
    delta, finite = 0.0, True
    for L, encs in parity_sets.items():
        for i, enc in enumerate(encs[:4]):
            out = runtime.run(enc, L)["log_probs"][0]
            finite = finite and verify.all_finite(out, reference[L][i])
            delta = max(delta, float(np.max(np.abs(out - reference[L][i]))))
    return {"variant": variant, "file": path.name, "size_mb": round(path.stat().st_size / 1e6, 3),
            "max_abs_logit_delta": delta, "finite_outputs": finite,
            "latency_ms": verify.measure_latency(path, sorted(parity_sets), {L: e[0] for L, e in parity_sets.items()},
                                                 opts.threads, opts.latency_runs)}


# ------------------------------------------------------------------------------------- TF1 route
def export_tf1_graph(opts: ExportOptions) -> ExportResult:
    """albert_zh's own graph: `.meta` + checkpoint (frozen here) or a frozen `.pb` → .tflite."""
    out = opts.out_dir()
    out.mkdir(parents=True, exist_ok=True)
    name = f"albert_{opts.preset}_tf1"
    if opts.tf1_meta:
        graph_def = freeze.freeze_tf1_meta(opts.tf1_meta, opts.tf1_outputs)
        pb = out / f"{name}_frozen.pb"
        write_bytes_atomic(pb, graph_def.SerializeToString())
    else:
        pb = Path(opts.frozen_graph)
        if not pb.is_file():
            raise ExportError(f"frozen graph not found: {pb}")
        graph_def = freeze.read_frozen_graph(pb)
    placeholders = freeze.graph_placeholders(graph_def)
    if not placeholders:
        raise ExportError(f"{pb}: the graph has no Placeholder inputs")
    shapes = {n: s for n, s in placeholders}
    variants = [v for v in opts.variants if vr.get(v).from_tf1_graph]
    skipped = sorted(set(opts.variants) - set(variants))
    if skipped:
        logger.warning("variants %s need calibration feeds for every input of albert_zh's raw graph; "
                       "export them from the checkpoint instead (without --tf1-meta)", skipped)
    report = {"model": name, "source": str(opts.tf1_meta or opts.frozen_graph), "inputs": shapes,
              "outputs": list(opts.tf1_outputs), "variants": []}
    for variant in variants:
        data = conv.convert_frozen_graph(pb, shapes, opts.tf1_outputs, variant)
        file = write_bytes_atomic(out / f"{name}_{variant}.tflite", data)
        report["variants"].append({"variant": variant, "file": file.name, "size_mb": round(len(data) / 1e6, 3),
                                   "ops": conv.op_histogram(data)})
    report["failures"] = []
    write_report(out, report)
    return ExportResult(out, report, [])


# ------------------------------------------------------------------------------------- report
def write_report(out: Path, report: dict) -> None:
    write_bytes_atomic(out / "report.json", (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode())
    write_bytes_atomic(out / "report.md", render_markdown(report).encode())


def render_markdown(report: dict) -> str:
    lines = [f"# Export report — {report['model']}", ""]
    lines.append(f"- source: `{report['source']}`" + ("" if report.get("trained", True) else
                                                     " — **UNTRAINED fallback: accuracy is meaningless**"))
    if "seq_lens" in report:
        task = f"task: {report['task']}; " if report.get("task") else ""
        lines.append(f"- {task}lengths (signatures): {', '.join(f'L{L}' for L in report['seq_lens'])}; "
                     f"labels: {report.get('labels')}")
    if "tf_accuracy" in report:
        lines.append(f"- TF (float) accuracy on `{Path(report['eval_file']).name}`: {report['tf_accuracy']:.4f} "
                     f"(n={report['n_eval']}); examples per bucket: {report.get('bucket_histogram')}")
    lines.append("")
    threads = report.get("threads", [1])
    header = ["variant", "size MB", "× fp32", "max |Δlogit| vs TF", "accuracy", "agree w/ TF"]
    for t in threads:
        for L in report.get("seq_lens", []):
            header.append(f"p50 ms L{L} t{t}")
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for r in report["variants"]:
        row = [r["variant"], f"{r['size_mb']:.2f}", f"{r.get('size_vs_fp32', 1):.2f}",
               f"{r['max_abs_logit_delta']:.2e}" if "max_abs_logit_delta" in r else "–",
               f"{r['accuracy']:.4f}" if "accuracy" in r else "–",
               f"{r['agreement_with_tf']:.4f}" if "agreement_with_tf" in r else "–"]
        for t in threads:
            for L in report.get("seq_lens", []):
                lat = r.get("latency_ms", {}).get(f"t{t}", {}).get(f"L{L}")
                row.append(f"{lat['p50_ms']:.2f}" if lat else "–")
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    if report.get("behaviour"):
        lines.extend(_behaviour_markdown(report["behaviour"]))
    if report.get("arm"):
        lines.extend(_arm_markdown(report["arm"]))
    if report.get("npu"):
        lines.extend(npu.markdown(report["npu"]))
    if report.get("failures"):
        lines.append("## Gate failures")
        lines.extend(f"- {f}" for f in report["failures"])
    else:
        parity = [f"{v['variant']} parity ≤ {_short(vr.get(v['variant']).max_logit_delta)}" for v in report["variants"]
                  if v["variant"] in vr.REGISTRY and vr.get(v["variant"]).max_logit_delta is not None]
        lines.append(f"All gates passed ({'; '.join(parity + ['quantized accuracy drop within the limit'])}).")
    lines.append("")
    return "\n".join(lines)


def _short(x: float) -> str:
    """1e-4 rather than 0.0001 or 1e-04."""
    return f"{x:.0e}".replace("e-0", "e-").replace("e+0", "e")


def _behaviour_markdown(behaviour: Dict[str, dict]) -> List[str]:
    """Pass rate per behaviour category (rows) and variant (columns)."""
    variants = list(behaviour)
    first = behaviour[variants[0]]
    lines = ["## Behaviour (`python -m albert_edge.evaluate --behaviour`)", "",
             "| category | expected | n | target | " + " | ".join(variants) + " |",
             "|---|---|---:|---:|" + "---:|" * len(variants)]
    for name, row in first["categories"].items():
        cells = [f"{behaviour[v]['categories'][name]['pass_rate']:.1%}"
                 + ("" if behaviour[v]["categories"][name]["ok"] else " ✗") for v in variants]
        lines.append(f"| {name} | {row['expected']} | {row['n']} | ≥ {row['target']:.0%} | " + " | ".join(cells) + " |")
    cells = [f"{behaviour[v]['mean_asymmetry']:.4f}" + ("" if behaviour[v]['mean_asymmetry'] <= first['asymmetry_target']
                                                        else " ✗") for v in variants]
    lines.append(f"| mean \\|p(a,b) − p(b,a)\\| | | | ≤ {first['asymmetry_target']} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


# ------------------------------------------------------------------------------------- --npu
def _prepare_npu(opts: ExportOptions):
    """(SoCs, Qualcomm libraries, NPU variants) for --npu, None without it; ExportError says how to fix it."""
    if not opts.npu:
        return None
    variants = tuple(opts.npu_variants or npu.DEFAULT_VARIANTS)
    not_exported = [v for v in variants if v not in opts.variants]
    if not_exported:
        raise ExportError(f"--npu compiles {', '.join(not_exported)}, which --variants does not export: add "
                          f"{','.join(not_exported)} to --variants")
    try:
        chips, libs = npu.prepare(opts.npu, opts.qnn_sdk)
    except npu.NpuExportError as err:
        raise ExportError(str(err)) from None
    return chips, libs, variants


# ------------------------------------------------------------------------------------- --verify-arm
def _prepare_arm(opts: ExportOptions, stages: set):
    """The qemu-user environment for --verify-arm (None without it); ExportError names what is missing."""
    if not opts.verify_arm:
        return None
    if "verify" not in stages:
        raise ExportError("--verify-arm runs with the verify stage: add verify to --stages")
    from albert_edge.emulation import qemu_cpus, qemu_env   # only --verify-arm needs qemu
    from albert_edge.emulation.errors import ArmEnvironmentError
    try:
        return qemu_env.prepare(qemu_cpus.parse_cpu_list(",".join(opts.arm_cpus)))
    except (ArmEnvironmentError, ValueError) as err:
        raise ExportError(f"--verify-arm: {err}") from None


def _verify_arm(env, opts: ExportOptions, artifacts: Dict[str, Path], seq_lens: Sequence[int],
                eval_path: Path) -> dict:
    """Every variant on the phone's aarch64 kernels at the shortest length, under the emulation's
    numerics rule (against LiteRT's reference kernels: ``emulation/numerics.py``).

    50 evaluation pairs per quantized variant, 5 per float one (~10x slower to emulate); instruction
    counts per inference are recorded beside the numerics (benchmark/PERFORMANCE.md explains them).
    """
    from albert_edge.emulation import qemu_run
    from albert_edge.emulation.errors import ArmRunError
    rows, failures = [], []
    for variant, path in artifacts.items():
        try:
            rows.extend(qemu_run.run_arm([path], env.probes.keys(), seq_lens=[min(seq_lens)],
                                         pairs=qemu_run.DEFAULT_PAIRS, float_pairs=qemu_run.FLOAT_PAIRS,
                                         pairs_file=str(eval_path), progress=False, env=env,
                                         known_variants=tuple(vr.names())))
        except ArmRunError as err:
            failures.append(f"arm: {variant} did not run on the aarch64 kernels: {err}")
    failures.extend(qemu_run.gate_failures(rows))
    return {"cpus": list(env.probes), "qemu": env.qemu_version, "litert": env.litert_version,
            "rows": rows, "failures": failures}


def _arm_markdown(section: dict) -> List[str]:
    from albert_edge.emulation import numerics, qemu_run
    return ["## On aarch64 kernels (qemu-user, --verify-arm)", "",
            f"qemu {section['qemu']}, ai-edge-litert {section['litert']}; numerics vs {numerics.REFERENCE}: "
            f"fp32/fp16 ≤ {numerics.FLOAT_TOLERANCE:g}, int8 ≤ k(L) = {numerics.OUTPUT_STEPS} + ⌈L/"
            f"{numerics.POSITIONS_PER_STEP}⌉ output steps, argmax agreement "
            "(ties and near ties excepted). Instruction counts are per inference, deterministic.", "",
            qemu_run.markdown_table(section["rows"]).rstrip("\n"), ""]
