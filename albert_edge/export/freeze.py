"""Freeze: a Keras model (`ModelDir.build_model`) → SavedModel (one signature per length) + frozen GraphDef.

Also accepts albert_zh's own TF1 artifacts — a checkpoint with its `.meta` graph, or a frozen
`.pb` — so albert_zh's documented TFLite graph (masked-LM head, output `cls/predictions/truediv`,
six inputs, seq 128) can be reproduced and converted next to ours.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import tensorflow as tf

from albert_edge import checkpoint as ck
from albert_edge.export.options import ALBERT_ZH_TF1_OUTPUT  # noqa: F401 — albert_zh's output, named once
from albert_edge.fileio import atomic_dir, write_bytes_atomic
from albert_edge.modeling import INPUT_NAMES

logger = logging.getLogger(__name__)

# albert_zh's documented TFLite graph (README "albert_tiny … tflite"): its inputs and output.
ALBERT_ZH_TF1_INPUTS = ("input_ids", "input_mask", "segment_ids", "masked_lm_positions",
                        "masked_lm_ids", "masked_lm_weights")


class FreezeError(ValueError):
    """Inputs to the freeze stage are unusable; the message says how to fix them."""


def signature_key(seq_len: int) -> str:
    return f"L{seq_len}"


def inference_graph(model, head: str = "classifier", fused=None):
    """The runtime-shaped inference copy of `model` (`albert_edge.export.fused`), or None for the
    plain Keras call. fused=None: use it whenever it applies (plain classifier, not QAT / MLM)."""
    from albert_edge.export import fused as fused_graph
    if fused is False or head != "classifier" or not fused_graph.supports(model):
        return None
    return fused if isinstance(fused, fused_graph.FusedAlbertClassifier) else fused_graph.FusedAlbertClassifier(model)


def serving_functions(model, seq_lens: Sequence[int], head: str = "classifier",
                      fused=None) -> Dict[str, tf.types.experimental.ConcreteFunction]:
    """One concrete function per length: int32 [1, L] inputs → logits (+ probabilities).

    fused: None (default) traces the export-shaped graph for classifiers (see `inference_graph`),
    False the Keras model as is, or a `FusedAlbertClassifier` to reuse."""
    graph = inference_graph(model, head, fused)
    functions = {}
    for seq_len in sorted(set(seq_lens)):
        specs = [tf.TensorSpec([1, seq_len], tf.int32, name=name) for name in INPUT_NAMES]

        @tf.function(input_signature=specs)
        def serve(input_ids, input_mask, segment_ids):
            inputs = {"input_ids": input_ids, "input_mask": input_mask, "segment_ids": segment_ids}
            if graph is not None:
                logits = graph(input_ids, input_mask, segment_ids)    # [1, labels]
            else:
                logits = model(inputs, training=False)                # [1, labels] or [1, L, V]
            if head == "mlm":
                return {"log_probs": tf.nn.log_softmax(logits, axis=-1)}
            return {"logits": logits, "probabilities": tf.nn.softmax(logits, axis=-1)}

        concrete = serve.get_concrete_function()
        concrete._albert_edge_graph = graph   # functions hold variables weakly: keep the fused copy alive
        functions[signature_key(seq_len)] = concrete
    return functions


class _Serving(tf.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model


def save_saved_model(model, out_dir: str | os.PathLike, seq_lens: Sequence[int], head: str = "classifier",
                     fused=None) -> Path:
    """SavedModel with signatures `L32`, `L64`, … and `serving_default` = the longest.
    With the fused inference graph, the SavedModel holds only its weights (one copy)."""
    graph = inference_graph(model, head, fused)
    functions = serving_functions(model, seq_lens, head, fused=graph if graph is not None else False)
    signatures = dict(functions)
    signatures["serving_default"] = functions[signature_key(max(seq_lens))]
    module = _Serving(graph if graph is not None else model)
    return atomic_dir(Path(out_dir), lambda tmp: tf.saved_model.save(module, str(tmp), signatures=signatures))


def frozen_graph_def(function) -> tf.compat.v1.GraphDef:
    """Variables folded into constants: a GraphDef for TF1 tooling (`tflite_convert --graph_def_file`)."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2
    return convert_variables_to_constants_v2(function).graph.as_graph_def()


def save_frozen_graph(function, path: str | os.PathLike) -> Path:
    return write_bytes_atomic(path, frozen_graph_def(function).SerializeToString())


# ----------------------------------------------------------------------------------- TF1 inputs
def freeze_tf1_meta(prefix: str | os.PathLike, outputs: Sequence[str] = (ALBERT_ZH_TF1_OUTPUT,)) -> tf.compat.v1.GraphDef:
    """albert_zh checkpoint + its `.meta` graph → frozen GraphDef (their `freeze_graph` step)."""
    prefix = ck.find_tf1_checkpoint(prefix)
    if prefix is None or not os.path.isfile(prefix + ".meta"):
        raise FreezeError(f"{prefix}: need a TF1 checkpoint with its .meta graph (albert_model.ckpt.meta)")
    graph = tf.Graph()
    with graph.as_default():
        saver = tf.compat.v1.train.import_meta_graph(prefix + ".meta", clear_devices=True)
        missing = [o for o in outputs if not _has_op(graph, o)]
        if missing:
            raise FreezeError(f"{prefix}.meta has no op(s) {missing}; pass --tf1-outputs with existing op names")
        with tf.compat.v1.Session(graph=graph) as sess:
            try:
                saver.restore(sess, prefix)
            except (tf.errors.NotFoundError, tf.errors.DataLossError, tf.errors.InvalidArgumentError) as err:
                raise ck.CheckpointError(f"{prefix}: cannot restore the .meta graph's variables "
                                         f"({str(err).splitlines()[0]})") from None
            frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
                sess, graph.as_graph_def(), list(outputs))
    return tf.compat.v1.graph_util.extract_sub_graph(frozen, list(outputs))


def _has_op(graph: tf.Graph, name: str) -> bool:
    try:
        graph.get_operation_by_name(name)
        return True
    except KeyError:
        return False


def read_frozen_graph(path: str | os.PathLike) -> tf.compat.v1.GraphDef:
    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(Path(path).read_bytes())
    except Exception as err:  # DecodeError
        raise FreezeError(f"{path}: not a frozen GraphDef (.pb) ({err})") from None
    if not graph_def.node:
        raise FreezeError(f"{path}: the GraphDef is empty")
    return graph_def


def graph_placeholders(graph_def: tf.compat.v1.GraphDef) -> List[Tuple[str, List[int]]]:
    """(name, shape) of each Placeholder a frozen graph needs."""
    out = []
    for node in graph_def.node:
        if node.op == "Placeholder":
            dims = [d.size for d in node.attr["shape"].shape.dim]
            out.append((node.name, dims))
    return out
