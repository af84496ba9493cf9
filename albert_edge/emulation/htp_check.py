"""The NPU numerics check: each signature of a compiled model on the HTP emulator against the CPU
model it was compiled from, under the rule shared with the ARM check (``numerics``).

Before any inference, the compiled file is matched against the record its compile wrote beside it
(``<name>.<soc>.json``: SoC, Hexagon version, sha256 of the compiled file and of its source).
Why: the emulator does not refuse a context binary compiled for another SoC — measured: an SM8550
(v73) binary runs with SM8650 (v75) settings and gives identical outputs — so a wrong SoC's binary
swapped in under this SoC's name is caught by the record, not by the numbers. A corrupted context
is caught by the record too, and, without one, by the emulator refusing it, crashing (run in a
child process: ``htp_run.run_isolated``) or breaking the numerics rule.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import statistics
import time
from pathlib import Path
from typing import Sequence

from albert_edge.emulation import numerics
from albert_edge.emulation.errors import EmulationInputError, NpuRunError
from albert_edge.emulation.feeds import ModelPlan, plan_model
from albert_edge.emulation.htp_run import read_context_graphs, run_isolated
from albert_edge.emulation.socs import Soc, UnknownSocError, get as get_soc
from albert_edge.fileio import content_digest

log = logging.getLogger(__name__)

DEFAULT_PAIRS = 5            # 5–12 s per L32 inference on 2 cores


def record_path(compiled: str | os.PathLike) -> Path:
    """``albert_tiny_int8.sm8650.tflite`` → ``albert_tiny_int8.sm8650.json`` (written by the compile)."""
    return Path(compiled).with_suffix(".json")


def soc_from_name(compiled: str | os.PathLike) -> Soc | None:
    """The SoC in a compiled file's name (``….sm8650.tflite``), or None."""
    parts = Path(compiled).name.split(".")
    if len(parts) >= 3:
        try:
            return get_soc(parts[-2])
        except UnknownSocError:
            return None
    return None


def cpu_model_for(compiled: str | os.PathLike) -> Path:
    """The CPU model a compiled file was made from: its record's ``source``, else ``<stem>.tflite`` beside it."""
    compiled = Path(compiled)
    record = read_record(compiled)
    if record and record.get("source"):
        return compiled.parent / Path(record["source"]).name
    return compiled.parent / (compiled.name.split(".")[0] + ".tflite")


def read_record(compiled: str | os.PathLike) -> dict | None:
    path = record_path(compiled)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise EmulationInputError(f"{path}: not a readable compile record ({err})") from None
    return data if isinstance(data, dict) and "npu" in data else None


def record_failures(compiled: Path, soc: Soc, cpu_model: Path) -> list[str]:
    """Gate failures of the compiled file against its compile record (empty: it is what was compiled)."""
    record = read_record(compiled)
    if record is None:
        log.warning("%s has no compile record (%s): the SoC cannot be confirmed from the file", compiled,
                    record_path(compiled).name)
        return []
    npu = record["npu"]
    failures = []
    if npu.get("soc") != soc.name:
        failures.append(f"npu {soc.name} {compiled.name}: its compile record says it was compiled for "
                        f"{npu.get('soc')}, not {soc.name}")
    actual = content_digest(compiled)
    if npu.get("sha256") != actual:
        failures.append(f"npu {soc.name} {compiled.name}: the file is not the one compiled for {soc.name} "
                        f"(sha256 {actual[:12]}…, its record says {str(npu.get('sha256'))[:12]}…): another SoC's "
                        "binary swapped in, or a corrupted or edited file — recompile with export --npu")
    if cpu_model.is_file() and npu.get("source_sha256") not in (None, content_digest(cpu_model)):
        failures.append(f"npu {soc.name} {compiled.name}: {cpu_model.name} changed since it was compiled "
                        "(recompile with export --npu)")
    return failures


@dataclasses.dataclass
class NpuCheck:
    rows: list[dict]
    failures: list[str]


