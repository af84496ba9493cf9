"""Convert: SavedModel (or a frozen TF1 graph) → .tflite bytes, one variant at a time.

Variants (builtin TFLite ops only — never Flex / Select-TF ops, which phones would need an extra
7 MB runtime for):

| variant        | weights | activations | how                                              |
|----------------|---------|-------------|--------------------------------------------------|
| `fp32`         | float32 | float32     | plain conversion                                 |
| `fp16`         | float16 | float32     | `supported_types = [float16]`                    |
| `dynamic_int8` | int8    | float32     | `Optimize.DEFAULT`, no calibration data           |
| `int8`         | int8    | int8 in the matmuls | calibrated on real pairs; int8 FULLY_CONNECTED and embedding GATHER, float LayerNorm / softmax / attention products (`MIXED_INT8_KEEP`) |
| `int8_full`    | int8    | int8        | full integer (integer-only NPUs / DSPs), calibrated as `int8` |
| `int16x8`      | int8    | int16       | `EXPERIMENTAL_…_ACTIVATIONS_INT16_WEIGHTS_INT8`    |
| `qat`          | int8    | int8        | as `int8`, from a FakeQuant-trained SavedModel (`qat.py`) |

Inputs stay int32 ids / masks and outputs float logits in every variant, so an app feeds every
variant the same way.

Why `int8` is not full-integer: on CPUs, TFLite's int8 kernels for the decomposed LayerNorm (MEAN,
SQUARED_DIFFERENCE, RSQRT, broadcast SUB), for BATCH_MATMUL (reference kernel) and for softmax are
slow and XNNPACK does not take them, so a full-integer ALBERT ran ~2× *slower* than fp32. Keeping
those ops float leaves them to XNNPACK and still runs every matmul on int8 weights and calibrated
int8 activations — the part that makes int8 small and fast. `int8_full` stays for integer-only
accelerators.

Several signatures (`L32`, `L64`, `L128`) share one copy of the weights. Full-integer conversion
calibrates each signature separately, which gives the embedding table (quantized as an activation
of GATHER) slightly different scales per signature — and so one 2.7 MB copy per signature.
`share_constants_across_signatures` points them back at one copy.
"""
from __future__ import annotations

import copy
import logging
import os
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

logger = logging.getLogger(__name__)

VARIANTS = ("fp32", "fp16", "dynamic_int8", "int8", "int8_full", "int16x8", "qat")
DEFAULT_VARIANTS = ("fp32", "fp16", "dynamic_int8", "int8")
QUANTIZED = ("fp16", "dynamic_int8", "int8", "int8_full", "int16x8", "qat")
CALIBRATED = ("int8", "int8_full", "int16x8", "qat")
# The ops the `int8` variant quantizes; every other builtin stays float (see the module docstring).
MIXED_INT8_KEEP = ("FULLY_CONNECTED", "GATHER")

Feeds = Dict[str, np.ndarray]
# signature key -> list of feeds (each {input name: int32 [1, L]})
CalibrationSet = Dict[str, List[Feeds]]


class ConvertError(RuntimeError):
    """Conversion failed; the message names the variant and what to do."""


def _configure(converter, variant: str, calibration: Optional[CalibrationSet]) -> None:
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if variant == "fp32":
        return
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if variant == "fp16":
        converter.target_spec.supported_types = [tf.float16]
    elif variant == "dynamic_int8":
        pass
    elif variant in CALIBRATED:
        if not calibration:
            raise ConvertError(f"variant {variant} needs calibration pairs (--calibration FILE, ≥ 200 pairs)")
        converter.representative_dataset = _representative(calibration)
        if variant == "int8":
            # calibrate only; `_quantize_mixed_int8` then quantizes the MIXED_INT8_KEEP ops
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS]
            converter._experimental_calibrate_only = True
        elif variant in ("int8_full", "qat"):  # qat: a SavedModel with FakeQuant ops (albert_edge.export.qat)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        else:
            # int16 kernels exist for the matmuls, softmax, layer-norm pieces; the rest stays float.
            converter.target_spec.supported_ops = [
                tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8,
                tf.lite.OpsSet.TFLITE_BUILTINS]
    else:
        raise ConvertError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")


