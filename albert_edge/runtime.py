"""Run an exported .tflite: LiteRT first, then tflite-runtime, then TensorFlow's own interpreter.

An albert_edge export holds one signature per sequence length (`L32`, `L64`, `L128`) over one
copy of the weights; `TFLiteModel` tokenizes, picks the smallest length that fits each input
(real sentence pairs are 20–40 tokens: padding them to 128 wastes most of the compute) and runs it.
"""
from __future__ import annotations

import json
import logging
import os
import zipfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from albert_edge import tasks
from albert_edge.tokenization import Encoding, FullTokenizer, needed_length, pick_seq_len

logger = logging.getLogger(__name__)

METADATA_NAME = "albert_edge"           # name of our entry in the flatbuffer's metadata list
METADATA_JSON = "albert_edge.json"      # the same JSON inside the associated-files zip
INPUT_NAMES = ("input_ids", "input_mask", "segment_ids")


class ModelError(RuntimeError):
    """A .tflite file cannot be used; the message says which file and why."""


def _interpreter_class():
    """(Interpreter class, package name) of the first TFLite runtime installed.

    Why this order: LiteRT is the maintained runtime (XNNPACK on by default), tflite-runtime is
    what older ARM boards still ship, TensorFlow's own copy is the heaviest to import. Everything
    that opens a .tflite on this machine (`TFLiteModel`, the host and arm benchmarks) comes
    through here, so a benchmark measures the runtime that serves.
    """
    try:
        from ai_edge_litert.interpreter import Interpreter
        return Interpreter, "ai-edge-litert"
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter
        return Interpreter, "tflite-runtime"
    except ImportError:
        pass
    try:
        import tensorflow as tf
        return tf.lite.Interpreter, "tensorflow"
    except ImportError:
        raise ModelError("no TFLite runtime installed: `pip install ai-edge-litert`") from None


def runtime_name() -> str:
    """The package `load_interpreter` uses here ('ai-edge-litert', 'tflite-runtime' or 'tensorflow')."""
    return _interpreter_class()[1]


def load_interpreter(path: str | os.PathLike, num_threads: int = 1):
    """An allocated interpreter for `path` (XNNPACK is applied by default by LiteRT)."""
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
        # checked here: the runtime rejects it with an error that reads like a corrupt file
        raise ValueError(f"num_threads must be a positive integer, got {num_threads!r}")
    path = Path(path)
    if path.is_dir():
        raise ModelError(f"{path} is a folder; give the .tflite file inside it")
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    with open(path, "rb") as f:
        head = f.read(8)
    if len(head) < 8 or head[4:8] != b"TFL3":
        raise ModelError(f"{path} is not a TFLite model (no 'TFL3' identifier): is it truncated or another format? "
                         "Re-export it with `python -m albert_edge.export`")
    cls, _ = _interpreter_class()
    try:
        interpreter = cls(model_path=str(path), num_threads=num_threads)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as err:
        raise ModelError(f"{path}: the TFLite runtime rejected the model ({str(err).splitlines()[0]}); "
                         "the file may be corrupt — re-export it") from None
    return interpreter


def read_metadata(path: str | os.PathLike) -> Optional[dict]:
    """The albert_edge metadata of a .tflite: from the appended associated-files zip, else the
    sidecar `<model>.json`. None for models exported elsewhere."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            if METADATA_JSON in archive.namelist():
                return json.loads(archive.read(METADATA_JSON).decode("utf-8"))
    except (zipfile.BadZipFile, OSError):
        pass
    sidecar = path.with_suffix(".json")
    if sidecar.is_file():
        try:
            return json.loads(sidecar.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ModelError(f"{sidecar}: sidecar metadata is not valid JSON ({err})") from None
    return None


def read_associated_file(path: str | os.PathLike, name: str) -> Optional[bytes]:
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.read(name) if name in archive.namelist() else None
    except (zipfile.BadZipFile, OSError):
        return None


def signature_lengths(interpreter) -> Dict[int, str]:
    """{seq_len: signature key} from the signatures' input shapes (or the lone unnamed graph)."""
    out: Dict[int, str] = {}
    for key, sig in interpreter.get_signature_list().items():
        runner = interpreter.get_signature_runner(key)
        details = runner.get_input_details()
        if "input_ids" in details:
            out[int(details["input_ids"]["shape"][-1])] = key
    if not out:
        for detail in interpreter.get_input_details():
            if detail["name"].split(":")[0].endswith("input_ids"):
                out[int(detail["shape"][-1])] = ""
    return out


