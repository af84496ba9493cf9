"""Running exports on the phone's aarch64 LiteRT kernels under qemu-user: outputs + instruction counts.

Each model runs under each CPU model on real tokenized pairs (:mod:`albert_edge.emulation.feeds`),
the same inputs go through LiteRT's reference kernels on the host
(:func:`albert_edge.emulation.numerics.reference_outputs`), and the numerics rule judges the
difference. Rows use the harness's common schema (``device`` = ``qemu-cortex-a76`` …, ``variant``,
``signature``, ``threads``), so ``benchmark compare`` gates instruction counts as it gates latency —
exactly, because counts do not wobble run to run. What emulation cannot give is time and memory:
those come from a phone or a device farm (``benchmark adb``, ``benchmark farm``).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from albert_edge.emulation import arm_guest
from albert_edge.emulation.errors import ArmRunError, EmulationInputError
from albert_edge.emulation.feeds import ModelPlan, model_variant, plan_model, read_pairs
from albert_edge.emulation.numerics import FLOAT_VARIANTS, REFERENCE, check_numerics, reference_outputs
from albert_edge.emulation.qemu_cpus import DEFAULT_CPUS, device_name, features_from_hwcaps
from albert_edge.emulation.qemu_env import ArmEnv, guest_env, guest_root, prepare, qemu_command

log = logging.getLogger(__name__)

DEFAULT_PAIRS = 50            # quantized variants: ~0.2 s per L32 inference under emulation
FLOAT_PAIRS = 5               # float variants cost ~10x more per inference under emulation


def parse_counts(path: Path) -> tuple[list[str], dict[int, dict[str, int]]]:
    """The plugin's file → (class names, {tag: {"total": …, class: …, "vcpus": …}})."""
    lines = path.read_text().splitlines() if path.is_file() else []
    if not lines or not lines[0].startswith("# insn_count"):
        raise ArmRunError(f"the counting plugin wrote no header to {path}")
    names = lines[0].split()[4:]  # "# insn_count 1 tag total dot … vcpus" → total, dot, …, vcpus
    rows = {}
    for line in lines[1:]:
        values = [int(x) for x in line.split()]
        rows[values[0]] = dict(zip(names, values[1:]))
    return names, rows


@dataclasses.dataclass
class GuestResult:
    outputs: dict[str, np.ndarray]             # signature → [N, …]
    counts: dict[str, list[dict[str, int]]]    # signature → per input
    seconds: dict[str, list[float]]
    wall_s: float


def run_guest(env: ArmEnv, cpu: str, plan: ModelPlan, timeout_s: float) -> GuestResult:
    """One qemu process per model × CPU: every signature, every input, counted per Invoke."""
    with guest_root(env, cpu) as root:
        stage = root / "stage"
        shutil.copyfile(plan.path, stage / "model.tflite")   # a real file: its path is /stage/model.tflite
        np.savez(stage / "feeds.npz", **{f"{sig}/{name}": value for sig, feeds in plan.feeds.items()
                                         for name, value in feeds.items()})
        (stage / "out.npz").touch()  # qemu -L maps only paths that exist
        counts_path = stage / "counts.txt"
        cmd = qemu_command(env, cpu, root, ["--model", "/stage/model.tflite", "--feeds", "/stage/feeds.npz",
                                            "--signatures", ",".join(plan.signatures), "--out", "/stage/out.npz"],
                           counts_path)
        start = time.monotonic()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=guest_env(), cwd=root)
        except subprocess.TimeoutExpired:
            raise ArmRunError(f"{plan.path.name} on {cpu}: no result within {timeout_s:.0f} s "
                              "(raise --timeout-s, or use fewer --pairs)") from None
        wall = time.monotonic() - start
        if proc.returncode != 0:
            tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
            raise ArmRunError(f"{plan.path.name} on -cpu {cpu}: the aarch64 run failed (exit {proc.returncode}):\n{tail}")
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        with np.load(stage / "out.npz") as data:
            outputs = {sig: data[f"{sig}/{plan.output}"] for sig in plan.signatures}
        _, by_tag = parse_counts(counts_path)
    counts = {}
    for index, sig in enumerate(plan.signatures):
        n = len(outputs[sig])
        per_input = [by_tag.get(index * arm_guest.TAG_STRIDE + i) for i in range(n)]
        if any(c is None for c in per_input):
            raise ArmRunError(f"{plan.path.name} on {cpu}: the plugin counted {sum(c is not None for c in per_input)} "
                              f"of {n} inferences for {sig}")
        if any(c.get("vcpus", 1) > 1 for c in per_input):
            log.warning("%s on %s: more than one guest thread ran; counts may be inexact", plan.path.name, cpu)
        counts[sig] = per_input
    return GuestResult(outputs, counts, info["seconds"], wall)


