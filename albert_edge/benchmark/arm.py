"""Run exports on the phone's aarch64 LiteRT kernels under qemu-user: numerics + instruction counts.

Every parity and accuracy gate of the export runs on this x86 host's kernels, while a phone runs
XNNPACK's aarch64 NEON / dotprod / i8mm paths. No phone is needed to run those: Debian's
``qemu-user`` runs Debian's own aarch64 Python 3.11 (``dpkg -x`` of the arm64 debs into a folder —
no chroot, no binfmt) with PyPI's aarch64 wheels of ``ai-edge-litert`` and ``numpy``. This module

1. prepares that userland once, in a user cache folder (:func:`default_cache_dir`), together with an
   ARM ``/proc/cpuinfo`` per emulated CPU and a TCG plugin that counts guest instructions
   (``qemu_plugin/insn_count.c``, built with the system C compiler against the ``qemu-plugin.h`` of
   Debian's qemu source package);
2. runs each model under each CPU model on real tokenized LCQMC pairs, and the same inputs through
   LiteRT on the host;
3. applies one numerics rule (:func:`check_numerics`) and counts instructions per ``Invoke``.

Rows use the harness's common schema (``device`` = ``qemu-cortex-a76`` …, ``variant``,
``signature``, ``threads``), so ``benchmark compare`` gates instruction counts as it gates latency —
exactly, because counts do not wobble run to run (what it takes to make them so is in
:func:`guest_root`, :func:`qemu_command` and ``_guest_env``). What emulation cannot give is time and memory:
those come from a phone or a device farm (``adb``, ``farm``).

Two traps this module handles: LiteRT's cpuinfo crashes on the host's x86 ``/proc/cpuinfo`` (so the
guest gets an ARM one at ``ROOT/proc/cpuinfo``, generated from the emulated CPU's own hwcaps and
MIDR), and qemu 7.2's bare ``-cpu max`` advertises SME, whose XNNPACK kernels give garbage under
qemu 7.2 (int8: 60 of 200 argmax disagreements here) — such CPUs are refused unless ``--allow-sme``.

Exit codes: 0 every row within the rule · 1 a numerics gate failed (named) · 2 unusable model,
options or environment (the message says what is missing and how to install it), or a model that
crashed or timed out under emulation (the message carries qemu's last lines).
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from albert_edge import resources
from albert_edge.benchmark import arm_guest
from albert_edge.benchmark.results_io import atomic_write_bytes, atomic_write_json, atomic_write_text
from albert_edge.cli import check_writable_file, csv_of, nonnegative_float, positive_int

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
PLUGIN_SOURCE = PACKAGE_DIR / "qemu_plugin" / "insn_count.c"
GUEST_SCRIPT = PACKAGE_DIR / "arm_guest.py"

# ------------------------------------------------------------------------------------ constants
DEBIAN_SUITE = "bookworm"  # Python 3.11 is bookworm's; qemu 7.2 (plugin API 1) too
DEBIAN_MIRROR = os.environ.get("ALBERT_EDGE_DEBIAN_MIRROR", "http://deb.debian.org/debian")
DEBIAN_SECURITY = os.environ.get("ALBERT_EDGE_DEBIAN_SECURITY", "http://deb.debian.org/debian-security")
SYSROOT_PACKAGES = ("python3.11", "libstdc++6", "libgcc-s1")
WHEEL_PLATFORM = "manylinux_2_27_aarch64"
RESERVED_VA = "0x400000000"  # qemu -R: guest memory in one reserved range, laid out by qemu alone

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

# The numerics rule, written once (also used by `python -m albert_edge.export --verify-arm`).
FLOAT_TOLERANCE = 1e-4        # fp32/fp16 compute in float32 on both sides
QUANT_STEPS = 2               # statically quantized output: within 2 steps of its scale
FLOAT_VARIANTS = ("fp32", "fp16")
BOUND_SLACK = 1e-5            # float32 rounding: two outputs exactly 2 steps apart may differ by 2 steps + 1 ulp
DEFAULT_PAIRS = 50            # quantized variants: ~0.2 s per L32 inference under emulation
FLOAT_PAIRS = 5               # float variants cost ~10x more per inference under emulation

# Linux arm64 hwcap bit names (arch/arm64/include/uapi/asm/hwcap.h), for /proc/cpuinfo "Features".
HWCAP_NAMES = ("fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma "
               "lrcpc dcpop sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs sb paca "
               "pacg").split()
HWCAP2_NAMES = ("dcpodp sve2 sveaes svepmull svebitperm svesha3 svesm4 flagm2 frint svei8mm svef32mm svef64mm "
                "svebf16 i8mm bf16 dgh rng bti mte ecv afp rpres mte3 sme smei16i64 smef64f64 smei8i32 "
                "smef16f32 smeb16f32 smef32f32 smefa64 wfxt").split()


class ArmEnvironmentError(RuntimeError):
    """Something the emulation needs is missing; the message names it and how to install it (exit 2)."""


class ArmRunError(RuntimeError):
    """A model could not be run under emulation (bad model, crash, time limit) (exit 2)."""


# ------------------------------------------------------------------------------------ CPU models
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


# ------------------------------------------------------------------------------------ the numerics rule
@dataclasses.dataclass
class Numerics:
    """Result of comparing ARM outputs with the host's for one model × signature × CPU."""
    max_abs_diff: float
    tolerance: float | None       # None: no elementwise bound for this kind of model (argmax only)
    rule: str
    argmax_agreement: float
    disagreements: int
    near_tie_flips: int
    failures: list[str]

    @property
    def ok(self) -> bool:
        return not self.failures