class TFLiteModel:
    """A sentence-pair classifier .tflite with length buckets.

    >>> m = TFLiteModel("exports/albert_tiny/albert_tiny_int8.tflite")
    >>> m.predict_pairs([("今天天气怎么样", "今天天气如何")])   # [N, num_labels] probabilities
    """

    def __init__(self, path: str | os.PathLike, num_threads: int = 1, vocab_file: Optional[str] = None):
        self.path = Path(path)
        self.interpreter = load_interpreter(self.path, num_threads)
        self.metadata = read_metadata(self.path) or {}
        self.lengths = signature_lengths(self.interpreter)
        if not self.lengths:
            raise ModelError(f"{self.path}: no 'input_ids' input found; is this an albert_edge export?")
        self.seq_lens = sorted(self.lengths)
        self.labels: List[str] = list(self.metadata.get("labels", []))
        self._runners = {L: (self.interpreter.get_signature_runner(k) if k else None)
                         for L, k in self.lengths.items()}
        self.tokenizer = FullTokenizer(vocab_file, self.metadata.get("do_lower_case", True)) if vocab_file \
            else self._tokenizer_from_model()
        task = self.metadata.get("task")
        self.symmetric = bool(task in tasks.names() and tasks.get(task).symmetric)

    def _tokenizer_from_model(self) -> FullTokenizer:
        vocab = read_associated_file(self.path, "vocab.txt")
        if vocab is None:
            return FullTokenizer(do_lower_case=self.metadata.get("do_lower_case", True))
        import tempfile
        with tempfile.NamedTemporaryFile("wb", suffix=".txt", delete=False) as f:
            f.write(vocab)
        try:
            return FullTokenizer(f.name, do_lower_case=self.metadata.get("do_lower_case", True))
        finally:
            os.unlink(f.name)

    # -------------------------------------------------------------------- running
    def run(self, enc: Encoding, seq_len: int) -> Dict[str, np.ndarray]:
        """Run one encoding (already padded to `seq_len`); returns the output tensors by name."""
        feeds = {name: np.asarray([getattr(enc, name)], dtype=np.int32) for name in INPUT_NAMES}
        runner = self._runners[seq_len]
        if runner is not None:
            return runner(**feeds)
        interp = self.interpreter
        for detail in interp.get_input_details():
            key = next(n for n in INPUT_NAMES if detail["name"].split(":")[0].endswith(n))
            interp.set_tensor(detail["index"], feeds[key].reshape(detail["shape"]))
        interp.invoke()
        return {d["name"]: interp.get_tensor(d["index"]) for d in interp.get_output_details()}

    def encode(self, text_a: str, text_b: Optional[str] = None, seq_len: Optional[int] = None) -> Tuple[Encoding, int]:
        """Encode with the smallest exported length that holds the whole input (or `seq_len`)."""
        if seq_len is None:
            tokens_a = self.tokenizer.tokenize(text_a)
            tokens_b = None if text_b is None else self.tokenizer.tokenize(text_b)
            seq_len = pick_seq_len(needed_length(tokens_a, tokens_b), self.seq_lens)
        elif seq_len not in self._runners:
            raise ModelError(f"{self.path} has no signature for seq_len {seq_len}; it has {self.seq_lens}")
        return self.tokenizer.encode(text_a, text_b, max_seq_len=seq_len), seq_len

    def probabilities(self, text_a: str, text_b: Optional[str] = None,
                      seq_len: Optional[int] = None) -> np.ndarray:
        """Class probabilities of one input [num_labels]. For a sentence-pair model (task "pairs") the
        score of both orders: `mean_of_orders` of (a, b) and (b, a), each at its own length bucket."""
        if text_b is not None and self.symmetric:
            return mean_of_orders(self.one_order_probabilities(text_a, text_b, seq_len),
                                  self.one_order_probabilities(text_b, text_a, seq_len))
        return self.one_order_probabilities(text_a, text_b, seq_len)

    def logits(self, text_a: str, text_b: Optional[str] = None, seq_len: Optional[int] = None) -> np.ndarray:
        """Class scores whose softmax is `probabilities` (the model's logits, read by name, for one
        order; the log of the mean of both orders' probabilities for a sentence-pair model)."""
        if text_b is not None and self.symmetric:
            return log_probabilities(self.probabilities(text_a, text_b, seq_len))
        return self.one_order_logits(text_a, text_b, seq_len)

    def one_order_probabilities(self, text_a: str, text_b: Optional[str] = None,
                                seq_len: Optional[int] = None) -> np.ndarray:
        """What the model gives for (text_a, text_b) in this order alone (`probabilities_of`)."""
        return probabilities_of(self.run(*self.encode(text_a, text_b, seq_len)), self.path)

    def one_order_logits(self, text_a: str, text_b: Optional[str] = None,
                         seq_len: Optional[int] = None) -> np.ndarray:
        """The model's scores for (text_a, text_b) in this order alone (`logits_of`: outputs by name)."""
        return logits_of(self.run(*self.encode(text_a, text_b, seq_len)), self.path)

    def predict_pairs(self, pairs: Sequence[Tuple[str, Optional[str]]], seq_len: Optional[int] = None) -> np.ndarray:
        """Class probabilities [N, num_labels] for (text_a, text_b) pairs (`probabilities`)."""
        if not pairs:
            return np.zeros((0, 0))
        return np.stack([self.probabilities(a, b, seq_len) for a, b in pairs])


