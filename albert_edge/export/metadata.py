"""Metadata: what an app needs to run the model, carried inside the .tflite.

Two dialects in every file. The standard one, TFLite Metadata (`TFLITE_METADATA`, identifier
`M001`, see `tflite_metadata`): what Android Studio, MediaPipe Tasks, the TFLite Task Library and
metadata readers understand — names, licence, tensor descriptions, the BERT tokenizer with its
vocabulary, the labels. And the kit's own, which the runtime and the Android app read (it says
what the standard cannot: the length buckets, the task, the config); three copies of one JSON
document, so every consumer finds it its own way:

1. an entry named `albert_edge` in the flatbuffer's `metadata` list (TFLite's own slot for
   producer data; `Interpreter`s ignore it, flatbuffer readers find it by name);
2. `albert_edge.json` in a zip of *associated files* (stored, uncompressed) appended to the model —
   the layout TFLite Support's MetadataPopulator uses, where standard readers find the files the
   standard metadata names — next to `vocab.txt` and `labels.txt`, so the Android app
   needs only the model file (`java.util.zip.ZipFile` opens it; the interpreter ignores the tail);
3. a sidecar `<model>.json` for humans and scripts.

Zip entries carry a fixed timestamp so the same inputs give the same bytes.
"""
from __future__ import annotations

import io
import json
import zipfile
from typing import Dict, List, Optional, Sequence, Tuple

from albert_edge import __version__
from albert_edge.export import tflite_metadata as tm
from albert_edge.runtime import INPUT_NAMES, METADATA_JSON, METADATA_NAME

SCHEMA_VERSION = 1
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def build_metadata(*, model_name: str, variant: str, head: str, seq_lens: Sequence[int],
                   labels: Sequence[str], do_lower_case: bool, config: dict,
                   trained: bool, source: str, task: Optional[str] = None,
                   outputs: Optional[Sequence[str]] = None, extra: Optional[dict] = None) -> dict:
    """The model's self-description (`task` and `outputs` come from its `albert_edge.tasks` entry;
    without them, a classifier of sentence pairs, as every export before tasks were recorded)."""
    meta = {
        "schema_version": SCHEMA_VERSION,
        "producer": "albert_edge",
        "model_name": model_name,
        "variant": variant,
        "task": task or ("mlm" if head == "mlm" else "pairs"),
        "head": head,
        "seq_lens": sorted(int(n) for n in seq_lens),
        "signature_prefix": "L",
        "input_order": list(INPUT_NAMES),
        "input_dtype": "int32",
        "outputs": list(outputs) if outputs else (["log_probs"] if head == "mlm" else ["logits", "probabilities"]),
        "labels": list(labels),
        "do_lower_case": bool(do_lower_case),
        "tokenizer": "bert-chinese-wordpiece",
        "vocab_file": "vocab.txt",
        "vocab_size": int(config["vocab_size"]),
        "config": config,
        "trained": bool(trained),
        "source": source,
    }
    meta.update(extra or {})
    return meta