def tolerance_for(variant: str, output_step: float | None) -> tuple[float | None, str]:
    """The elementwise bound: 1e-4 for float variants, 2 output steps for a quantized output.

    Variants whose output is a float computed from runtime-quantized activations (dynamic_int8)
    carry no step the kernels promise to stay within: for them only argmax agreement is gated.
    """
    if output_step:
        return QUANT_STEPS * float(output_step), f"≤ {QUANT_STEPS} output steps ({QUANT_STEPS} × {output_step:.4g})"
    if variant in FLOAT_VARIANTS:
        return FLOAT_TOLERANCE, f"≤ {FLOAT_TOLERANCE:g} (float)"
    return None, "argmax only, near ties within 2 × (logit range / 255)"


def _top_classes(row: np.ndarray) -> set[int]:
    return set(np.flatnonzero(row == row.max()).tolist())


def check_numerics(host: np.ndarray, arm: np.ndarray, variant: str, output_step: float | None = None) -> Numerics:
    """The rule, written once.

    * Elementwise: max |arm − host| ≤ tolerance (:func:`tolerance_for`); NaN/inf always fail.
    * Argmax: a row agrees when the sets of maximal classes intersect, so an exact tie on either
      side is never a disagreement. A flip is a *near tie*, not a failure, when the host's top two
      logits are within 2 × tolerance of each other — two in-bound errors explain it. Variants with
      no elementwise bound (dynamic_int8) use the step an int8 output over the host's logit range
      would have, 2 × (range / 255), for that decision only; every other flip fails.
    """
    host = np.asarray(host, np.float64).reshape(len(host), -1)
    arm = np.asarray(arm, np.float64).reshape(len(arm), -1)
    if host.shape != arm.shape:
        raise ArmRunError(f"output shapes differ: host {host.shape}, arm {arm.shape}")
    tolerance, rule = tolerance_for(variant, output_step)
    failures: list[str] = []
    finite = bool(np.all(np.isfinite(arm)))
    max_diff = float(np.max(np.abs(arm - host))) if host.size and finite else (0.0 if finite else float("inf"))
    if not finite:
        failures.append("ARM outputs contain NaN or inf")
    elif tolerance is not None and max_diff > tolerance * (1 + BOUND_SLACK):
        failures.append(f"max |Δ| vs host {max_diff:.3g} > {tolerance:.3g} ({rule})")
    tie_tolerance = tolerance if tolerance is not None else QUANT_STEPS * float(np.ptp(host)) / 255.0
    disagreements = near_tie = 0
    for h, a in zip(host, arm):
        if _top_classes(h) & _top_classes(a):
            continue
        top2 = np.sort(h)[-2:] if h.size > 1 else h
        if float(top2[-1] - top2[0]) <= 2 * tie_tolerance:
            near_tie += 1
        else:
            disagreements += 1
    if disagreements:
        failures.append(f"{disagreements} of {len(host)} argmax disagreements with the host beyond near ties "
                        f"(top-2 margin > {2 * tie_tolerance:.3g})")
    agreement = 1.0 - (disagreements + near_tie) / max(len(host), 1)
    return Numerics(max_diff, tolerance, rule, agreement, disagreements, near_tie, failures)


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


def model_variant(model_path: str | os.PathLike) -> str:
    """The export variant (embedded metadata), else the longest registered variant name the file
    name ends with (`albert_tiny_dynamic_int8` is dynamic_int8, not int8)."""
    try:
        from albert_edge.runtime import read_metadata
        meta = read_metadata(model_path) or {}
    except Exception:  # noqa: BLE001 — metadata is optional; the file name still tells
        meta = {}
    if meta.get("variant"):
        return str(meta["variant"])
    stem = Path(model_path).stem
    from albert_edge.export import variants
    for known in sorted(variants.names(), key=len, reverse=True):
        if stem.endswith(known):
            return known
    return stem


