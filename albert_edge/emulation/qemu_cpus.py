"""The ARM CPU models qemu emulates for the phone, and the ``/proc/cpuinfo`` each one is given.

Why a module of its own: which CPUs are worth emulating (the XNNPACK int8 path each selects) and
which must be refused (qemu 7.2's SME gives garbage) is a table of facts, separate from
provisioning the userland (``qemu_env``) and running models (``qemu_run``).
"""
from __future__ import annotations

import logging
import re
from typing import Sequence

from albert_edge.emulation.errors import ArmEnvironmentError

log = logging.getLogger(__name__)

# The CPU models worth emulating, and why (the XNNPACK int8 path each one selects).
CPU_MODELS = {
    "cortex-a76": "dotprod (SDOT) — Snapdragon 845/855 class",
    "cortex-a72": "NEON only (SMLAL) — older phones",
    "max,sme=off": "i8mm (SMMLA) — recent Snapdragons; qemu's max without SME",
}
DEFAULT_CPUS = ("cortex-a76",)
SME_WARNING = ("advertises SME; under qemu 7.2 XNNPACK then takes its SME int8 kernels and the results "
               "are garbage (the int8 ALBERT-tiny export: 60 of 200 argmax disagreements, max |Δlogit| 4.2) — an "
               "emulator bug, not the model's. "
               "Use cortex-a76 (dotprod), cortex-a72 (NEON) or max,sme=off (i8mm)")

# Linux arm64 hwcap bit names (arch/arm64/include/uapi/asm/hwcap.h), for /proc/cpuinfo "Features".
HWCAP_NAMES = ("fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma "
               "lrcpc dcpop sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs sb paca "
               "pacg").split()
HWCAP2_NAMES = ("dcpodp sve2 sveaes svepmull svebitperm svesha3 svesm4 flagm2 frint svei8mm svef32mm svef64mm "
                "svebf16 i8mm bf16 dgh rng bti mte ecv afp rpres mte3 sme smei16i64 smef64f64 smei8i32 "
                "smef16f32 smeb16f32 smef32f32 smefa64 wfxt").split()


def parse_cpu_list(text: str | Sequence[str]) -> list[str]:
    """``"cortex-a76,cortex-a72,max,sme=off"`` → ``["cortex-a76", "cortex-a72", "max,sme=off"]``.

    qemu CPU options (``sme=off``) contain no dash-free model name of their own, so an item with
    ``=`` belongs to the model before it.
    """
    items = [x.strip() for x in (text.split(",") if isinstance(text, str) else text) if x.strip()]
    cpus: list[str] = []
    for item in items:
        if "=" in item and cpus:
            cpus[-1] += "," + item
        elif "=" in item:
            raise ValueError(f"--cpu {text!r}: option {item!r} has no CPU model before it")
        else:
            cpus.append(item)
    if not cpus:
        raise ValueError(f"--cpu {text!r}: no CPU model")
    return cpus


def cpu_slug(cpu: str) -> str:
    """``max,sme=off`` → ``max-sme-off`` (file names and device labels)."""
    return re.sub(r"[^A-Za-z0-9]+", "-", cpu).strip("-")


def device_name(cpu: str) -> str:
    return f"qemu-{cpu_slug(cpu)}"


def features_from_hwcaps(hwcap: int, hwcap2: int) -> list[str]:
    names = [n for bit, n in enumerate(HWCAP_NAMES) if hwcap >> bit & 1]
    return names + [n for bit, n in enumerate(HWCAP2_NAMES) if hwcap2 >> bit & 1]


def cpuinfo_text(probe: dict, processors: int) -> str:
    """An arm64 Linux ``/proc/cpuinfo`` for the probed CPU (features and MIDR fields as the kernel prints)."""
    midr = int(probe["midr"])
    block = (
        "BogoMIPS\t: 50.00\n"
        f"Features\t: {' '.join(features_from_hwcaps(int(probe['hwcap']), int(probe['hwcap2'])))}\n"
        f"CPU implementer\t: 0x{midr >> 24 & 0xFF:02x}\n"
        "CPU architecture: 8\n"
        f"CPU variant\t: 0x{midr >> 20 & 0xF:x}\n"
        f"CPU part\t: 0x{midr >> 4 & 0xFFF:03x}\n"
        f"CPU revision\t: {midr & 0xF}\n\n"
    )
    return "".join(f"processor\t: {i}\n{block}" for i in range(processors))


def check_cpu_allowed(cpu: str, probe: dict | None, allow_sme: bool) -> None:
    """Refuse (or, with ``allow_sme``, warn about) a CPU model that advertises SME."""
    options = cpu.split(",")[1:]
    bare_max = cpu.split(",")[0] == "max" and "sme=off" not in options
    has_sme = probe is not None and "sme" in features_from_hwcaps(int(probe["hwcap"]), int(probe["hwcap2"]))
    if bare_max or has_sme:
        message = f"-cpu {cpu} {SME_WARNING}"
        if not allow_sme:
            raise ArmEnvironmentError(message + " (pass --allow-sme to run it anyway)")
        log.warning("%s", message)

