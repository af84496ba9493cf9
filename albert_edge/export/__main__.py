"""`python -m albert_edge.export tiny …` — freeze, convert, quantize and verify for TFLite.

Exit codes: 0 all gates passed · 1 artifacts written but a gate failed (see report.md) ·
2 unusable input (missing checkpoint, bad config, bad data file …).
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from albert_edge.cli import (EXIT_GATE_FAILED, EXIT_OK, EXIT_USAGE, csv_of, describe_os_error,
                             is_environment_error, nonnegative_float, nonnegative_int, positive_int,
                             quiet_tensorflow, setup_logging, wants_verbose)
from albert_edge import tasks
from albert_edge.checkpoint import CheckpointError
from albert_edge.config import PRESETS, ConfigError
from albert_edge.export import variants
from albert_edge.export.options import ExportError, ExportOptions
from albert_edge.runtime import ModelError


def build_parser() -> argparse.ArgumentParser:
    d = ExportOptions()
    p = argparse.ArgumentParser(
        prog="python -m albert_edge.export",
        description="Turn an albert_zh checkpoint into phone-ready TFLite models with a verification report. "
                    "With no arguments: the bundled albert_tiny similarity model, bundled calibration and "
                    "evaluation pairs, output in exports/albert_tiny/.")
    p.add_argument("preset", nargs="?", default="tiny", choices=list(PRESETS),
                   help="model size (default tiny); other sizes need --checkpoint")
    p.add_argument("--checkpoint", help="albert_zh TF1 checkpoint (folder or prefix; brightmart or Google layout) "
                                        "or a Hugging Face folder (config.json + model.safetensors)")
    p.add_argument("--config", help="albert_config*.json (default: the one beside the checkpoint, else the preset)")
    p.add_argument("--out", help="output folder (default exports/albert_<preset>/)")
    p.add_argument("--variants", type=csv_of(str, "variant names"), default=d.variants,
                   help=variants.help_text())
    p.add_argument("--seq-lens", type=csv_of(positive_int, "positive integers"), default=d.seq_lens,
                   help="sequence lengths, one signature each over shared weights (default 32,64,128)")
    p.add_argument("--task", choices=tasks.names(),
                   help="what the model does: " + "; ".join(f"{t.name} = {t.description}" for t in map(tasks.get, tasks.names()))
                        + " (default: the task recorded beside the checkpoint, task.txt, else read from its labels)")
    p.add_argument("--calibration", help="TSV of ≥ 200 real examples in the task's format for full-int8 calibration "
                                         "(default: the task's bundled set; pairs: LCQMC training pairs)")
    p.add_argument("--qat-train", help="labelled TSV in the task's format for the qat variant's fine-tuning "
                                       "(default: the calibration pairs)")
    p.add_argument("--qat-steps", type=nonnegative_int, default=300, help="qat fine-tuning steps (default 300, batch 16, lr 1e-5)")
    p.add_argument("--eval", help="labelled TSV in the task's format for accuracy/agreement (default: the task's "
                                  "bundled set; pairs: all 8,802 LCQMC dev pairs)")
    p.add_argument("--eval-limit", type=positive_int, help="use only the first N evaluation pairs")
    p.add_argument("--head", choices=["classifier", "mlm"],
                   help="mlm = --task mlm (albert_zh's documented masked-LM graph); classifier = the model's "
                        "classifier task")
    p.add_argument("--max-accuracy-drop", type=nonnegative_float, default=1.0,
                   help="fail when a quantized variant loses more accuracy points than this (default 1.0)")
    p.add_argument("--threads", type=csv_of(positive_int, "positive integers"), default=d.threads, help="thread counts for host latency (default 1,2)")
    p.add_argument("--latency-runs", type=positive_int, default=20, help="timed runs per length and thread count")
    p.add_argument("--tf1-meta", help="albert_zh checkpoint prefix with its .meta graph: freeze and convert that graph")
    p.add_argument("--frozen-graph", help="a frozen GraphDef (.pb) to convert as is")
    p.add_argument("--tf1-outputs", type=csv_of(str, "op names"), default=d.tf1_outputs,
                   help="output op names of the TF1 graph (default albert_zh's cls/predictions/truediv)")
    p.add_argument("--stages", type=csv_of(str, "stage names"), default=d.stages,
                   help="which stages to run (default freeze,convert,verify); up-to-date artifacts are reused")
    p.add_argument("--force", action="store_true", help="redo every stage even if its artifact is up to date")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--verify-arm", action="store_true",
                   help="also run every variant on aarch64 LiteRT kernels under qemu-user (numerics gate + "
                        "instruction counts in report.json/report.md; needs qemu-user and a C compiler)")
    p.add_argument("--arm-cpu", default="cortex-a76",
                   help="qemu CPU models for --verify-arm, comma-separated (default cortex-a76)")
    p.add_argument("--mediapipe", action="store_true",
                   help="also write one single-subgraph file per length (<name>_<variant>_L<len>.mediapipe.tflite, "
                        "probabilities as the first head) for MediaPipe Tasks' TextClassifier; single-sentence "
                        "tasks only (MediaPipe has no two-text input)")
    p.add_argument("--npu", type=csv_of(str, "SoC names"), default=(), metavar="SOC[,SOC…]|list",
                   help="also AOT-compile the NPU variants for these Snapdragon SoCs (e.g. sm8550,sm8650,sm8750) "
                        "next to the CPU files, with a table of ops on the NPU; `--npu list` prints the SoCs. "
                        "Needs the Qualcomm libraries (make npu-deps)")
    p.add_argument("--npu-variants", type=csv_of(str, "variant names"),
                   help="variants to compile for --npu (default int8; each must be in --variants)")
    p.add_argument("--allow-cpu-fallback", action="store_true",
                   help="accept NPU-compiled signatures with ops left on the CPU (reported), instead of failing")
    p.add_argument("--qnn-sdk", metavar="DIR",
                   help="Qualcomm QAIRT SDK folder to compile with (default: $QNN_SDK_ROOT, else onnxruntime-qnn's "
                        "QNN libraries)")
    p.add_argument("-v", "--verbose", action="store_true", help="INFO logging and TensorFlow's own log lines")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    # Installs the quiet-import hook (no import): TensorFlow loads only once a job runs, so `--help`
    # and argparse's usage errors answer at once; -v is read from argv because parsing comes after.
    quiet_tensorflow(wants_verbose(argv))
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    if list(args.npu) == ["list"]:
        from albert_edge.emulation import socs  # noqa: PLC0415 — TensorFlow-free
        print(socs.list_table(), end="")
        return EXIT_OK
    if args.npu:
        from albert_edge.emulation import socs  # noqa: PLC0415
        from albert_edge.emulation.errors import NpuEnvironmentError  # noqa: PLC0415
        try:
            socs.parse_list(args.npu)
        except NpuEnvironmentError as err:
            print(f"error: --npu: {err}", file=sys.stderr)
            return EXIT_USAGE
    for name in args.npu_variants or ():
        if name not in variants.names():
            print(f"error: --npu-variants: unknown variant {name!r}; choose from {', '.join(variants.names())}",
                  file=sys.stderr)
            return EXIT_USAGE
    # The stages import TensorFlow: loaded once the options parsed, after the quiet-import hook.
    from albert_edge.export.convert import ConvertError  # noqa: PLC0415
    from albert_edge.export.freeze import FreezeError  # noqa: PLC0415
    from albert_edge.export.pipeline import export  # noqa: PLC0415

    opts = ExportOptions(
        preset=args.preset, checkpoint=args.checkpoint, config=args.config, out=args.out,
        variants=args.variants, seq_lens=args.seq_lens, calibration=args.calibration, eval=args.eval,
        eval_limit=args.eval_limit, task=args.task, head=args.head, qat_train=args.qat_train, qat_steps=args.qat_steps, max_accuracy_drop=args.max_accuracy_drop,
        threads=args.threads, latency_runs=args.latency_runs, tf1_meta=args.tf1_meta,
        frozen_graph=args.frozen_graph, tf1_outputs=args.tf1_outputs, stages=args.stages, force=args.force,
        progress=not args.no_progress, verify_arm=args.verify_arm, arm_cpus=(args.arm_cpu,),
        mediapipe=args.mediapipe,
        npu=tuple(args.npu), npu_variants=tuple(args.npu_variants) if args.npu_variants else None,
        allow_cpu_fallback=args.allow_cpu_fallback, qnn_sdk=args.qnn_sdk)
    try:
        result = export(opts)
    except (ExportError, CheckpointError, ConfigError, FreezeError, ModelError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except ConvertError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_GATE_FAILED
    except OSError as err:
        if not is_environment_error(err):
            raise
        print(f"error: {describe_os_error(err)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as err:  # noqa: BLE001 — TensorFlow reports a full disk as its own error types
        message = environment_message(err)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return EXIT_USAGE
    if result.report:
        shown = "report.md" if "verify" in opts.stages else "npu_report.md"
        print((result.out_dir / shown).read_text(encoding="utf-8"))
    print(f"wrote {result.out_dir}/ (stages: {','.join(opts.stages)})")
    if result.failures:
        for failure in result.failures:
            print(f"FAILED: {failure}", file=sys.stderr)
        return EXIT_GATE_FAILED
    return EXIT_OK


def environment_message(err: BaseException) -> Optional[str]:
    """A message for TensorFlow's own "disk full / read-only / no permission" errors, else None.

    SaveV2 and the SavedModel writer raise `tf.errors.ResourceExhaustedError` / `PermissionDeniedError`
    / `FailedPreconditionError` rather than OSError when the output location cannot hold the files.
    """
    import tensorflow as tf  # noqa: PLC0415 — already imported by the export
    if not isinstance(err, tf.errors.OpError):
        return None
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    lowered = text.lower()
    if isinstance(err, (tf.errors.ResourceExhaustedError, tf.errors.PermissionDeniedError)) or any(
            k in lowered for k in ("no space left", "read-only file system", "permission denied", "disk quota")):
        return (f"the export could not finish: {text} — free disk space (or memory), or choose a writable "
                "--out on a disk with room")
    return None


if __name__ == "__main__":
    sys.exit(main())