@dataclasses.dataclass
class ModelPlan:
    """One model's signatures to run and their inputs (shared by host and ARM runs)."""
    path: Path
    variant: str
    signatures: list[str]
    seq_lens: dict[str, int]
    feeds: dict[str, dict[str, np.ndarray]]   # signature → input name → [N, 1, L]
    output: str
    steps: dict[str, float | None]


def plan_model(model: str | os.PathLike, seq_lens: Sequence[int] | None, pairs: Sequence[tuple[str, str]]) -> ModelPlan:
    """Signatures for ``seq_lens`` (default: the shortest one) and the tokenized pairs for each."""
    from albert_edge.benchmark.host import get_encoder, make_feeds
    from albert_edge.runtime import ModelError, load_interpreter, signature_lengths

    path = Path(model)
    try:
        interp = load_interpreter(path, 1)
    except ModelError as err:
        raise ArmRunError(str(err)) from None
    lengths = signature_lengths(interp)
    if not lengths or "" in lengths.values():
        raise ArmRunError(f"{path}: no length signatures (L32, L64 …) with an 'input_ids' input; "
                          "is this an albert_edge export?")
    wanted = list(seq_lens) if seq_lens else [min(lengths)]
    missing = [L for L in wanted if L not in lengths]
    if missing:
        raise ArmRunError(f"{path}: no signature for length(s) {missing}; it has {sorted(lengths)}")
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
    return ModelPlan(path, model_variant(path), signatures, {lengths[L]: L for L in wanted}, feeds, output,
                     output_quant_steps(path, output))


def host_outputs(plan: ModelPlan) -> dict[str, np.ndarray]:
    """The x86 reference: the same feeds through LiteRT on this machine, one thread."""
    from albert_edge.runtime import load_interpreter

    interp = load_interpreter(plan.path, 1)
    result = {}
    for key in plan.signatures:
        runner = interp.get_signature_runner(key)
        feeds = plan.feeds[key]
        count = len(next(iter(feeds.values())))
        result[key] = np.stack([runner(**{n: v[i] for n, v in feeds.items()})[plan.output] for i in range(count)])
    return result


# ------------------------------------------------------------------------------------ environment
def default_cache_dir() -> Path:
    """``$ALBERT_EDGE_ARM_CACHE``, else ``$XDG_CACHE_HOME/albert_edge/arm``, else ``~/.cache/albert_edge/arm``."""
    if os.environ.get("ALBERT_EDGE_ARM_CACHE"):
        return Path(os.environ["ALBERT_EDGE_ARM_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "albert_edge" / "arm"


@dataclasses.dataclass
class ArmEnv:
    """Everything a run needs, all inside the cache folder."""
    cache: Path
    qemu: str
    qemu_version: str
    sysroot: Path
    site: Path
    plugin: Path
    litert_version: str
    probes: dict[str, dict]
    setarch: str | None


INSTALL_HINT = ("on Debian/Ubuntu as root: apt-get install qemu-user gcc libc6-dev xz-utils "
                "(or `make arm-deps`)")


def _which(name: str, what: str) -> str:
    found = shutil.which(name)
    if not found:
        raise ArmEnvironmentError(f"{name} not found ({what}); {INSTALL_HINT}")
    return found


def _run(cmd: Sequence[str], what: str, timeout: float = 900, **kw) -> subprocess.CompletedProcess:
    """Run a setup command; a failure becomes ArmEnvironmentError with its last stderr lines."""
    log.debug("$ %s", " ".join(map(str, cmd)))
    try:
        proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kw)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ArmEnvironmentError(f"{what} failed: {err}") from None
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-6:])
        raise ArmEnvironmentError(f"{what} failed (exit {proc.returncode}):\n{tail}")
    return proc


@contextlib.contextmanager
def _locked(cache: Path) -> Iterator[None]:
    """One setup at a time per cache (two test sessions must not unpack into the same folder)."""
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _fresh(folder: Path, stamp: str) -> bool:
    marker = folder / ".complete"
    return marker.is_file() and marker.read_text() == stamp


def _publish(tmp: Path, final: Path, stamp: str) -> None:
    """Move a fully built folder into place (a killed setup never leaves a half folder behind)."""
    (tmp / ".complete").write_text(stamp)
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)


