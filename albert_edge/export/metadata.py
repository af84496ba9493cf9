"""Metadata: what an app needs to run the model, carried inside the .tflite.

Three copies of one JSON document, so every consumer finds it its own way:

1. an entry named `albert_edge` in the flatbuffer's `metadata` list (TFLite's own slot for
   producer data; `Interpreter`s ignore it, flatbuffer readers find it by name);
2. `albert_edge.json` in a zip of *associated files* appended to the model — the layout TFLite
   Support's MetadataPopulator uses — next to `vocab.txt` and `labels.txt`, so the Android app
   needs only the model file (`java.util.zip.ZipFile` opens it; the interpreter ignores the tail);
3. a sidecar `<model>.json` for humans and scripts.

Zip entries carry a fixed timestamp so the same inputs give the same bytes.
"""
from __future__ import annotations

import io
import json
import zipfile
from typing import Dict, Optional, Sequence

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


def _add_flatbuffer_metadata(model_bytes: bytes, name: str, payload: bytes) -> bytes:
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(model_bytes))
    buffer = schema.BufferT()
    buffer.data = list(payload)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = name
    entry.buffer = len(model.buffers) - 1
    model.metadata = [m for m in (model.metadata or []) if m.name not in (name, name.encode())] + [entry]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def embed(model_bytes: bytes, meta: dict, vocab: bytes, labels: Sequence[str]) -> bytes:
    """The model with metadata in its flatbuffer and vocab/labels/metadata appended as a zip."""
    payload = metadata_json(meta)
    with_meta = _add_flatbuffer_metadata(model_bytes, METADATA_NAME, payload)
    out = io.BytesIO(with_meta)
    out.seek(0, io.SEEK_END)
    with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in ((METADATA_JSON, payload), ("vocab.txt", vocab),
                           ("labels.txt", ("\n".join(labels) + "\n").encode("utf-8"))):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
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