def metadata_json(meta: dict) -> bytes:
    return (json.dumps(meta, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def read_model(model_bytes: bytes):
    """The flatbuffer's object form (tflite's ModelT)."""
    from tensorflow.lite.tools import flatbuffer_utils
    return flatbuffer_utils.convert_bytearray_to_object(bytearray(model_bytes))


def _add_flatbuffer_metadata(model, entries: Dict[str, bytes]) -> bytes:
    """`model` (a ModelT) serialised with `entries` as named metadata buffers (replacing same-named ones)."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils
    kept = [m for m in (model.metadata or [])
            if (m.name.decode() if isinstance(m.name, bytes) else m.name) not in entries]
    for name, payload in entries.items():
        buffer = schema.BufferT()
        buffer.data = list(payload)
        model.buffers.append(buffer)
        entry = schema.MetadataT()
        entry.name = name
        entry.buffer = len(model.buffers) - 1
        kept.append(entry)
    model.metadata = kept
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


# Standard names of the three inputs (MediaPipe's BERT preprocessor finds its inputs by these names)
STANDARD_INPUT_NAMES = {"input_ids": "ids", "input_mask": "mask", "segment_ids": "segment_ids"}
_INPUT_DESCRIPTIONS = {
    "input_ids": "Token ids of [CLS] text [SEP] (a sentence pair: [CLS] a [SEP] b [SEP]): BERT-Chinese "
                 "WordPiece over vocab.txt, zero-padded to the sequence length.",
    "input_mask": "1 for each real token, 0 for padding.",
    "segment_ids": "0 for [CLS], the first text and its [SEP]; 1 for the second text of a pair and its [SEP]; "
                   "0 for padding.",
}
_OUTPUT_DESCRIPTIONS = {
    "probabilities": "Class probabilities (softmax of logits), one per label of labels.txt; use as they are.",
    "logits": "Unnormalised class scores (before softmax), one per label of labels.txt.",
    "log_probs": "Log-probabilities over vocab.txt at every position (masked-LM head).",
}
UNKNOWN_LICENCE = ("not recorded: a model inherits the terms of the data it was trained on; put licence.txt "
                   "beside the checkpoint to state them")


def _signature_names(model) -> List[Tuple[str, Dict[int, str], Dict[int, str]]]:
    """Per subgraph: (signature key, {tensor index: input name}, {tensor index: output name})."""
    out = [("", {}, {}) for _ in model.subgraphs]
    for sig in model.signatureDefs or []:
        key = sig.signatureKey.decode() if isinstance(sig.signatureKey, bytes) else sig.signatureKey
        ins = {t.tensorIndex: (t.name.decode() if isinstance(t.name, bytes) else t.name) for t in sig.inputs or []}
        outs = {t.tensorIndex: (t.name.decode() if isinstance(t.name, bytes) else t.name) for t in sig.outputs or []}
        out[sig.subgraphIndex] = (key, ins, outs)
    return out


def _kit_name(tensor_name: str, known: Sequence[str]) -> str:
    """The kit's name of a tensor without a signature (a lone unnamed graph: 'serving_input_ids:0')."""
    base = tensor_name.split(":")[0]
    return next((n for n in known if base.endswith(n)), base)


def standard_metadata(model, meta: dict, licence: str) -> dict:
    """The TFLite Metadata of an export, as a dict shaped like a reader's JSON (`tflite_metadata`).

    `model` is the flatbuffer's object form (`read_model`). One SubGraphMetadata per subgraph, in subgraph order (subgraph i is signature `L<len>`), each
    describing that subgraph's own inputs and outputs in their own order: a reader that looks at
    subgraph 0 only (MediaPipe, the Task Library) sees a true description of subgraph 0.
    """
    vocab = {"name": "vocab.txt", "description": "BERT-Chinese WordPiece vocabulary (one token per line; line "
                                                 "number = token id).", "type": "VOCABULARY"}
    labels = {"name": "labels.txt", "description": "Class labels, one per line, in output order.",
              "type": "TENSOR_AXIS_LABELS"}
    feature = {"content_properties_type": "FeatureProperties", "content_properties": {}}
    subgraphs = []
    for subgraph, (key, in_names, out_names) in zip(model.subgraphs, _signature_names(model)):
        inputs = []
        for index in subgraph.inputs:
            name = in_names.get(index) or _kit_name(_tensor_name(subgraph, index), INPUT_NAMES)
            inputs.append({"name": STANDARD_INPUT_NAMES.get(name, name),
                           "description": _INPUT_DESCRIPTIONS.get(name, name), "content": feature})
        outputs = []
        for index in subgraph.outputs:
            name = out_names.get(index) or _kit_name(_tensor_name(subgraph, index), tuple(_OUTPUT_DESCRIPTIONS))
            entry = {"name": name, "description": _OUTPUT_DESCRIPTIONS.get(name, name), "content": feature}
            if name in ("probabilities", "logits"):
                entry["associated_files"] = [labels]
            if name == "probabilities":
                entry["stats"] = {"max": [1.0], "min": [0.0]}
            outputs.append(entry)
        length = int(subgraph.tensors[subgraph.inputs[0]].shape[-1]) if len(subgraph.inputs) else 0
        subgraphs.append({
            "name": key or f"L{length}",
            "description": f"{meta['task']} at sequence length {length}: int32 [1, {length}] inputs",
            "input_tensor_metadata": inputs, "output_tensor_metadata": outputs,
            "input_process_units": [{"options_type": "BertTokenizerOptions", "options": {"vocab_file": [vocab]}}],
        })
    lengths = ", ".join(f"L{n}" for n in meta["seq_lens"])
    trained = "" if meta.get("trained", True) else " UNTRAINED (random weights: a plumbing demo)."
    return {
        "name": f"{meta['model_name']} {meta['task']} ({meta['variant']})",
        "description": (f"Chinese ALBERT ({meta['model_name']}), task {meta['task']}"
                        + (f", labels {', '.join(meta['labels'])}" if meta.get("labels") else "")
                        + f"; variant {meta['variant']}; one subgraph per sequence length ({lengths}); "
                          f"trained from {meta['source']}.{trained}"),
        "version": f"{meta['variant']} (albert_edge {__version__}, metadata schema {meta['schema_version']})",
        "subgraph_metadata": subgraphs,
        "author": "albert_edge",
        "license": licence,
    }


def _tensor_name(subgraph, index: int) -> str:
    name = subgraph.tensors[index].name
    return name.decode() if isinstance(name, bytes) else name


def embed(model_bytes: bytes, meta: dict, vocab: bytes, labels: Sequence[str], licence: str = UNKNOWN_LICENCE) -> bytes:
    """The model with both metadata dialects in its flatbuffer and vocab/labels/metadata appended as a zip
    (the zip is where standard readers find the associated files the standard metadata names)."""
    payload = metadata_json(meta)
    model = read_model(model_bytes)
    standard = tm.serialize(standard_metadata(model, meta, licence))
    with_meta = _add_flatbuffer_metadata(model, {tm.METADATA_BUFFER_NAME: standard, METADATA_NAME: payload})
    out = io.BytesIO(with_meta)
    out.seek(0, io.SEEK_END)
    # Stored, not deflated: MediaPipe's and the Task Library's metadata extractors read associated
    # files in place and reject a compressed entry ("Expected uncompressed zip archive").
    with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_STORED) as archive:
        for name, data in ((METADATA_JSON, payload), ("vocab.txt", vocab),
                           ("labels.txt", ("\n".join(labels) + "\n").encode("utf-8"))):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return out.getvalue()


def flatbuffer_metadata(model_bytes: bytes) -> Dict[str, bytes]:
    """{name: bytes} of the flatbuffer's metadata entries."""
    from tensorflow.lite.tools import flatbuffer_utils
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(model_bytes))
    out = {}
    for entry in model.metadata or []:
        name = entry.name.decode() if isinstance(entry.name, bytes) else entry.name
        data = model.buffers[entry.buffer].data
        out[name] = bytes(data) if data is not None else b""
    return out
