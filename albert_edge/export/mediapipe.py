"""`--mediapipe`: one single-subgraph model per length for MediaPipe Tasks' `TextClassifier`.

Why separate files: the kit's multi-length model (one signature per length over shared weights) is
what the kit runtime and the Android app want, but MediaPipe's classifier graph takes one subgraph
with three int32 [1, L] inputs found by their metadata names (`ids`, `mask`, `segment_ids`), its
tokenizer from the BertTokenizer process unit, and every output as a classification head, in
output order, scores used as they are (no softmax). So each file holds one length, its outputs
reordered so `probabilities` is the first head (`logits` follows), and both metadata dialects —
the kit runtime reads it too.

MediaPipe has no two-text input (its segment ids are all 0), so only tasks with one text qualify.
"""
from __future__ import annotations

from typing import Sequence

from albert_edge import tasks
from albert_edge.export.options import ExportError

SUFFIX = ".mediapipe.tflite"
FIRST_HEAD = "probabilities"


def file_name(model_name: str, variant: str, seq_len: int) -> str:
    return f"{model_name}_{variant}_L{seq_len}{SUFFIX}"


def check_task(task: tasks.Task) -> None:
    """ExportError (exit 2) unless MediaPipe's TextClassifier can run the task's model."""
    if task.head != "classifier" or task.data_format != "single":
        raise ExportError(
            f"--mediapipe: the {task.name} task's model reads "
            + ("two texts (a sentence pair), and MediaPipe's TextClassifier has no two-text input (its segment ids "
               "are all 0)" if task.data_format in ("pairs", "nli") and task.head == "classifier"
               else "no class labels (a masked-LM head), and MediaPipe's TextClassifier needs a classifier")
            + "; --mediapipe is for single-sentence tasks (--task single): drop the flag")


def probabilities_first(model_bytes: bytes) -> bytes:
    """The single-subgraph model with its `probabilities` output moved to the front (MediaPipe's first head).

    Only the subgraph's output list changes: the signature maps names to tensor indices, so the
    kit runtime, which reads outputs by name, sees the same model."""
    from tensorflow.lite.tools import flatbuffer_utils
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(model_bytes))
    if len(model.subgraphs) != 1 or len(model.signatureDefs or []) != 1:
        raise ValueError(f"expected one subgraph with one signature, got {len(model.subgraphs)} subgraphs")
    names = {t.tensorIndex: (t.name.decode() if isinstance(t.name, bytes) else t.name)
             for t in model.signatureDefs[0].outputs}
    outputs = list(model.subgraphs[0].outputs)
    first = [i for i in outputs if names.get(i) == FIRST_HEAD]
    if not first:
        raise ValueError(f"the model has no {FIRST_HEAD!r} output (outputs: {sorted(names.values())})")
    model.subgraphs[0].outputs = [int(i) for i in first + [i for i in outputs if i not in first]]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def output_order(model_bytes: bytes) -> Sequence[str]:
    """The names of the single subgraph's outputs, in order (what MediaPipe's heads follow)."""
    from tensorflow.lite.tools import flatbuffer_utils
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(model_bytes))
    names = {t.tensorIndex: (t.name.decode() if isinstance(t.name, bytes) else t.name)
             for t in model.signatureDefs[0].outputs}
    return [names[i] for i in model.subgraphs[0].outputs]
