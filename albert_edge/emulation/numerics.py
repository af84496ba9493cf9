"""The numerics rule for every emulated run (ARM CPU under qemu, Hexagon NPU under Qualcomm's
HTP emulator), written once, and the reference it compares with.

The reference does not depend on this host's instruction set. The x86 kernels LiteRT picks at run
time (XNNPACK / ruy with AVX2, AVX-512 VNNI or AMX) round int8 arithmetic differently from machine
to machine: with them as reference, ``make arm-check`` passed on an AVX-512 host and failed on an
AVX2 one while the three emulated ARM CPUs agreed with each other (issue 24). The reference is
therefore the same model through LiteRT's *reference kernels* (``OpResolverType.BUILTIN_REF``:
portable C++ loops, no run-time ISA dispatch, no delegate), one thread.

The rule (:func:`check_numerics`), for one model × signature × emulated device:

* outputs finite;
* same argmax as the reference on every input, except a *near tie* — the reference's top two
  logits within twice the bound of each other, which two in-bound errors explain;
* elementwise ``max |Δlogit| ≤ bound``, where the bound is

  - float variants (fp32, fp16: float32 arithmetic on both sides): ``1e-4``;
  - a statically quantized output of scale ``s`` at sequence length ``L``: ``k(L) · s`` with
    ``k(L) = 2 + r · ⌈L / 16⌉`` (:func:`quant_steps`). Why this ``k``: a conforming int8 kernel may
    round every requantized value one LSB away from the reference (round-half-away vs
    round-half-even, another fixed-point multiplier — XNNPACK, ruy and the HTP each have their
    own), so the output requantization and its dequantization alone allow 2 steps (the old rule);
    inside the model the attention context sums ``L`` products of int8 probabilities and values,
    so one-LSB differences per position accumulate with ``L`` — linearly in the worst case, one
    more output step per 16 positions for each independent rounding source ``r``. ``r = 1`` for
    the CPU's integer kernels; ``r = 2`` for the HTP, a float16 device for everything that is not
    a matmul: it computes the float ops of the mixed ``int8`` variant (LayerNorm, softmax, GELU)
    in float16 (its compiler log says so), rounding every such value to 11 bits before it is
    requantized — a second one-LSB freedom at the same points — and its integer-only graphs
    (``int8_full``) already reach the integer model's limit (4 steps at L32, measured), so the
    same ``r`` holds for every variant it runs. ``k`` is a model of the error, stated here, not a
    number fitted on one machine; the measurements it was checked against are in README (Snapdragon);
  - other variants (dynamic_int8: float outputs computed from activations quantized at run time,
    no step the kernels promise to keep): argmax only, with near ties judged at
    2 × (logit range / 255).
"""
from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from albert_edge.emulation.errors import EmulationInputError

FLOAT_TOLERANCE = 1e-4        # fp32/fp16 compute in float32 on both sides
OUTPUT_STEPS = 2              # the output's own requantization + dequantization
POSITIONS_PER_STEP = 16       # one more output step per 16 positions the attention sums over
FLOAT_VARIANTS = ("fp32", "fp16")
BOUND_SLACK = 1e-5            # float32 rounding: outputs exactly k steps apart may differ by k steps + 1 ulp
REFERENCE = "LiteRT reference kernels (BUILTIN_REF, 1 thread)"


def rounding_sources(float16_device: bool) -> int:
    """``r`` of the bound: 2 on a float16 device (the HTP), 1 on integer CPU kernels (module docstring)."""
    return 2 if float16_device else 1


def quant_steps(seq_len: int | None, sources: int = 1) -> int:
    """``k(L) = 2 + r · ⌈L / 16⌉`` output steps (module docstring says why); 2 without a length."""
    if not seq_len:
        return OUTPUT_STEPS
    return OUTPUT_STEPS + int(sources) * math.ceil(int(seq_len) / POSITIONS_PER_STEP)


@dataclasses.dataclass
class Numerics:
    """Result of comparing an emulated device's outputs with the reference for one signature."""
    max_abs_diff: float
    tolerance: float | None       # None: no elementwise bound for this kind of model (argmax only)
    rule: str
    argmax_agreement: float
    disagreements: int
    near_tie_flips: int
    failures: list[str]
    max_steps: float | None = None  # max |Δ| in output steps (quantized outputs)

    @property
    def ok(self) -> bool:
        return not self.failures


def tolerance_for(variant: str, output_step: float | None, seq_len: int | None = None,
                  sources: int = 1) -> tuple[float | None, str]:
    """The elementwise bound and its rule text (module docstring)."""
    if output_step:
        k = quant_steps(seq_len, sources)
        r = "" if sources == 1 else f"{sources} · "
        return k * float(output_step), f"≤ {k} output steps ({k} × {output_step:.4g}; k = 2 + {r}⌈L/16⌉)"
    if variant in FLOAT_VARIANTS:
        return FLOAT_TOLERANCE, f"≤ {FLOAT_TOLERANCE:g} (float)"
    return None, "argmax only, near ties within 2 × (logit range / 255)"