def check_compiled(compiled: str | os.PathLike, pairs: Sequence[tuple[str, str]], soc: Soc | None = None,
                   cpu_model: str | os.PathLike | None = None, seq_lens: Sequence[int] | None = None,
                   qnn_sdk: str | None = None, known_variants: Sequence[str] = (), progress: bool = True,
                   timeout_s: float = 3600.0) -> NpuCheck:
    """Rows (one per signature) and named gate failures of one compiled model (module docstring).

    ``seq_lens`` None: every signature. Raises EmulationInputError / NpuEnvironmentError for
    unusable inputs (exit 2); a model the emulator refuses or crashes on is a gate failure.
    """
    from tqdm import tqdm

    compiled = Path(compiled)
    if not compiled.is_file():
        raise EmulationInputError(f"--model {compiled}: file not found")
    soc = soc or soc_from_name(compiled)
    if soc is None:
        raise EmulationInputError(f"--model {compiled.name}: no SoC in its name (….sm8650.tflite); pass --soc")
    cpu = Path(cpu_model) if cpu_model else cpu_model_for(compiled)
    if not cpu.is_file():
        raise EmulationInputError(f"the CPU model {cpu} it was compiled from is missing (pass --cpu-model)")
    failures = record_failures(compiled, soc, cpu)
    if failures:       # not the file that was compiled for this SoC: its numbers would prove nothing
        return NpuCheck([], failures)
    graphs = read_context_graphs(compiled)   # NpuRunError: not a compiled model → caller's exit 2
    plan: ModelPlan = plan_model(cpu, seq_lens or sorted(_lengths(cpu)), pairs, known_variants=known_variants)
    missing = [s for s in plan.signatures if s not in graphs]
    if missing:
        raise EmulationInputError(f"{compiled.name} has no compiled signature {', '.join(missing)}")
    reference = numerics.reference_outputs(cpu, plan.signatures, plan.feeds, plan.output)
    rows = []
    for sig in tqdm(plan.signatures, desc=f"htp {soc.name}", unit="signature", disable=not progress):
        row = {"device": f"htp-emulator-{soc.name}", "device_model": soc.marketing, "source": "htp-emulator",
               "soc": soc.name, "hexagon": soc.hexagon, "model": str(compiled), "cpu_model": str(cpu),
               "variant": plan.variant, "signature": sig, "seq_len": plan.seq_lens[sig], "delegate": "npu",
               "n_pairs": len(pairs), "reference": numerics.REFERENCE, "output_step": plan.steps.get(sig)}
        start = time.monotonic()
        try:
            outputs = run_isolated(compiled, sig, soc, plan.feeds[sig], qnn_sdk, timeout_s)
        except NpuRunError as err:
            failures.append(f"npu {soc.name} {plan.variant} {sig}: {err}")
            rows.append(dict(row, status="error", numerics_ok=False, numerics_failures=[str(err)]))
            continue
        seconds = (time.monotonic() - start) / max(len(pairs), 1)
        if plan.output not in outputs:
            raise NpuRunError(f"{compiled.name} {sig}: the compiled graph has no output {plan.output}")
        result = numerics.check_numerics(reference[sig], outputs[plan.output], plan.variant, plan.steps.get(sig),
                                         plan.seq_lens[sig], device=row["device"], float16_device=True)
        row.update(status="ok", max_abs_diff_vs_reference=result.max_abs_diff, max_steps=result.max_steps,
                   tolerance=result.tolerance, rule=result.rule, argmax_agreement=round(result.argmax_agreement, 6),
                   argmax_disagreements=result.disagreements, near_tie_flips=result.near_tie_flips,
                   numerics_ok=result.ok, numerics_failures=result.failures,
                   emulated_s_per_inference=round(seconds, 1))
        failures.extend(f"npu {soc.name} {plan.variant} {sig}: {f}" for f in result.failures)
        rows.append(row)
    return NpuCheck(rows, failures)


def _lengths(cpu: Path) -> list[int]:
    from albert_edge.runtime import load_interpreter, signature_lengths
    return list(signature_lengths(load_interpreter(cpu, 1)))


def markdown_table(rows: Sequence[dict]) -> str:
    header = ["SoC", "Hexagon", "variant", "signature", "pairs", "max \\|Δlogit\\| vs ref", "steps", "bound",
              "argmax agree", "numerics"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * 4 + "---:|" * 5 + "---|"]
    for r in rows:
        ok = r.get("status") == "ok"
        lines.append("| " + " | ".join([
            r["soc"], r["hexagon"], r["variant"], r["signature"], str(r["n_pairs"]),
            f"{r['max_abs_diff_vs_reference']:.3g}" if ok else "–",
            f"{r['max_steps']:.1f}" if ok and r.get("max_steps") is not None else "–",
            (f"{r['tolerance']:.3g}" if r.get("tolerance") else "argmax") if ok else "–",
            f"{r['argmax_agreement']:.3f}" if ok else "–",
            "ok" if r.get("numerics_ok") else ("FAILED" if ok else "ERROR")]) + " |")
    return "\n".join(lines) + "\n"