def _representative(calibration: CalibrationSet) -> Callable[[], Iterable]:
    keys = sorted(calibration)
    single = keys == [""]

    def generate():
        for key in keys:
            for feeds in calibration[key]:
                yield feeds if single else (key, feeds)
    return generate


def convert_saved_model(saved_model_dir: str | os.PathLike, variant: str, signature_keys: Sequence[str],
                        calibration: Optional[CalibrationSet] = None) -> bytes:
    """One variant of a SavedModel's signatures as .tflite bytes."""
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir), signature_keys=list(signature_keys))
    _configure(converter, variant, calibration)
    model = _run(converter, variant)
    if variant == "int8":
        model = _quantize_mixed_int8(model)
    if variant in CALIBRATED and len(signature_keys) > 1:
        model = share_constants_across_signatures(model)
    assert_builtin_only(model, variant)
    return model


def convert_frozen_graph(graph_def_file: str | os.PathLike, input_shapes: Dict[str, List[int]],
                         outputs: Sequence[str], variant: str,
                         calibration: Optional[CalibrationSet] = None) -> bytes:
    """A frozen TF1 GraphDef (albert_zh's own graph) → .tflite, as albert_zh's `tflite_convert` recipe."""
    converter = tf.compat.v1.lite.TFLiteConverter.from_frozen_graph(
        str(graph_def_file), input_arrays=list(input_shapes), output_arrays=list(outputs),
        input_shapes=input_shapes)
    _configure(converter, variant, calibration)
    model = _run(converter, variant)
    if variant == "int8":
        model = _quantize_mixed_int8(model)
    assert_builtin_only(model, variant)
    return model


def _quantize_mixed_int8(calibrated: bytes, keep: Sequence[str] = MIXED_INT8_KEEP) -> bytes:
    """A calibrated float model → int8 for the `keep` ops only (the MLIR quantizer's op denylist
    is the selective-quantization route of `tf.lite.experimental.QuantizationDebugger`)."""
    from tensorflow.lite.python import convert as tflite_convert
    from tensorflow.lite.python import schema_py_generated as schema
    denylist = sorted(k for k in vars(schema.BuiltinOperator) if not k.startswith("_") and k not in keep)
    try:
        # Per-tensor weight scales: per-channel ones put a scale + zero point per output channel
        # on every bias of every call of the shared layer in every signature (~0.5 MB of
        # quantization parameters for ALBERT-tiny, 31% of fp32 instead of 28%).
        return tflite_convert.mlir_quantize(calibrated, denylisted_ops=denylist, disable_per_channel=True)
    except Exception as err:
        raise ConvertError(f"int8 quantization failed: {str(err).strip().splitlines()[0] if str(err).strip() else err}") from err


def _run(converter, variant: str) -> bytes:
    try:
        return converter.convert()
    except Exception as err:  # ConverterError and friends carry the MLIR diagnostics
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConvertError(f"TFLite conversion of variant {variant} failed: {first}") from err


# ------------------------------------------------------------------------------------------------
def _read(model_bytes: bytes):
    from tensorflow.lite.tools import flatbuffer_utils
    return flatbuffer_utils.convert_bytearray_to_object(bytearray(model_bytes))


def _write(model) -> bytes:
    from tensorflow.lite.tools import flatbuffer_utils
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _op_name(model, operator) -> str:
    from tensorflow.lite.python import schema_py_generated as schema
    code = model.operatorCodes[operator.opcodeIndex]
    builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
    if builtin == schema.BuiltinOperator.CUSTOM:
        return "CUSTOM:" + (code.customCode.decode() if code.customCode else "?")
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    return names.get(builtin, str(builtin))


