"""What an export is asked to do (`ExportOptions`) and how it says no (`ExportError`), without TensorFlow.

Why a module of its own: `python -m albert_edge.export` builds its options before any stage runs,
and `--help` or a mistyped flag must answer without loading TensorFlow (`tests/test_cli_help.py`).
With the options here, `export/pipeline.py` (the stages, which need TensorFlow) imports its
dependencies at the top like any other module, and re-exports these names, so
`from albert_edge.export.pipeline import ExportOptions` keeps working.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional, Tuple

from albert_edge.export import variants as vr

STAGES = ("freeze", "convert", "verify")
# The output op of albert_zh's own TF1 graph (its masked-LM probabilities): what --tf1-meta and
# --frozen-graph convert unless --tf1-outputs names others.
ALBERT_ZH_TF1_OUTPUT = "cls/predictions/truediv"


class ExportError(RuntimeError):
    """The export cannot go on; the message says what and how to fix it (CLI exit 2)."""


@dataclasses.dataclass
class ExportOptions:
    preset: str = "tiny"
    checkpoint: Optional[str] = None
    config: Optional[str] = None
    out: Optional[str] = None
    variants: Tuple[str, ...] = vr.default_names()
    seq_lens: Tuple[int, ...] = (32, 64, 128)
    calibration: Optional[str] = None
    eval: Optional[str] = None
    eval_limit: Optional[int] = None
    task: Optional[str] = None               # albert_edge.tasks name; default: the model's recorded task
    head: Optional[str] = None               # "mlm" = task mlm, "classifier" = the model's classifier task (--head)
    qat_train: Optional[str] = None          # labelled pairs for the qat variant (default: calibration pairs)
    qat_steps: int = 300
    qat_learning_rate: float = 1e-5
    max_accuracy_drop: float = 1.0
    threads: Tuple[int, ...] = (1, 2)
    latency_runs: int = 20
    tf1_meta: Optional[str] = None
    frozen_graph: Optional[str] = None
    tf1_outputs: Tuple[str, ...] = (ALBERT_ZH_TF1_OUTPUT,)
    stages: Tuple[str, ...] = ("freeze", "convert", "verify")
    force: bool = False
    progress: bool = True
    verify_arm: bool = False                   # also run every variant on aarch64 LiteRT kernels (qemu-user)
    arm_cpus: Tuple[str, ...] = ("cortex-a76",)
    mediapipe: bool = False                    # also one single-subgraph file per length for MediaPipe Tasks (single task)
    npu: Tuple[str, ...] = ()                  # Snapdragon SoCs to AOT-compile for (export/npu.py); () = CPU only
    npu_variants: Optional[Tuple[str, ...]] = None   # None: export/npu.py's DEFAULT_VARIANTS
    allow_cpu_fallback: bool = False           # accept NPU-compiled signatures with ops left on the CPU
    qnn_sdk: Optional[str] = None              # Qualcomm QAIRT folder instead of onnxruntime-qnn's libraries

    def out_dir(self) -> Path:
        return Path(self.out or f"exports/albert_{self.preset}")