def _apt_config(cache: Path, arch: str, lines: Sequence[str]) -> dict[str, str]:
    """A private apt: own sources, lists, archive cache and an empty dpkg status (downloads only)."""
    root = cache / f"apt-{arch}"
    for sub in ("lists/partial", "archives/partial", "state"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "state" / "status").touch()
    (root / "sources.list").write_text("\n".join(lines) + "\n")
    conf = [
        f'APT::Architecture "{arch}";', f'APT::Architectures {{ "{arch}"; }};',
        f'Dir::Etc::SourceList "{root}/sources.list";', 'Dir::Etc::SourceParts "/dev/null";',
        'Dir::Etc::Preferences "/dev/null";', 'Dir::Etc::PreferencesParts "/dev/null";',
        f'Dir::State "{root}/state";', f'Dir::State::Lists "{root}/lists";',
        f'Dir::State::status "{root}/state/status";', f'Dir::Cache "{root}";',
        f'Dir::Cache::archives "{root}/archives";', 'Debug::NoLocking "true";',
        'APT::Install-Recommends "false";', 'APT::Get::AllowUnauthenticated "false";',
    ]
    if os.geteuid() == 0:
        conf.append('APT::Sandbox::User "root";')
    (root / "apt.conf").write_text("\n".join(conf) + "\n")
    env = dict(os.environ, APT_CONFIG=str(root / "apt.conf"), DEBIAN_FRONTEND="noninteractive")
    return env


