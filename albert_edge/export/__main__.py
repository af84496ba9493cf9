"""`python -m albert_edge.export tiny …` — freeze, convert, quantize and verify for TFLite.

Exit codes: 0 all gates passed · 1 artifacts written but a gate failed (see report.md) ·
2 unusable input (missing checkpoint, bad config, bad data file …).
"""
from __future__ import annotations

import argparse
import logging
import sys
from typing import List, Optional, Sequence

from albert_edge.config import PRESETS


def _csv(kind):
    def parse(text: str):
        try:
            return tuple(kind(x) for x in text.split(",") if x.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {kind.__name__}, got {text!r}")
    return parse


def build_parser() -> argparse.ArgumentParser:
    from albert_edge.export.convert import DEFAULT_VARIANTS, VARIANTS
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
    p.add_argument("--variants", type=_csv(str), default=DEFAULT_VARIANTS,
                   help=f"comma-separated, from {','.join(VARIANTS)} (default {','.join(DEFAULT_VARIANTS)})")
    p.add_argument("--seq-lens", type=_csv(int), default=(32, 64, 128),
                   help="sequence lengths, one signature each over shared weights (default 32,64,128)")
    p.add_argument("--calibration", help="TSV of ≥ 200 real pairs (a<TAB>b<TAB>label) for full-int8 calibration "
                                         "(default: bundled LCQMC training pairs)")
    p.add_argument("--qat-train", help="labelled TSV (a<TAB>b<TAB>label) for the qat variant's fine-tuning "
                                       "(default: the calibration pairs)")
    p.add_argument("--qat-steps", type=int, default=300, help="qat fine-tuning steps (default 300, batch 16, lr 1e-5)")
    p.add_argument("--eval", help="labelled TSV for accuracy/agreement (default: bundled held-out LCQMC pairs)")
    p.add_argument("--eval-limit", type=int, help="use only the first N evaluation pairs")
    p.add_argument("--head", choices=["classifier", "mlm"], default="classifier",
                   help="classifier (logits, probabilities) or mlm (albert_zh's documented masked-LM graph)")
    p.add_argument("--max-accuracy-drop", type=float, default=1.0,
                   help="fail when a quantized variant loses more accuracy points than this (default 1.0)")
    p.add_argument("--threads", type=_csv(int), default=(1, 2), help="thread counts for host latency (default 1,2)")
    p.add_argument("--latency-runs", type=int, default=20, help="timed runs per length and thread count")
    p.add_argument("--tf1-meta", help="albert_zh checkpoint prefix with its .meta graph: freeze and convert that graph")
    p.add_argument("--frozen-graph", help="a frozen GraphDef (.pb) to convert as is")
    p.add_argument("--tf1-outputs", type=_csv(str), default=("cls/predictions/truediv",),
                   help="output op names of the TF1 graph (default albert_zh's cls/predictions/truediv)")
    p.add_argument("--stages", type=_csv(str), default=("freeze", "convert", "verify"),
                   help="which stages to run (default freeze,convert,verify); up-to-date artifacts are reused")
    p.add_argument("--force", action="store_true", help="redo every stage even if its artifact is up to date")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from albert_edge.checkpoint import CheckpointError
    from albert_edge.config import ConfigError
    from albert_edge.export.convert import ConvertError
    from albert_edge.export.freeze import FreezeError
    from albert_edge.export.pipeline import ExportError, ExportOptions, export
    from albert_edge.runtime import ModelError

    opts = ExportOptions(
        preset=args.preset, checkpoint=args.checkpoint, config=args.config, out=args.out,
        variants=args.variants, seq_lens=args.seq_lens, calibration=args.calibration, eval=args.eval,
        eval_limit=args.eval_limit, head=args.head, qat_train=args.qat_train, qat_steps=args.qat_steps, max_accuracy_drop=args.max_accuracy_drop,
        threads=args.threads, latency_runs=args.latency_runs, tf1_meta=args.tf1_meta,
        frozen_graph=args.frozen_graph, tf1_outputs=args.tf1_outputs, stages=args.stages, force=args.force,
        progress=not args.no_progress)
    try:
        result = export(opts)
    except (ExportError, CheckpointError, ConfigError, FreezeError, ModelError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ConvertError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if result.report:
        print((result.out_dir / "report.md").read_text(encoding="utf-8"))
    print(f"wrote {result.out_dir}/ (stages: {','.join(opts.stages)})")
    if result.failures:
        for failure in result.failures:
            print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
