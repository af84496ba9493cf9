"""Build a small .tflite with the same interface as the exported ALBERT models.

Why: the benchmark tests need a real LiteRT model (several signatures ``L32``/``L64``/
``L128``, int32 ``input_ids``/``input_mask``/``segment_ids`` of shape ``[1, L]``,
outputs ``logits``/``probabilities``) without waiting for the real export or
converting a 4M-parameter network on a shared 2-core machine. The conversion result
is cached on disk keyed by the builder's parameters, so every test session after the
first one costs nothing.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

SEQ_LENS_DEFAULT = (32, 64, 128)
_BUILDER_VERSION = "4"


def _cache_path(seq_lens: tuple[int, ...], hidden: int, single: bool) -> Path:
    key = f"{_BUILDER_VERSION}-{seq_lens}-{hidden}-{single}".encode()
    digest = hashlib.sha256(key).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"albert_edge_bench_tiny_{digest}.tflite"


def build_tiny_tflite(
    out_path: str | os.PathLike | None = None,
    seq_lens: tuple[int, ...] = SEQ_LENS_DEFAULT,
    hidden: int = 32,
    single_signature: bool = False,
) -> Path:
    """Convert a tiny embedding + dense + attention-ish graph to TFLite.

    With ``single_signature`` the model has one default signature (``serving_default``)
    for ``seq_lens[0]``, the layout of a plain single-length export.
    """
    cached = _cache_path(tuple(seq_lens), hidden, single_signature)
    if not cached.exists():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import numpy as np
        import tensorflow as tf

        rng = np.random.default_rng(0)
        vocab = 512
        module = tf.Module()
        module.emb = tf.Variable(rng.normal(size=(vocab, hidden)).astype("float32"))
        module.seg = tf.Variable(rng.normal(size=(2, hidden)).astype("float32"))
        module.w1 = tf.Variable(rng.normal(size=(hidden, hidden)).astype("float32") * 0.1)
        module.w2 = tf.Variable(rng.normal(size=(hidden, 2)).astype("float32") * 0.1)

        def make_fn(length: int):
            spec = tf.TensorSpec([1, length], tf.int32)

            @tf.function(input_signature=[spec, spec, spec])
            def fn(input_ids, input_mask, segment_ids):
                ids = tf.math.floormod(input_ids, vocab)
                # floormod keeps random-input tools (litert-benchmark feeds values in
                # [-128, 127]) inside the tables instead of failing the GATHER.
                seg = tf.math.floormod(segment_ids, 2)
                x = tf.gather(module.emb, ids) + tf.gather(module.seg, seg)
                scores = tf.matmul(x, x, transpose_b=True) / float(hidden) ** 0.5
                mask = tf.cast(tf.math.floormod(input_mask, 2)[:, tf.newaxis, :], tf.float32)
                scores += (1.0 - mask) * -10000.0
                x = tf.matmul(tf.nn.softmax(scores), x)
                h = tf.nn.gelu(tf.matmul(x[:, 0, :], module.w1))
                logits = tf.matmul(h, module.w2)
                return {"logits": logits, "probabilities": tf.nn.softmax(logits)}

            return fn.get_concrete_function()

        lens = seq_lens[:1] if single_signature else seq_lens
        funcs = [make_fn(n) for n in lens]
        if single_signature:
            converter = tf.lite.TFLiteConverter.from_concrete_functions(funcs, module)
        else:
            saved = Path(tempfile.mkdtemp(prefix="albert_edge_tiny_sm_"))
            signatures = {f"L{n}": f for n, f in zip(lens, funcs)}
            tf.saved_model.save(module, str(saved), signatures=signatures)
            converter = tf.lite.TFLiteConverter.from_saved_model(
                str(saved), signature_keys=list(signatures)
            )
        data = converter.convert()
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, cached)
    if out_path is None:
        return cached
    out = Path(out_path)
    out.write_bytes(cached.read_bytes())
    return out


if __name__ == "__main__":  # pragma: no cover - manual helper
    import sys

    print(build_tiny_tflite(sys.argv[1] if len(sys.argv) > 1 else None))


def stamp_soc(model: str | os.PathLike, out_path: str | os.PathLike, soc: str,
              manufacturer: str = "Qualcomm") -> Path:
    """Copy ``model`` with LiteRT's ``LiteRtStamp`` metadata naming ``soc`` (as an AOT compile does).

    Why: the adb harness picks, per phone, the model compiled for the phone's SoC, and reads that
    SoC from this stamp (two NUL-padded char[125] fields, litert/core/build_stamp.cc). The graph
    stays the CPU graph: the fake phone's NPU is the host's LiteRT CompiledModel.
    """
    from ai_edge_litert import schema_py_generated as schema
    import flatbuffers

    obj = schema.ModelT.InitFromPackedBuf(Path(model).read_bytes(), 0)
    stamp = manufacturer.encode().ljust(125, b"\0") + soc.encode().ljust(125, b"\0")
    buffer = schema.BufferT()
    buffer.data = list(stamp)
    obj.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = "LiteRtStamp"
    entry.buffer = len(obj.buffers) - 1
    obj.metadata = (obj.metadata or []) + [entry]
    builder = flatbuffers.Builder(1024)
    builder.Finish(obj.Pack(builder), file_identifier=b"TFL3")
    out = Path(out_path)
    out.write_bytes(bytes(builder.Output()))
    return out