def _output(outputs: Dict[str, np.ndarray], name: str) -> Optional[np.ndarray]:
    """The output called `name`: a signature's own name, or a lone graph's tensor name ending in it."""
    if name in outputs:
        return outputs[name]
    found = [v for k, v in outputs.items() if k.split(":")[0].endswith(name)]
    return found[0] if len(found) == 1 else None


def logits_of(outputs: Dict[str, np.ndarray], path: str | os.PathLike = "the model") -> np.ndarray:
    """[num_labels] scores of one run, read by name, never by position: `logits` as they are; for a model
    that serves only `probabilities`, their log (softmax(log p) = p, so every consumer that applies
    softmax to logits gets the model's probabilities, not a softmax of them); a lone unnamed output
    is taken as logits (models exported before outputs were named)."""
    logits = _output(outputs, "logits")
    if logits is not None:
        return np.asarray(logits, dtype=np.float32)[0]
    probabilities = _output(outputs, "probabilities")
    if probabilities is not None:
        p = np.asarray(probabilities, dtype=np.float32)[0]
        return np.log(np.maximum(p, np.finfo(np.float32).tiny))
    if len(outputs) == 1:
        return np.asarray(next(iter(outputs.values())), dtype=np.float32)[0]
    raise ModelError(f"{path}: no 'logits' or 'probabilities' output (it has {sorted(outputs)})")


def probabilities_of(outputs: Dict[str, np.ndarray], path: str | os.PathLike = "the model") -> np.ndarray:
    """[num_labels] probabilities of one run: the model's `probabilities` output as it is, else softmax(logits)."""
    probabilities = _output(outputs, "probabilities")
    if probabilities is not None:
        return np.asarray(probabilities, dtype=np.float32)[0]
    return softmax(logits_of(outputs, path))


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def mean_of_orders(probabilities_ab: np.ndarray, probabilities_ba: np.ndarray) -> np.ndarray:
    """The score of a symmetric pair: the mean of the two orders' probabilities, p = (p(a,b) + p(b,a)) / 2.

    Why both orders: a similarity model reads [CLS] a [SEP] b [SEP], so the two orders are two inputs
    and a fine-tuned model scores them differently (0.04 apart on average on real held-out pairs, up
    to 0.6 on one). Their mean is symmetric by construction and stays a probability, and the app
    computes the same mean of the same outputs (android_demo's SimilarityModel), so Python and the
    phone agree. Shapes: [..., num_labels] in, the same out.
    """
    return ((np.asarray(probabilities_ab, np.float64) + np.asarray(probabilities_ba, np.float64)) / 2.0
            ).astype(np.float32)


def log_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """log p, floored at the smallest float: scores whose softmax gives ``probabilities`` back."""
    return np.log(np.maximum(np.asarray(probabilities, np.float32), np.finfo(np.float32).tiny))