def _top_classes(row: np.ndarray) -> set[int]:
    return set(np.flatnonzero(row == row.max()).tolist())


def check_numerics(reference: np.ndarray, observed: np.ndarray, variant: str, output_step: float | None = None,
                   seq_len: int | None = None, device: str = "emulated", float16_device: bool = False) -> Numerics:
    """Apply the rule (module docstring) to ``observed`` [N, classes] against ``reference``.

    ``float16_device``: the device computes its non-matmul ops in float16 (the HTP), so ``r = 2``
    (:func:`rounding_sources`).
    """
    reference = np.asarray(reference, np.float64).reshape(len(reference), -1)
    observed = np.asarray(observed, np.float64).reshape(len(observed), -1)
    if reference.shape != observed.shape:
        raise EmulationInputError(f"output shapes differ: reference {reference.shape}, {device} {observed.shape}")
    tolerance, rule = tolerance_for(variant, output_step, seq_len, rounding_sources(float16_device))
    failures: list[str] = []
    finite = bool(np.all(np.isfinite(observed)))
    if not finite:
        max_diff = float("inf")
        failures.append(f"{device} outputs contain NaN or inf")
    else:
        max_diff = float(np.max(np.abs(observed - reference))) if reference.size else 0.0
        if tolerance is not None and max_diff > tolerance * (1 + BOUND_SLACK):
            failures.append(f"max |Δ| vs reference {max_diff:.3g} > {tolerance:.3g} ({rule})")
    tie_tolerance = tolerance if tolerance is not None else OUTPUT_STEPS * float(np.ptp(reference)) / 255.0
    disagreements = near_tie = 0
    for ref, obs in zip(reference, observed):
        if _top_classes(ref) & _top_classes(obs):
            continue
        top2 = np.sort(ref)[-2:] if ref.size > 1 else ref
        if finite and float(top2[-1] - top2[0]) <= 2 * tie_tolerance:
            near_tie += 1
        else:
            disagreements += 1
    if disagreements:
        failures.append(f"{disagreements} of {len(reference)} argmax disagreements with the reference beyond near "
                        f"ties (top-2 margin > {2 * tie_tolerance:.3g})")
    agreement = 1.0 - (disagreements + near_tie) / max(len(reference), 1)
    steps = max_diff / output_step if output_step and finite else None
    return Numerics(max_diff, tolerance, rule, agreement, disagreements, near_tie, failures, steps)


# ------------------------------------------------------------------------------------ model facts
def _schema():
    from ai_edge_litert import schema_py_generated as schema  # shipped with the wheel
    return schema


def output_quant_steps(model_path: str | os.PathLike, output: str = "logits") -> dict[str, float | None]:
    """{signature: scale of the quantized tensor that ``output`` is dequantized from, or None}.

    Read from the flatbuffer (LiteRT's Python API only lists the first subgraph's operators).
    """
    schema = _schema()
    data = Path(model_path).read_bytes()
    model = schema.Model.GetRootAs(data, 0)
    dequantize = schema.BuiltinOperator.DEQUANTIZE
    steps: dict[str, float | None] = {}
    for s in range(model.SignatureDefsLength()):
        sig = model.SignatureDefs(s)
        key = sig.SignatureKey().decode()
        subgraph = model.Subgraphs(sig.SubgraphIndex())
        outputs = {sig.Outputs(i).Name().decode(): sig.Outputs(i).TensorIndex() for i in range(sig.OutputsLength())}
        tensor = outputs.get(output, next(iter(outputs.values()), None))
        steps[key] = None
        if tensor is None:
            continue
        for o in range(subgraph.OperatorsLength()):
            op = subgraph.Operators(o)
            if tensor not in [op.Outputs(i) for i in range(op.OutputsLength())]:
                continue
            code = model.OperatorCodes(op.OpcodeIndex())
            if max(code.BuiltinCode(), code.DeprecatedBuiltinCode()) == dequantize:
                quant = subgraph.Tensors(op.Inputs(0)).Quantization()
                if quant is not None and quant.ScaleLength() == 1:
                    steps[key] = float(quant.Scale(0))
            break
    return steps


def reference_outputs(model: str | os.PathLike, signatures: Sequence[str], feeds: dict[str, dict[str, np.ndarray]],
                      output: str = "logits") -> dict[str, np.ndarray]:
    """``output`` of every feed through LiteRT's reference kernels on this host ({signature: [N, …]}).

    Why not the default kernels: they are chosen by this CPU's instruction set (module docstring).
    """
    from ai_edge_litert import interpreter as litert

    try:
        interp = litert.Interpreter(model_path=str(model), num_threads=1,
                                    experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF)
    except (ValueError, RuntimeError) as err:
        raise EmulationInputError(f"{model}: LiteRT cannot load it with its reference kernels: {err}") from None
    result = {}
    for key in signatures:
        runner = interp.get_signature_runner(key)
        sig_feeds = feeds[key]
        count = len(next(iter(sig_feeds.values())))
        result[key] = np.stack([runner(**{n: v[i] for n, v in sig_feeds.items()})[output] for i in range(count)])
    return result