def ensure_sysroot(cache: Path) -> Path:
    """Debian arm64 python3.11 + libstdc++ unpacked into ``cache/sysroot`` (75 MB, ~40 debs)."""
    final = cache / "sysroot"
    stamp = f"{DEBIAN_SUITE} {' '.join(SYSROOT_PACKAGES)}"
    if _fresh(final, stamp):
        return final
    apt, dpkg = _which("apt-get", "Debian's package tool"), _which("dpkg-deb", "Debian's package tool")
    env = _apt_config(cache, "arm64", [
        f"deb [arch=arm64] {DEBIAN_MIRROR} {DEBIAN_SUITE} main",
        f"deb [arch=arm64] {DEBIAN_MIRROR} {DEBIAN_SUITE}-updates main",
        f"deb [arch=arm64] {DEBIAN_SECURITY} {DEBIAN_SUITE}-security main",
    ])
    log.info("downloading Debian %s arm64 %s (once, into %s)", DEBIAN_SUITE, ", ".join(SYSROOT_PACKAGES), cache)
    _run([apt, "-qq", "update"], "apt-get update (arm64 lists)", env=env)
    _run([apt, "-qq", "-y", "-d", "install", *SYSROOT_PACKAGES], "apt-get download of the arm64 userland", env=env)
    debs = sorted((cache / "apt-arm64" / "archives").glob("*.deb"))
    tmp = Path(tempfile.mkdtemp(prefix=".sysroot.", dir=cache))
    try:
        for deb in debs:
            _run([dpkg, "-x", deb, tmp], f"dpkg-deb -x {deb.name}")
        if not (tmp / "usr" / "bin" / "python3.11").exists():
            raise ArmEnvironmentError(f"the arm64 debs in {cache}/apt-arm64 hold no usr/bin/python3.11")
        _publish(tmp, final, stamp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _host_version(dist: str) -> str:
    from importlib import metadata
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        raise ArmEnvironmentError(f"{dist} is not installed on the host; pip install {dist}") from None


def ensure_site(cache: Path, sysroot: Path) -> tuple[Path, str]:
    """PyPI's aarch64 wheels of the host's own ai-edge-litert and numpy versions, unzipped into
    ``sysroot/opt/albert_edge/`` (a real folder inside the guest's root: see :func:`guest_root`).

    The same LiteRT version on both sides: a difference must come from the kernels, not a release.
    """
    litert, numpy_version = _host_version("ai-edge-litert"), _host_version("numpy")
    final = sysroot / "opt" / "albert_edge" / f"site-litert{litert}-numpy{numpy_version}"
    stamp = f"{WHEEL_PLATFORM} ai-edge-litert=={litert} numpy=={numpy_version}"
    if _fresh(final, stamp):
        return final, litert
    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    log.info("downloading aarch64 wheels ai-edge-litert==%s numpy==%s", litert, numpy_version)
    _run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
          "--platform", WHEEL_PLATFORM, "--python-version", "3.11", "--implementation", "cp",
          "-d", wheels, f"ai-edge-litert=={litert}", f"numpy=={numpy_version}"], "pip download of aarch64 wheels")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".site.", dir=final.parent))
    try:
        for name, version in (("ai_edge_litert", litert), ("numpy", numpy_version)):
            found = sorted(wheels.glob(f"{name}-{version}-*aarch64*.whl"))
            if not found:
                raise ArmEnvironmentError(f"no aarch64 wheel of {name} {version} in {wheels}")
            with zipfile.ZipFile(found[-1]) as archive:
                archive.extractall(tmp)
        _publish(tmp, final, stamp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final, litert


def qemu_version(qemu: str) -> str:
    proc = _run([qemu, "--version"], "qemu-aarch64 --version")
    match = re.search(r"version (\d+\.\d+(?:\.\d+)?)", proc.stdout)
    if not match:
        raise ArmEnvironmentError(f"cannot read the version of {qemu}: {proc.stdout.strip()[:80]}")
    return match.group(1)


def find_plugin_header(cache: Path, version: str) -> Path:
    """``qemu-plugin.h`` for the installed qemu: a system copy, else Debian's qemu source package.

    Debian ships no plugin header in a binary package; ``apt-get source --download-only qemu``
    (a private apt config with a deb-src line) fetches the 24 MB source tarball once, and only
    the header is kept.
    """
    for candidate in (os.environ.get("QEMU_PLUGIN_HEADER"), "/usr/include/qemu-plugin.h",
                      "/usr/local/include/qemu-plugin.h", "/usr/include/qemu/qemu-plugin.h"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    major_minor = ".".join(version.split(".")[:2])
    header = cache / "qemu-src" / major_minor / "qemu-plugin.h"
    if header.is_file():
        return header
    apt = _which("apt-get", "Debian's package tool (for qemu's source package)")
    env = _apt_config(cache, "amd64", [f"deb-src {DEBIAN_MIRROR} {DEBIAN_SUITE} main",
                                       f"deb-src {DEBIAN_MIRROR} {DEBIAN_SUITE}-updates main"])
    work = cache / "qemu-src"
    work.mkdir(parents=True, exist_ok=True)
    log.info("downloading Debian's qemu source package for qemu-plugin.h (once)")
    _run([apt, "-qq", "update"], "apt-get update (deb-src lists)", env=env)
    tmp = Path(tempfile.mkdtemp(prefix=".src.", dir=work))
    try:
        _run([apt, "-qq", "source", "--download-only", "qemu"], "apt-get source --download-only qemu", env=env, cwd=tmp)
        tarballs = sorted(tmp.glob("qemu_*.orig.tar.*"))
        if not tarballs:
            raise ArmEnvironmentError(f"apt-get source qemu left no orig tarball in {tmp}")
        upstream = re.match(r"qemu_(\d+\.\d+)", tarballs[0].name)
        if upstream and upstream.group(1) != major_minor:
            raise ArmEnvironmentError(
                f"Debian {DEBIAN_SUITE}'s qemu source is {upstream.group(1)} but qemu-aarch64 is {version}: "
                "set QEMU_PLUGIN_HEADER=/path/to/qemu-plugin.h of your qemu version")
        _run(["tar", "-xf", tarballs[0], "-C", tmp, "--wildcards", "*/include/qemu/qemu-plugin.h"],
             "extracting qemu-plugin.h")
        extracted = next(tmp.glob("*/include/qemu/qemu-plugin.h"))
        atomic_write_bytes(header, extracted.read_bytes())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return header


def ensure_plugin(cache: Path, version: str) -> Path:
    """Build ``insn_count.so`` (rebuilt when the source, header or qemu version change)."""
    header = find_plugin_header(cache, version)
    source = PLUGIN_SOURCE.read_bytes()
    digest = hashlib.sha256(source + header.read_bytes() + version.encode()).hexdigest()[:12]
    final = cache / "plugin" / f"insn_count-{digest}.so"
    if final.is_file():
        return final
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if not cc:
        raise ArmEnvironmentError(f"no C compiler (cc/gcc) to build the counting plugin; {INSTALL_HINT}")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    try:
        _run([cc, "-shared", "-fPIC", "-O2", "-Wall", "-I", header.parent, "-o", tmp, PLUGIN_SOURCE],
             "building the qemu plugin")
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


# What LiteRT's cpuinfo reads from /sys: without these the guest reads the *host's* files (its CPU
# count, its x86 cache sizes), and kernel choices or tiling could follow the CI machine. One CPU
# with a Cortex-A76-like 512 KiB L2, the same for every emulated model and every host.
GUEST_CPUS = 1
GUEST_SYS_FILES = {
    "sys/devices/system/cpu/possible": "0\n",
    "sys/devices/system/cpu/present": "0\n",
    "sys/devices/system/cpu/online": "0\n",
    "sys/devices/system/cpu/kernel_max": "0\n",
    "sys/devices/system/cpu/cpu0/topology/physical_package_id": "0\n",
    "sys/devices/system/cpu/cpu0/topology/cluster_cpus_list": "0\n",
    "sys/devices/system/cpu/cpu0/topology/core_siblings_list": "0\n",
    "sys/devices/system/cpu/cpu0/topology/thread_siblings_list": "0\n",
    "sys/devices/system/cpu/cpu0/cache/index2/level": "2\n",
    "sys/devices/system/cpu/cpu0/cache/index2/size": "512K\n",
    "sys/devices/system/cpu/cpu0/cache/index2/shared_cpu_list": "0\n",
}


def _guest_env() -> dict[str, str]:
    """A fixed environment: the guest's stack, heap and hashes must not depend on the caller's."""
    return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}


@contextlib.contextmanager
def guest_root(env: ArmEnv, cpu: str) -> Iterator[Path]:
    """The ``-L`` root of one run: the sysroot itself, given this CPU's cpuinfo, /sys and a ``/stage``.

    Runs take turns (a lock per cache). The root holds real folders, not symlinks into the cache:
    the guest Python resolves its own path with realpath(), and a symlink would put the cache
    folder's name into ``sys.path`` — moving the heap, and the instruction count, from one machine
    to the next. So the guest sees only canonical paths (``/usr/bin/python3.11``,
    ``/opt/albert_edge/site-…``, ``/stage/…``).
    """
    root = env.sysroot
    with open(env.cache / ".run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stage = root / "stage"
        try:
            shutil.rmtree(stage, ignore_errors=True)
            stage.mkdir()
            (root / "proc").mkdir(exist_ok=True)
            (root / "proc" / "cpuinfo").unlink(missing_ok=True)
            if cpu in env.probes:
                (root / "proc" / "cpuinfo").write_text(cpuinfo_text(env.probes[cpu], GUEST_CPUS))
            for rel, text in GUEST_SYS_FILES.items():
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_text(text)
            shutil.copyfile(GUEST_SCRIPT, stage / "arm_guest.py")
            yield root
        finally:
            shutil.rmtree(stage, ignore_errors=True)
            fcntl.flock(lock, fcntl.LOCK_UN)


def qemu_command(env: ArmEnv, cpu: str, root: Path, guest_args: Sequence[str], counts: Path | None) -> list[str]:
    cmd = [env.setarch, "-R"] if env.setarch else []   # no host ASLR: one memory layout every run
    cmd += [env.qemu, "-R", RESERVED_VA, "-cpu", cpu, "-L", str(root), "-0", "/usr/bin/python3.11"]
    if counts is not None:
        cmd += ["-plugin", f"{env.plugin},out={counts}"]
    # -s -S -P isolate the guest Python from user site, site-packages and the script folder; not -I,
    # which implies -E and would drop PYTHONHASHSEED: random string hashes move each run's count.
    # The program path is relative (the command runs in ``root``): qemu copies it onto the guest's
    # stack (AT_EXECFN), and this keeps the cache folder's name off it.
    cmd += ["usr/bin/python3.11", "-s", "-S", "-P", "/stage/arm_guest.py",
            "--site", f"/opt/albert_edge/{env.site.name}", *guest_args]
    return cmd


def probe_cpu(env: ArmEnv, cpu: str) -> dict:
    """hwcaps + MIDR of the emulated CPU (cached): the source of its /proc/cpuinfo."""
    path = env.cache / "cpus" / f"{cpu_slug(cpu)}.json"
    if path.is_file():
        return json.loads(path.read_text())
    with guest_root(env, cpu) as root:
        proc = subprocess.run(qemu_command(env, cpu, root, ["--probe"], None), capture_output=True, text=True,
                              timeout=300, env=_guest_env(), cwd=root)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-3:])
        raise ArmEnvironmentError(f"qemu-aarch64 -cpu {cpu} cannot run the aarch64 Python (exit {proc.returncode}):"
                                  f"\n{tail}\n(is {cpu!r} a CPU model of this qemu? `qemu-aarch64 -cpu help`)")
    probe = json.loads(proc.stdout.strip().splitlines()[-1])
    atomic_write_json(path, probe)
    return probe


