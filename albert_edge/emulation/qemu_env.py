"""Provisioning the phone's aarch64 userland for qemu-user, once, in a user cache folder.

Debian's ``qemu-user`` runs Debian's own aarch64 Python 3.11 (``dpkg -x`` of the arm64 debs into a
folder — no chroot, no binfmt) with PyPI's aarch64 wheels of the host's own ``ai-edge-litert`` and
``numpy`` versions, an ARM ``/proc/cpuinfo`` per emulated CPU (LiteRT's cpuinfo crashes on the
host's x86 one) and a TCG plugin that counts guest instructions (``qemu_plugin/insn_count.c``,
built with the system C compiler against the ``qemu-plugin.h`` of Debian's qemu source package).
What it takes to make instruction counts exact run to run is in :func:`guest_root`,
:func:`qemu_command` and :func:`guest_env`.
"""
from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Iterator, Sequence

from albert_edge.emulation.errors import ArmEnvironmentError
from albert_edge.emulation.qemu_cpus import check_cpu_allowed, cpu_slug, cpuinfo_text
from albert_edge.fileio import write_bytes_atomic, write_text_atomic

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
PLUGIN_SOURCE = PACKAGE_DIR / "qemu_plugin" / "insn_count.c"
GUEST_SCRIPT = PACKAGE_DIR / "arm_guest.py"

DEBIAN_SUITE = "bookworm"  # Python 3.11 is bookworm's; qemu 7.2 (plugin API 1) too
DEBIAN_MIRROR = os.environ.get("ALBERT_EDGE_DEBIAN_MIRROR", "http://deb.debian.org/debian")
DEBIAN_SECURITY = os.environ.get("ALBERT_EDGE_DEBIAN_SECURITY", "http://deb.debian.org/debian-security")
SYSROOT_PACKAGES = ("python3.11", "libstdc++6", "libgcc-s1")
WHEEL_PLATFORM = "manylinux_2_27_aarch64"
RESERVED_VA = "0x400000000"  # qemu -R: guest memory in one reserved range, laid out by qemu alone

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
        write_bytes_atomic(header, extracted.read_bytes())
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


def guest_env() -> dict[str, str]:
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
                              timeout=300, env=guest_env(), cwd=root)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-3:])
        raise ArmEnvironmentError(f"qemu-aarch64 -cpu {cpu} cannot run the aarch64 Python (exit {proc.returncode}):"
                                  f"\n{tail}\n(is {cpu!r} a CPU model of this qemu? `qemu-aarch64 -cpu help`)")
    probe = json.loads(proc.stdout.strip().splitlines()[-1])
    write_text_atomic(path, json.dumps(probe) + "\n")
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