def make_row(env: ArmEnv, cpu: str, plan: ModelPlan, sig: str, reference: np.ndarray, guest: GuestResult) -> dict:
    """One result row in the harness's common schema, plus counts and numerics."""
    per_input = guest.counts[sig]
    totals = [c["total"] for c in per_input]
    classes = {name: int(statistics.median_low([c[name] for c in per_input]))
               for name in per_input[0] if name not in ("total", "vcpus")}
    numerics = check_numerics(reference, guest.outputs[sig], plan.variant, plan.steps.get(sig), plan.seq_lens[sig],
                              device=device_name(cpu))
    probe = env.probes.get(cpu, {})
    return {
        "device": device_name(cpu), "device_model": device_name(cpu), "source": "qemu", "cpu": cpu,
        "model": str(plan.path), "variant": plan.variant, "signature": sig, "seq_len": plan.seq_lens[sig],
        "delegate": "cpu", "threads": 1, "status": "ok",
        "instructions": int(statistics.median_low(totals)),
        "instructions_min": int(min(totals)), "instructions_max": int(max(totals)),
        "instruction_classes": classes,
        "n_pairs": len(totals),
        "max_abs_diff_vs_reference": numerics.max_abs_diff, "max_steps": numerics.max_steps, "reference": REFERENCE,
        "tolerance": numerics.tolerance, "rule": numerics.rule,
        "output_step": plan.steps.get(sig),
        "argmax_agreement": round(numerics.argmax_agreement, 6), "argmax_disagreements": numerics.disagreements,
        "near_tie_flips": numerics.near_tie_flips,
        "numerics_ok": numerics.ok, "numerics_failures": numerics.failures,
        "emulated_ms_median": round(1000 * statistics.median(guest.seconds[sig]), 1),
        "isa": " ".join(f for f in features_from_hwcaps(probe.get("hwcap", 0), probe.get("hwcap2", 0))
                        if f in ("asimd", "asimddp", "i8mm", "sve", "sme", "bf16", "asimdhp")),
        "qemu": env.qemu_version, "litert": env.litert_version,
    }


def load_pairs_file(path: str | os.PathLike | None, limit: int) -> list[tuple[str, str]]:
    """The first `limit` pairs of `path` (default: the bundled LCQMC calibration pairs)."""
    try:
        return read_pairs(path, limit)
    except EmulationInputError as err:
        raise ArmRunError(str(err)) from None


def run_arm(models: Sequence[str | os.PathLike], cpus: Sequence[str] = DEFAULT_CPUS,
            seq_lens: Sequence[int] | None = None, pairs: int = DEFAULT_PAIRS, float_pairs: int | None = FLOAT_PAIRS,
            pairs_file: str | None = None, cache: str | os.PathLike | None = None, allow_sme: bool = False,
            timeout_s: float = 3600.0, progress: bool = True, env: ArmEnv | None = None,
            known_variants: Sequence[str] = ()) -> list[dict]:
    """Rows for every model × CPU × signature (the library call behind ``benchmark arm``).

    ``float_pairs`` caps the inputs of float variants (fp32/fp16), which cost ~10× more per
    inference under emulation; None runs them on ``pairs`` too.
    """
    from tqdm import tqdm

    for model in models:
        if not Path(model).is_file():
            raise ArmRunError(f"model not found: {model}")
    env = env or prepare(cpus, cache, allow_sme)
    texts = load_pairs_file(pairs_file, pairs)
    rows = []
    jobs = [(m, c) for m in models for c in cpus]
    with tqdm(total=len(jobs), desc="arm", unit="run", disable=not progress) as bar:
        plans: dict[str, tuple[ModelPlan, dict]] = {}
        for model, cpu in jobs:
            if str(model) not in plans:
                variant = model_variant(model, known_variants)
                n = min(pairs, float_pairs) if (float_pairs and variant in FLOAT_VARIANTS) else pairs
                try:
                    plan = plan_model(model, seq_lens, texts[:n], known_variants=known_variants)
                except EmulationInputError as err:
                    raise ArmRunError(str(err)) from None
                plans[str(model)] = (plan, reference_outputs(plan.path, plan.signatures, plan.feeds, plan.output))
            plan, reference = plans[str(model)]
            bar.set_postfix_str(f"{plan.path.name} {cpu}")
            guest = run_guest(env, cpu, plan, timeout_s)
            for sig in plan.signatures:
                row = make_row(env, cpu, plan, sig, reference[sig], guest)
                log.info("%s %s %s: %d instructions, max|Δ| %.3g, numerics %s", cpu, plan.variant, sig,
                         row["instructions"], row["max_abs_diff_vs_reference"], "ok" if row["numerics_ok"] else "FAILED")
                rows.append(row)
            bar.update()
    return rows


def gate_failures(rows: Sequence[dict]) -> list[str]:
    """Named numerics failures of all rows (empty when every row is within the rule)."""
    return [f"arm numerics {r['device']} {r['variant']} {r['signature']}: {'; '.join(r['numerics_failures'])}"
            for r in rows if not r.get("numerics_ok", True)]


REPORT_CLASSES = ("dot", "mmla", "mlal", "fmla", "simd_fp")


def markdown_table(rows: Sequence[dict]) -> str:
    header = ["device", "variant", "signature", "pairs", "instructions / inference", "M", *REPORT_CLASSES,
              "max \\|Δ\\| vs ref", "bound", "argmax agree", "emulated ms", "numerics"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * 3 + "---:|" * (len(header) - 4) + "---|"]
    for r in rows:
        classes = r.get("instruction_classes", {})
        lines.append("| " + " | ".join([
            r["device"], r["variant"], r["signature"], str(r["n_pairs"]), f"{r['instructions']:,}",
            f"{r['instructions'] / 1e6:.2f}", *(f"{classes.get(c, 0) / 1e6:.2f}" for c in REPORT_CLASSES),
            f"{r['max_abs_diff_vs_reference']:.2e}", f"{r['tolerance']:.2e}" if r.get("tolerance") else "argmax",
            f"{r['argmax_agreement']:.3f}", f"{r['emulated_ms_median']:.0f}",
            "ok" if r["numerics_ok"] else "FAILED"]) + " |")
    return "\n".join(lines) + "\n"