def prepare(cpus: Sequence[str], cache: str | os.PathLike | None = None, allow_sme: bool = False) -> ArmEnv:
    """Check tools, then download/build what is missing (cached), probe each CPU model."""
    for cpu in cpus:
        check_cpu_allowed(cpu, None, allow_sme)
    qemu = shutil.which("qemu-aarch64")
    if not qemu:
        raise ArmEnvironmentError(f"qemu-aarch64 not found (Debian's qemu-user; qemu-user-static cannot load "
                                  f"plugins); {INSTALL_HINT}")
    version = qemu_version(qemu)
    cache_dir = Path(cache) if cache else default_cache_dir()
    with _locked(cache_dir):
        sysroot = ensure_sysroot(cache_dir)
        site, litert = ensure_site(cache_dir, sysroot)
        plugin = ensure_plugin(cache_dir, version)
        setarch = shutil.which("setarch")
        if not setarch:
            log.warning("setarch (util-linux) not found: host address randomisation may move instruction "
                        "counts by a few hundred between runs")
        env = ArmEnv(cache_dir, qemu, version, sysroot, site, plugin, litert, {}, setarch)
        for cpu in cpus:
            env.probes[cpu] = probe_cpu(env, cpu)
            check_cpu_allowed(cpu, env.probes[cpu], allow_sme)
    return env


