"""The export's NPU stage (``--npu sm8550,sm8650,…``): each NPU variant AOT-compiled per Snapdragon SoC.

For every SoC × NPU variant the CPU ``.tflite`` is compiled (``emulation.htp_compile``) into
``<name>_<variant>.<soc>.tflite`` next to it — written atomically and fingerprinted like every
artifact (the source file's content, the SoC, the Qualcomm libraries), with a compile record
``<name>_<variant>.<soc>.json`` (SoC, Hexagon version, sha256 of the compiled file and its source,
per-signature op placement) that ``benchmark npu-check`` verifies before trusting the file.

The gate: a signature with an op left on the CPU, or a failed compile, is a failure naming the SoC,
variant, signature and ops — unless ``--allow-cpu-fallback``, which accepts CPU ops and says so
in the report. Which variants go to the NPU by default (:data:`DEFAULT_VARIANTS`) was chosen by
measured op placement, size and emulated agreement (README, Snapdragon).
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Callable, Dict, List, Sequence

from albert_edge.emulation import htp_compile, qnn_libs, socs
from albert_edge.emulation.errors import NpuEnvironmentError, NpuRunError
from albert_edge.fileio import content_digest, write_bytes_atomic

logger = logging.getLogger(__name__)

# int8 (mixed: int8 matmuls, float LayerNorm/softmax, which the HTP runs in fp16) is the default:
# README's Snapdragon table has the measurements behind the choice.
DEFAULT_VARIANTS = ("int8",)
NPU_FORMAT = "1"   # in every compile fingerprint: bump when the same inputs give a different compiled file


class NpuExportError(RuntimeError):
    """Unusable --npu options or environment (exit 2): unknown SoC, no Qualcomm libraries."""


def compiled_name(source: Path, soc: socs.Soc) -> Path:
    """``albert_tiny_int8.tflite`` → ``albert_tiny_int8.sm8650.tflite``."""
    return source.with_name(f"{source.stem}.{soc.name}.tflite")


def cpu_fallback_lines(soc: str, variant: str, signatures: Sequence[dict]) -> List[str]:
    """One line per signature with ops left on the CPU, naming SoC, variant, signature and the ops."""
    lines = []
    for sig in signatures:
        if sig["cpu_ops"] or sig["ops_on_npu"] != sig["ops_total"]:
            ops = ", ".join(sorted(set(sig["cpu_ops"]))) or "(ops the compiler did not select)"
            lines.append(f"npu {soc} {variant} {sig['signature']}: {sig['ops_total'] - sig['ops_on_npu']} of "
                         f"{sig['ops_total']} ops left on the CPU: {ops}")
    return lines


def prepare(npu: Sequence[str], qnn_sdk: str | None) -> tuple[List[socs.Soc], qnn_libs.QnnLibraries]:
    """The SoCs and libraries, checked before any slow stage (NpuExportError says how to fix it)."""
    try:
        chips = socs.parse_list(list(npu))
        return chips, qnn_libs.find(qnn_sdk)
    except NpuEnvironmentError as err:
        raise NpuExportError(f"--npu: {err}") from None


def compile_all(chips: Sequence[socs.Soc], libs: qnn_libs.QnnLibraries, artifacts: Dict[str, Path],
                variants: Sequence[str], fresh: Callable[[str, str], bool], record: Callable[[str, str], None],
                force: bool = False, allow_cpu_fallback: bool = False, progress: Callable[[str], None] = lambda s: None
                ) -> dict:
    """Compile every SoC × variant; the report section (rows, failures). ``fresh``/``record`` are the
    export's fingerprint check and record (artifact name, inputs digest)."""
    rows, failures, accepted = [], [], []
    for soc in chips:
        for variant in variants:
            source = artifacts[variant]
            target = compiled_name(source, soc)
            source_sha = content_digest(source)
            digest = hashlib.sha256(json.dumps([NPU_FORMAT, source_sha, soc.name, soc.model, libs.source],
                                               sort_keys=True).encode()).hexdigest()
            progress(f"npu {soc.name} {variant}")
            record_file = target.with_suffix(".json")
            if not force and fresh(target.name, digest) and record_file.is_file():
                entry = json.loads(record_file.read_text(encoding="utf-8"))["npu"]
                logger.info("%s is up to date", target.name)
            else:
                try:
                    result = htp_compile.compile_model(source, soc, libs, target)
                except NpuRunError as err:
                    failures.append(f"npu {soc.name} {variant}: compile failed: {err}")
                    continue
                except NpuEnvironmentError as err:
                    raise NpuExportError(f"--npu: {err}") from None
                entry = {"soc": soc.name, "soc_model": soc.model, "marketing": soc.marketing, "hexagon": soc.hexagon,
                         "variant": variant, "file": target.name, "source": source.name, "source_sha256": source_sha,
                         "sha256": content_digest(target), "size_bytes": result.size_bytes,
                         "compile_s": round(result.seconds, 1), "libraries": result.libraries,
                         "signatures": [{"signature": s.signature, "ops_on_npu": s.ops_on_npu, "ops_total": s.ops_total,
                                         "partitions": s.partitions, "cpu_ops": s.cpu_ops} for s in result.signatures]}
                write_bytes_atomic(record_file, (json.dumps({"npu": entry}, indent=2) + "\n").encode())
                record(target.name, digest)
            for sig in entry["signatures"]:
                row = {k: entry[k] for k in ("soc", "marketing", "hexagon", "variant", "file", "compile_s")}
                row.update(sig, size_mb=round(entry["size_bytes"] / 1e6, 2))
                rows.append(row)
            (accepted if allow_cpu_fallback else failures).extend(cpu_fallback_lines(soc.name, variant,
                                                                                    entry["signatures"]))
    return {"socs": [s.name for s in chips], "libraries": libs.source, "rows": rows, "failures": failures,
            "allow_cpu_fallback": allow_cpu_fallback, "accepted_cpu_fallback": accepted}


def markdown(section: dict) -> List[str]:
    lines = ["## Snapdragon NPU (AOT-compiled, --npu)", "",
             f"Qualcomm libraries: {section['libraries']}. Ops on the NPU / total per signature, from the "
             "compiled file; compile time is this host's.", "",
             "| SoC | marketing name | Hexagon | variant | signature | ops on NPU | partitions | compile s | size MB | file |",
             "|---|---|---|---|---|---:|---:|---:|---:|---|"]
    for r in section["rows"]:
        lines.append(f"| {r['soc']} | {r['marketing']} | {r['hexagon']} | {r['variant']} | {r['signature']} | "
                     f"{r['ops_on_npu']}/{r['ops_total']} | {r['partitions']} | {r['compile_s']:.1f} | "
                     f"{r['size_mb']:.2f} | {r['file']} |")
    if section.get("accepted_cpu_fallback"):
        lines += ["", "**--allow-cpu-fallback: accepted ops on the CPU** (these signatures are not NPU-only):", ""]
        lines += [f"- {line}" for line in section["accepted_cpu_fallback"]]
    return lines + [""]
