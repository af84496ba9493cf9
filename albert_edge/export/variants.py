"""Export variants: one registered entry per kind of .tflite the export can write.

A variant owns everything that differs between "fp32", "int8", "qat" …: whether it is in the
default set, whether it needs calibration data, whether albert_zh's raw TF1 graph can take it, its
converter settings, the post-processing of the converted bytes, an optional change to the Keras
model before freezing (QAT's fake-quant fine-tuning), and how far its logits may stray from the TF
model. The converter (`convert.py`), the pipeline, the CLI's --help and the peer benchmark read
these entries instead of testing names, as optimum keeps one export config per task.

| variant        | weights | activations | how                                                         |
|----------------|---------|-------------|-------------------------------------------------------------|
| `fp32`         | float32 | float32     | plain conversion; the reference (logits within 1e-4 of TF)  |
| `fp16`         | float16 | float32     | `supported_types = [float16]`                               |
| `dynamic_int8` | int8    | float32     | `Optimize.DEFAULT`, no calibration data                     |
| `int8`         | int8    | int8 in the matmuls | calibrated; int8 FULLY_CONNECTED and embedding GATHER, float LayerNorm / softmax / attention products (`convert.MIXED_INT8_KEEP`) |
| `int8_full`    | int8    | int8        | full integer (integer-only NPUs / DSPs), calibrated          |
| `int16x8`      | int8    | int16       | `EXPERIMENTAL_…_ACTIVATIONS_INT16_WEIGHTS_INT8`, calibrated  |
| `qat`          | int8    | int8        | as `int8_full`, from a fake-quant fine-tuned copy (`qat.py`) |

Why `int8` is not full-integer: on CPUs, TFLite's int8 kernels for the decomposed LayerNorm (MEAN,
SQUARED_DIFFERENCE, RSQRT, broadcast SUB), for BATCH_MATMUL (reference kernel) and for softmax are
slow and XNNPACK does not take them, so a full-integer ALBERT ran ~2× *slower* than fp32. Keeping
those ops float leaves them to XNNPACK and still runs every matmul on int8 weights and calibrated
int8 activations — the part that makes int8 small and fast. `int8_full` stays for integer-only
accelerators.

Adding a variant is one `register(Variant(...))` call here (see ARCHITECTURE.md); nothing else
tests variant names. Importing this module costs no TensorFlow (`--help` lists the variants):
the functions that need it import it when called.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from albert_edge.registry import Registry

Feeds = Dict[str, np.ndarray]
# signature key -> list of feeds (each {input name: int32 [1, L]})
CalibrationSet = Dict[str, List[Feeds]]
# (converter, calibration or None) -> None; sets the variant's options on a TFLiteConverter
Configure = Callable[[Any, Optional[CalibrationSet]], None]
# converted .tflite bytes -> .tflite bytes
PostProcess = Callable[[bytes], bytes]

# The variant every other one is compared against (accuracy baseline, size ratio).
REFERENCE = "fp32"


class UnknownVariant(ValueError):
    """A variant name nothing registered; the message lists the registered ones."""


class VariantInputError(ValueError):
    """Options or data a variant needs are missing or unusable; the message says which and how to fix it."""


@dataclasses.dataclass(frozen=True)
class TransformInputs:
    """What a model transform may use besides the float model.

    `options` is the export's options object (`export.options.ExportOptions`, typed loosely: that
    module imports this one); a transform reads only its own fields there.
    """
    options: Any
    task: Any                                   # albert_edge.tasks.Task of the model
    tokenizer: Any
    labels: Sequence[str]
    seq_lens: Sequence[int]
    calibration_path: Optional[Path]            # the calibration file, if the export has one
    read_examples: Callable[[Path], list]       # the task's labelled examples of a file (export errors)


@dataclasses.dataclass(frozen=True)
class ModelTransform:
    """A change to the float Keras model before freezing; the variant converts that model's own SavedModel.

    check: (options, task) -> None, raises VariantInputError before any slow stage.
    inputs: (options, calibration path) -> (files, values) the transform's result depends on; the
        pipeline folds their digest into the artifact's fingerprint, so a changed file or setting
        redoes the variant.
    apply: (float model, TransformInputs) -> the Keras model to freeze; VariantInputError for bad data.
    """
    check: Callable[[Any, Any], None]
    inputs: Callable[[Any, Optional[Path]], Tuple[List[Path], list]]
    apply: Callable[[Any, TransformInputs], Any]


@dataclasses.dataclass(frozen=True)
class Variant:
    """One export variant.

    name: file-name part (`albert_<preset>_<name>.tflite`) and --variants choice.
    description: one line — weights, activations, how (--help, docs); no ";" (it separates them in --help).
    default: exported when --variants is not given (and benchmarked by the peer benchmark).
    calibrated: the converter needs representative inputs (`CalibrationSet`).
    from_tf1_graph: convertible from albert_zh's raw TF1 graph, which has no calibration feeds.
    configure: the converter settings beyond "builtin ops only", which `convert.py` applies to all.
    postprocess: steps on the converted bytes, in order.
    model_transform: a change to the Keras model before freezing (None: the shared SavedModel).
    max_logit_delta: the verify gate on max |Δlogit| against the TF model (None: reported only).
    accuracy_gated: the verify gate on accuracy points lost against the reference variant applies.
    """
    name: str
    description: str
    configure: Configure
    default: bool = False
    calibrated: bool = False
    from_tf1_graph: bool = False
    postprocess: Tuple[PostProcess, ...] = ()
    model_transform: Optional[ModelTransform] = None
    max_logit_delta: Optional[float] = None
    accuracy_gated: bool = True


_REGISTRY: Registry[Variant] = Registry("variant", UnknownVariant)
REGISTRY: Mapping[str, Variant] = _REGISTRY.view   # read-only, in registration order


def register(variant: Variant) -> Variant:
    """Add `variant`; a second entry under one name, or a name unfit for a file name, is a ValueError."""
    return _REGISTRY.register(variant.name, variant)


unregister = _REGISTRY.unregister
get = _REGISTRY.get


def names() -> Tuple[str, ...]:
    return _REGISTRY.names()


def default_names() -> Tuple[str, ...]:
    return _REGISTRY.names(lambda v: v.default)


def help_text() -> str:
    """The --variants help: the default set, then every variant with its description."""
    return (f"comma-separated (default {','.join(default_names())}); "
            + "; ".join(f"{v.name}: {v.description}" for v in _REGISTRY.values()))


def representative_dataset(calibration: CalibrationSet) -> Callable[[], Iterable]:
    """The converter's representative dataset: bare feeds for a single unnamed signature, else
    (signature key, feeds) so each signature is calibrated on inputs of its own length."""
    keys = sorted(calibration)
    single = keys == [""]

    def generate():
        for key in keys:
            for feeds in calibration[key]:
                yield feeds if single else (key, feeds)
    return generate


# ------------------------------------------------------------------------------ converter settings
def _plain(converter, calibration: Optional[CalibrationSet]) -> None:
    """No optimization: float32 weights and activations."""


def _float16(converter, calibration: Optional[CalibrationSet]) -> None:
    import tensorflow as tf
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]


def _dynamic_range(converter, calibration: Optional[CalibrationSet]) -> None:
    import tensorflow as tf
    converter.optimizations = [tf.lite.Optimize.DEFAULT]


def _calibrate_only(converter, calibration: CalibrationSet) -> None:
    """Record activation ranges but keep every op float: `_mixed_int8` then quantizes the matmuls."""
    import tensorflow as tf
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_dataset(calibration)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS]
    converter._experimental_calibrate_only = True   # the converter's only switch for "calibrate, do not quantize"


def _full_integer(converter, calibration: CalibrationSet) -> None:
    """Every op int8; the ranges of a FakeQuant-trained model come from its FakeQuant ops instead."""
    import tensorflow as tf
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_dataset(calibration)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]


def _int16_activations(converter, calibration: CalibrationSet) -> None:
    """int16 kernels exist for the matmuls, softmax and the LayerNorm pieces; the rest stays float."""
    import tensorflow as tf
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_dataset(calibration)
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8,
        tf.lite.OpsSet.TFLITE_BUILTINS]


# ------------------------------------------------------------------------------ post-processing
def _mixed_int8(model: bytes) -> bytes:
    from albert_edge.export import convert
    return convert.quantize_mixed_int8(model)


def _share_constants(model: bytes) -> bytes:
    """Calibration per signature gives each its own copy of a quantized table; point them at one."""
    from albert_edge.export import convert
    return convert.share_constants_across_signatures(model)


# ------------------------------------------------------------------------------ qat model transform
def _qat_train_path(options: Any, calibration_path: Optional[Path]) -> Optional[Path]:
    return Path(options.qat_train) if options.qat_train else calibration_path


def _qat_check(options: Any, task: Any) -> None:
    if task.head != "classifier":
        raise VariantInputError(f"the qat variant needs a classifier task (--head classifier: it fine-tunes on "
                                f"labelled examples), not {task.name}")
    if options.qat_steps < 0:
        raise VariantInputError(f"--qat-steps must be ≥ 0, got {options.qat_steps}")
    if options.qat_train and not Path(options.qat_train).is_file():
        raise VariantInputError(f"--qat-train {options.qat_train}: file not found ({task.file_layout} lines)")


def _qat_inputs(options: Any, calibration_path: Optional[Path]) -> Tuple[List[Path], list]:
    train = _qat_train_path(options, calibration_path)
    return ([train] if train is not None else []), [options.qat_steps, options.qat_learning_rate]


def _qat_apply(model: Any, inputs: TransformInputs) -> Any:
    from albert_edge.export import qat
    train = _qat_train_path(inputs.options, inputs.calibration_path)
    if train is None:
        raise VariantInputError(f"the qat variant needs labelled training examples: pass --qat-train FILE "
                                f"({inputs.task.file_layout} lines)")
    return qat.finetune_for_export(model, inputs, train)


# ------------------------------------------------------------------------------ the variants
register(Variant(
    name="fp32", description="float32 weights and activations, plain conversion (the reference)",
    configure=_plain, default=True, from_tf1_graph=True, max_logit_delta=1e-4, accuracy_gated=False))
register(Variant(
    name="fp16", description="float16 weights, float32 activations",
    configure=_float16, default=True, from_tf1_graph=True))
register(Variant(
    name="dynamic_int8", description="int8 weights, float32 activations quantized at run time, no calibration",
    configure=_dynamic_range, default=True, from_tf1_graph=True))
register(Variant(
    name="int8", description="int8 weights and calibrated int8 activations in the matmuls and embedding lookup, "
                             "float LayerNorm / softmax / attention products (fastest on CPUs)",
    configure=_calibrate_only, default=True, calibrated=True, postprocess=(_mixed_int8, _share_constants)))
register(Variant(
    name="int8_full", description="every op int8, calibrated (integer-only NPUs / DSPs)",
    configure=_full_integer, calibrated=True, postprocess=(_share_constants,)))
register(Variant(
    name="int16x8", description="int8 weights, calibrated int16 activations where int16 kernels exist, else float",
    configure=_int16_activations, calibrated=True, postprocess=(_share_constants,)))
register(Variant(
    # FakeQuant ranges come from training; calibration fills the tensors inside our layers that
    # carry no FakeQuant (without it they would have no range at all).
    name="qat", description="every op int8, from a copy fake-quant fine-tuned on labelled examples "
                            "(--qat-train, --qat-steps)",
    configure=_full_integer, calibrated=True, postprocess=(_share_constants,),
    model_transform=ModelTransform(check=_qat_check, inputs=_qat_inputs, apply=_qat_apply)))