# ------------------------------------------------------------------------------------ running
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
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=_guest_env(), cwd=root)
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


def make_row(env: ArmEnv, cpu: str, plan: ModelPlan, sig: str, host: np.ndarray, guest: GuestResult) -> dict:
    """One result row in the harness's common schema, plus counts and numerics."""
    per_input = guest.counts[sig]
    totals = [c["total"] for c in per_input]
    classes = {name: int(statistics.median_low([c[name] for c in per_input]))
               for name in per_input[0] if name not in ("total", "vcpus")}
    numerics = check_numerics(host, guest.outputs[sig], plan.variant, plan.steps.get(sig))
    probe = env.probes.get(cpu, {})
    return {
        "device": device_name(cpu), "device_model": device_name(cpu), "source": "qemu", "cpu": cpu,
        "model": str(plan.path), "variant": plan.variant, "signature": sig, "seq_len": plan.seq_lens[sig],
        "delegate": "cpu", "threads": 1, "status": "ok",
        "instructions": int(statistics.median_low(totals)),
        "instructions_min": int(min(totals)), "instructions_max": int(max(totals)),
        "instruction_classes": classes,
        "n_pairs": len(totals),
        "max_abs_diff_vs_host": numerics.max_abs_diff, "tolerance": numerics.tolerance, "rule": numerics.rule,
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
    """The first `limit` pairs of `path` (default: the bundled LCQMC calibration pairs), as the host
    benchmark reads them, so both runs feed the same sentences."""
    from albert_edge.benchmark.host import HostBenchmarkError, load_pairs
    try:
        return load_pairs(path or resources.LCQMC_CALIBRATION, limit=limit)
    except HostBenchmarkError as err:
        raise ArmRunError(str(err)) from None
    except OSError as err:
        raise ArmRunError(f"--pairs-file {path}: {err.strerror or err}") from None


def run_arm(models: Sequence[str | os.PathLike], cpus: Sequence[str] = DEFAULT_CPUS,
            seq_lens: Sequence[int] | None = None, pairs: int = DEFAULT_PAIRS, float_pairs: int | None = FLOAT_PAIRS,
            pairs_file: str | None = None, cache: str | os.PathLike | None = None, allow_sme: bool = False,
            timeout_s: float = 3600.0, progress: bool = True, env: ArmEnv | None = None) -> list[dict]:
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
                variant = model_variant(model)
                n = min(pairs, float_pairs) if (float_pairs and variant in FLOAT_VARIANTS) else pairs
                plan = plan_model(model, seq_lens, texts[:n])
                plans[str(model)] = (plan, host_outputs(plan))
            plan, host = plans[str(model)]
            bar.set_postfix_str(f"{plan.path.name} {cpu}")
            guest = run_guest(env, cpu, plan, timeout_s)
            for sig in plan.signatures:
                row = make_row(env, cpu, plan, sig, host[sig], guest)
                log.info("%s %s %s: %d instructions, max|Δ| %.3g, numerics %s", cpu, plan.variant, sig,
                         row["instructions"], row["max_abs_diff_vs_host"], "ok" if row["numerics_ok"] else "FAILED")
                rows.append(row)
            bar.update()
    return rows


def gate_failures(rows: Sequence[dict]) -> list[str]:
    """Named numerics failures of all rows (empty when every row is within the rule)."""
    return [f"arm numerics {r['device']} {r['variant']} {r['signature']}: {'; '.join(r['numerics_failures'])}"
            for r in rows if not r.get("numerics_ok", True)]


# ------------------------------------------------------------------------------------ reporting
REPORT_CLASSES = ("dot", "mmla", "mlal", "fmla", "simd_fp")


def markdown_table(rows: Sequence[dict]) -> str:
    header = ["device", "variant", "signature", "pairs", "instructions / inference", "M", *REPORT_CLASSES,
              "max \\|Δ\\| vs x86", "bound", "argmax agree", "emulated ms", "numerics"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * 3 + "---:|" * (len(header) - 4) + "---|"]
    for r in rows:
        classes = r.get("instruction_classes", {})
        lines.append("| " + " | ".join([
            r["device"], r["variant"], r["signature"], str(r["n_pairs"]), f"{r['instructions']:,}",
            f"{r['instructions'] / 1e6:.2f}", *(f"{classes.get(c, 0) / 1e6:.2f}" for c in REPORT_CLASSES),
            f"{r['max_abs_diff_vs_host']:.2e}", f"{r['tolerance']:.2e}" if r.get("tolerance") else "argmax",
            f"{r['argmax_agreement']:.3f}", f"{r['emulated_ms_median']:.0f}",
            "ok" if r["numerics_ok"] else "FAILED"]) + " |")
    return "\n".join(lines) + "\n"


def plot_instructions(rows: Sequence[dict], path: str | os.PathLike) -> Path | None:
    """Grouped bars: x = variant × signature, one bar per emulated CPU (millions of instructions)."""
    if not rows:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = sorted({(r["variant"], r["seq_len"]) for r in rows}, key=lambda g: (g[1], g[0]))
    devices = sorted({r["device"] for r in rows})
    width = 0.8 / len(devices)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(groups) + 2), 4.5))
    for i, device in enumerate(devices):
        xs, ys = [], []
        for j, (variant, L) in enumerate(groups):
            match = [r["instructions"] for r in rows if r["device"] == device and r["variant"] == variant and r["seq_len"] == L]
            if match:
                xs.append(j + (i - (len(devices) - 1) / 2) * width)
                ys.append(match[0] / 1e6)
        ax.bar(xs, ys, width=width, label=device)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"{v}\nL{L}" for v, L in groups], fontsize=8)
    ax.set_ylabel("million instructions per inference")
    ax.set_yscale("log")
    ax.set_title("ALBERT-tiny on aarch64 LiteRT kernels (qemu-user, 1 thread)")
    ax.legend(fontsize=8)
    from albert_edge.benchmark.report import save_figure
    return save_figure(fig, path)


