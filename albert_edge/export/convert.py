"""Convert: SavedModel (or a frozen TF1 graph) → .tflite bytes, one variant at a time.

What each variant is — its converter settings and post-processing — is its entry in `variants.py`;
this module applies one: builtin TFLite ops only (never Flex / Select-TF ops, which phones would
need an extra 7 MB runtime for), then the variant's settings, conversion, the variant's
post-processing steps, and a check that no custom op slipped in. Inputs stay int32 ids / masks and
outputs float logits in every variant, so an app feeds every variant the same way.

Several signatures (`L32`, `L64`, `L128`) share one copy of the weights. Full-integer conversion
calibrates each signature separately, which gives the embedding table (quantized as an activation
of GATHER) slightly different scales per signature — and so one 2.7 MB copy per signature.
`share_constants_across_signatures` points them back at one copy.
"""
from __future__ import annotations

import copy
import logging
import os
from typing import Dict, List, Optional, Sequence

import tensorflow as tf

from albert_edge.export import variants
from albert_edge.export.variants import CalibrationSet

logger = logging.getLogger(__name__)

# The ops the `int8` variant quantizes; every other builtin stays float (variants.py says why).
MIXED_INT8_KEEP = ("FULLY_CONNECTED", "GATHER")


class ConvertError(RuntimeError):
    """Conversion failed; the message names the variant and what to do."""


def lookup(variant: str) -> variants.Variant:
    """The registered variant of that name; ConvertError listing the choices otherwise."""
    try:
        return variants.get(variant)
    except variants.UnknownVariant as err:
        raise ConvertError(str(err)) from None


def configure(converter, variant: variants.Variant, calibration: Optional[CalibrationSet]) -> None:
    """Builtin ops only, then the variant's own settings (which may narrow the op set)."""
    if variant.calibrated and not calibration:
        raise ConvertError(f"variant {variant.name} needs calibration pairs (--calibration FILE, ≥ 200 pairs)")
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    variant.configure(converter, calibration)


def _finish(model: bytes, variant: variants.Variant) -> bytes:
    for step in variant.postprocess:
        model = step(model)
    assert_builtin_only(model, variant.name)
    return model


def convert_saved_model(saved_model_dir: str | os.PathLike, variant: str, signature_keys: Sequence[str],
                        calibration: Optional[CalibrationSet] = None) -> bytes:
    """One variant of a SavedModel's signatures as .tflite bytes."""
    spec = lookup(variant)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir), signature_keys=list(signature_keys))
    configure(converter, spec, calibration)
    return _finish(_run(converter, variant), spec)


def convert_frozen_graph(graph_def_file: str | os.PathLike, input_shapes: Dict[str, List[int]],
                         outputs: Sequence[str], variant: str,
                         calibration: Optional[CalibrationSet] = None) -> bytes:
    """A frozen TF1 GraphDef (albert_zh's own graph) → .tflite, as albert_zh's `tflite_convert` recipe."""
    spec = lookup(variant)
    converter = tf.compat.v1.lite.TFLiteConverter.from_frozen_graph(
        str(graph_def_file), input_arrays=list(input_shapes), output_arrays=list(outputs),
        input_shapes=input_shapes)
    configure(converter, spec, calibration)
    return _finish(_run(converter, variant), spec)


def quantize_mixed_int8(calibrated: bytes, keep: Sequence[str] = MIXED_INT8_KEEP) -> bytes:
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


def _signature_count(model_bytes: bytes) -> int:
    """Signatures in a .tflite, read without unpacking the whole flatbuffer."""
    from tensorflow.lite.python import schema_py_generated as schema
    return schema.Model.GetRootAs(model_bytes, 0).SignatureDefsLength()


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
    if _signature_count(model_bytes) < 2:   # one signature (or a TF1 graph): nothing to share
        return model_bytes
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
