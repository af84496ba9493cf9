"""Real inputs for emulated runs: tokenized sentence pairs shaped for each signature of a model.

Why here: the qemu and HTP runs, the host benchmark and the reference outputs must feed exactly
the same tensors, so one module builds them (``benchmark.host`` re-exports these names).
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from albert_edge import resources
from albert_edge.data.tasks import DataError, read_texts
from albert_edge.emulation.errors import EmulationInputError
from albert_edge.tokenization import FullTokenizer


def read_pairs(path: str | os.PathLike | None = None, limit: int | None = None) -> list[tuple[str, str]]:
    """The first ``limit`` sentence pairs of a ``a<TAB>b[<TAB>label]`` file (default: the bundled
    LCQMC calibration pairs)."""
    try:
        examples = read_texts(path or resources.LCQMC_CALIBRATION, "pairs")
    except DataError as err:
        raise EmulationInputError(str(err)) from None
    except OSError as err:
        raise EmulationInputError(f"{path}: {err.strerror or err}") from None
    return [(ex.text_a, ex.text_b) for ex in examples[:limit]]


def get_encoder() -> tuple[Callable[[str, str, int], tuple[list[int], list[int], list[int]]], str]:
    """``FullTokenizer().encode`` as (ids, mask, segments) lists, and its name for the result row."""
    tok = FullTokenizer()

    def encode(a: str, b: str, max_seq_len: int) -> tuple[list[int], list[int], list[int]]:
        enc = tok.encode(a, b, max_seq_len=max_seq_len)
        return list(enc.input_ids), list(enc.input_mask), list(enc.segment_ids)

    return encode, "FullTokenizer"


def input_role(name: str) -> str:
    """Map a model input name to ids / mask / segment / positions (names vary by exporter)."""
    low = name.lower()
    if "mask" in low:
        return "mask"
    if "segment" in low or "type" in low:
        return "segment"
    if "position" in low:
        return "positions"
    return "ids"


def make_feeds(details: dict[str, dict], pairs: Sequence[tuple[str, str]], encode: Callable,
               seq_len: int) -> list[dict[str, np.ndarray]]:
    """One feed dict per sentence pair, with each input's own dtype and shape."""
    feeds = []
    for a, b in pairs:
        ids, mask, seg = encode(a, b, seq_len)
        by_role = {"ids": ids, "mask": mask, "segment": seg}
        feed = {}
        for name, det in details.items():
            shape = [int(x) for x in det["shape"]]
            role = input_role(name)
            if role == "positions":
                values = np.arange(int(np.prod(shape))) % seq_len
            else:
                values = np.asarray(by_role[role])
            feed[name] = np.asarray(values, dtype=det["dtype"]).reshape(shape)
        feeds.append(feed)
    return feeds


def model_variant(model_path: str | os.PathLike, known: Sequence[str] = ()) -> str:
    """The export variant (embedded metadata), else the longest of ``known`` (the export's variant
    names, passed in by the caller: emulation does not import the export) the file name ends with
    (``albert_tiny_dynamic_int8`` is dynamic_int8, not int8; ``albert_tiny_int8.sm8650`` is int8)."""
    try:
        from albert_edge.runtime import read_metadata
        meta = read_metadata(model_path) or {}
    except Exception:  # noqa: BLE001 — metadata is optional; the file name still tells
        meta = {}
    if meta.get("variant"):
        return str(meta["variant"])
    stem = Path(model_path).name.split(".")[0]
    for name in sorted(known, key=len, reverse=True):
        if stem.endswith(name):
            return name
    return stem


@dataclasses.dataclass
class ModelPlan:
    """One model's signatures to run and their inputs (shared by the reference and emulated runs)."""
    path: Path
    variant: str
    signatures: list[str]
    seq_lens: dict[str, int]
    feeds: dict[str, dict[str, np.ndarray]]   # signature → input name → [N, 1, L]
    output: str
    steps: dict[str, float | None]            # signature → output quantization step (None: float output)


def plan_model(model: str | os.PathLike, seq_lens: Sequence[int] | None, pairs: Sequence[tuple[str, str]],
               feed_model: str | os.PathLike | None = None, known_variants: Sequence[str] = ()) -> ModelPlan:
    """Signatures for ``seq_lens`` (default: the shortest one) and the tokenized pairs for each.

    ``feed_model``: read signatures, inputs and output steps from this CPU model instead (a
    compiled NPU model holds one DISPATCH op per signature and no quantized tensors of its own).
    """
    from albert_edge.emulation.numerics import output_quant_steps
    from albert_edge.runtime import ModelError, load_interpreter, signature_lengths

    path = Path(model)
    source = Path(feed_model) if feed_model else path
    try:
        interp = load_interpreter(source, 1)
    except ModelError as err:
        raise EmulationInputError(str(err)) from None
    lengths = signature_lengths(interp)
    if not lengths or "" in lengths.values():
        raise EmulationInputError(f"{source}: no length signatures (L32, L64 …) with an 'input_ids' input; "
                                  "is this an albert_edge export?")
    wanted = list(seq_lens) if seq_lens else [min(lengths)]
    missing = [L for L in wanted if L not in lengths]
    if missing:
        raise EmulationInputError(f"{source}: no signature for length(s) {missing}; it has {sorted(lengths)}")
    encode, _ = get_encoder()
    feeds, signatures, output = {}, [], "logits"
    for L in wanted:
        key = lengths[L]
        runner = interp.get_signature_runner(key)
        details = runner.get_input_details()
        rows = make_feeds(details, pairs, encode, L)
        feeds[key] = {name: np.stack([r[name] for r in rows]) for name in details}
        outs = list(runner.get_output_details())
        output = "logits" if "logits" in outs else outs[0]
        signatures.append(key)
    return ModelPlan(path, model_variant(source, known_variants), signatures, {lengths[L]: L for L in wanted}, feeds, output,
                     output_quant_steps(source, output))