# ------------------------------------------------------------------------------------ CLI
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", action="append", default=[], metavar="M",
                        help=".tflite file; repeat for several (e.g. --model a_int8.tflite --model a_fp32.tflite)")
    parser.add_argument("--cpu", default=",".join(DEFAULT_CPUS),
                        help="qemu CPU models, comma-separated (default cortex-a76); "
                             + "; ".join(f"{k}: {v}" for k, v in CPU_MODELS.items()))
    parser.add_argument("--seq-len", type=csv_of(positive_int, "positive integers"),
                        help="signature lengths to run, e.g. 32,128 (default: the shortest)")
    parser.add_argument("--pairs", type=positive_int, default=DEFAULT_PAIRS,
                        help=f"sentence pairs per signature (default {DEFAULT_PAIRS})")
    parser.add_argument("--float-pairs", type=positive_int, default=FLOAT_PAIRS,
                        help=f"at most this many pairs for fp32/fp16, ~10x slower to emulate (default {FLOAT_PAIRS})")
    parser.add_argument("--pairs-file", help="a<TAB>b[<TAB>label] lines (default: bundled LCQMC calibration pairs)")
    parser.add_argument("--json", dest="json_out", metavar="OUT", help="write the rows (JSON list) to OUT")
    parser.add_argument("--markdown", metavar="OUT", help="write a Markdown table to OUT")
    parser.add_argument("--plot", metavar="OUT.png", help="write a bar chart of instruction counts")
    parser.add_argument("--cache-dir", help=f"userland, wheels and plugin (default {default_cache_dir()})")
    parser.add_argument("--allow-sme", action="store_true",
                        help="run CPU models that advertise SME anyway (results under qemu 7.2 are garbage)")
    parser.add_argument("--timeout-s", type=nonnegative_float, default=3600.0, help="time limit per model × CPU run (default 3600)")
    parser.add_argument("--setup-only", action="store_true", help="prepare the cache and exit")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    try:
        for flag, path in (("--json", args.json_out), ("--markdown", args.markdown), ("--plot", args.plot)):
            if path:
                check_writable_file(path, flag)
        if not args.model and not args.setup_only:
            raise ValueError("give at least one --model M.tflite (or --setup-only)")
        cpus = parse_cpu_list(args.cpu)
        env = prepare(cpus, args.cache_dir, args.allow_sme)
        if args.setup_only:
            print(f"ready: {env.cache} (qemu {env.qemu_version}, ai-edge-litert {env.litert_version}, "
                  f"plugin {env.plugin.name})")
            return 0
        rows = run_arm(args.model, cpus, args.seq_len, args.pairs, args.float_pairs, args.pairs_file,
                       allow_sme=args.allow_sme, timeout_s=args.timeout_s, progress=not args.no_progress, env=env)
    except (ArmEnvironmentError, ArmRunError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json_out:
        atomic_write_json(args.json_out, rows)
    table = markdown_table(rows)
    if args.markdown:
        atomic_write_text(args.markdown, table)
    if args.plot:
        plot_instructions(rows, args.plot)
    print(table, end="")
    failures = gate_failures(rows)
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    from albert_edge.benchmark.__main__ import main as benchmark_main
    return benchmark_main(["arm", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