def op_histogram(model_bytes: bytes) -> Dict[str, int]:
    """Operator counts of the first subgraph (for reports and for shaping the graph)."""
    model = _read(model_bytes)
    counts: Dict[str, int] = {}
    for op in model.subgraphs[0].operators:
        name = _op_name(model, op)
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


def assert_builtin_only(model_bytes: bytes, variant: str) -> None:
    model = _read(model_bytes)
    custom = sorted({_op_name(model, op) for sg in model.subgraphs for op in sg.operators
                     if _op_name(model, op).startswith("CUSTOM:")})
    if custom:
        raise ConvertError(f"variant {variant} needs non-builtin ops {custom} (Flex/Select-TF): "
                           "phones would need the Flex delegate; this is a bug in the exported graph")


# Ops whose int8 kernels require output quantization == input quantization (they move bytes).
_PASS_THROUGH = ("GATHER", "RESHAPE", "SQUEEZE", "EXPAND_DIMS", "TRANSPOSE", "STRIDED_SLICE")


def _propagate_quantization(model, subgraph, start: int) -> None:
    """Give every byte-moving consumer of tensor `start` (transitively) the same quantization."""
    changed = {start}
    for op in subgraph.operators:  # operators are stored in execution order
        if _op_name(model, op) in _PASS_THROUGH and op.inputs[0] in changed:
            source = subgraph.tensors[op.inputs[0]].quantization
            for out in op.outputs:
                subgraph.tensors[out].quantization = copy.deepcopy(source)
                changed.add(out)


def _stem(name: bytes | str) -> str:
    """Tensor name without the per-signature numeric suffix the converter adds (Gather, Gather1, …)."""
    text = name.decode() if isinstance(name, bytes) else name
    return text.rstrip("0123456789")


def share_constants_across_signatures(model_bytes: bytes, min_bytes: int = 64 * 1024) -> bytes:
    """Point per-signature copies of one quantized constant at a single copy.

    Copies are recognised by name stem, shape and type. The copy with the widest scale is kept:
    it clips the fewest table rows (calibration sees only some tokens, so each signature's range
    is a slightly different under-estimate). Consumers that move bytes (GATHER, RESHAPE …) take
    the kept scale and zero point with it, as their int8 kernels require.
    """
    model = _read(model_bytes)
    if len(model.subgraphs) < 2:
        return model_bytes
    groups: Dict[tuple, list] = {}
    for sg_index, subgraph in enumerate(model.subgraphs):
        for t_index, tensor in enumerate(subgraph.tensors):
            data = model.buffers[tensor.buffer].data
            q = tensor.quantization
            if data is None or len(data) < min_bytes or q is None or q.scale is None or len(q.scale) != 1:
                continue
            groups.setdefault((_stem(tensor.name), tuple(tensor.shape), tensor.type), []).append((sg_index, t_index))
    freed = set()
    for members in groups.values():
        buffers = {model.subgraphs[s].tensors[t].buffer for s, t in members}
        if len(members) < 2 or len(buffers) < 2:
            continue
        keep_s, keep_t = max(members, key=lambda m: float(model.subgraphs[m[0]].tensors[m[1]].quantization.scale[0]))
        kept = model.subgraphs[keep_s].tensors[keep_t]
        for s_index, t_index in members:
            tensor = model.subgraphs[s_index].tensors[t_index]
            if tensor.buffer == kept.buffer:
                continue
            freed.add(tensor.buffer)
            tensor.buffer = kept.buffer
            tensor.quantization = copy.deepcopy(kept.quantization)
            _propagate_quantization(model, model.subgraphs[s_index], t_index)
    still_used = {t.buffer for sg in model.subgraphs for t in sg.tensors}
    for buffer_index in freed - still_used:
        model.buffers[buffer_index].data = None
    if freed:
        logger.info("shared %d quantized constants across signatures", len(freed))
    return _write(model)
