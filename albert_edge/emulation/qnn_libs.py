"""Finding Qualcomm's libraries on this host: the compiler plugin's QNN SDK and the HTP emulator.

Nothing Qualcomm-licensed is in this repository or shipped with the kit: pip installs it
(``pip install -e ".[npu]"`` / ``make npu-deps``). The route, measured (README, Snapdragon):

* LiteRT's AOT tool and Qualcomm compiler plugin come with ``ai-edge-litert``
  (``ai_edge_litert/tools/apply_plugin_main``, ``vendors/qualcomm/compiler``);
* the QNN libraries the plugin loads (``libQnnHtp.so``, ``libHtpPrepare.so``, ``libQnnSystem.so``
  …, QNN 2.51 for x86_64 Linux) come with ``onnxruntime-qnn``, whose QNN execution provider is
  also the HTP emulator;
* the plugin also links ``libQnnLpai.so``, absent from that wheel, without taking a symbol from
  it: an empty shared object built by ``make npu-deps`` (``cc -shared``) into ``.tools/qnn/``
  satisfies the loader.

A user with Qualcomm's QAIRT SDK points the kit at it with ``--qnn-sdk DIR`` or ``$QNN_SDK_ROOT``
(its ``lib/x86_64-linux-clang`` folder is used).
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from albert_edge.emulation.errors import NpuEnvironmentError

REQUIRED = ("libQnnHtp.so", "libHtpPrepare.so", "libQnnSystem.so")
LPAI = "libQnnLpai.so"
STUB_DIR_ENV = "ALBERT_EDGE_QNN_STUB_DIR"
SDK_ENV = "QNN_SDK_ROOT"
INSTALL_HINT = ('install them with `make npu-deps` (pip install -e ".[npu]": onnxruntime-qnn==2.7.0, plus an '
                "empty libQnnLpai.so built with cc into .tools/qnn/), or point --qnn-sdk / $QNN_SDK_ROOT at "
                "Qualcomm's QAIRT SDK")


@dataclasses.dataclass(frozen=True)
class QnnLibraries:
    """Where everything the compiler and the emulator load lives on this host."""
    lib_dirs: tuple[Path, ...]       # on LD_LIBRARY_PATH for the compiler, first wins
    htp_backend: Path                # libQnnHtp.so for the emulator
    source: str                      # "onnxruntime-qnn 2.7.0" or "QAIRT /opt/qairt"
    apply_plugin: Path               # LiteRT's AOT tool
    plugin_dir: Path                 # libLiteRtCompilerPlugin_Qualcomm.so's folder

    def ld_library_path(self) -> str:
        current = os.environ.get("LD_LIBRARY_PATH", "")
        return os.pathsep.join([*map(str, self.lib_dirs), self.plugin_dir.as_posix(), *([current] if current else [])])


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def default_stub_dir() -> Path:
    """Where ``make npu-deps`` builds the empty ``libQnnLpai.so`` (ignored by git)."""
    return Path(os.environ.get(STUB_DIR_ENV) or repo_root() / ".tools" / "qnn")


def _litert_tools() -> tuple[Path, Path]:
    try:
        import ai_edge_litert
    except ImportError:
        raise NpuEnvironmentError(f"ai-edge-litert is not installed; {INSTALL_HINT}") from None
    root = Path(ai_edge_litert.__file__).resolve().parent
    tool = root / "tools" / "apply_plugin_main"
    plugin_dir = root / "vendors" / "qualcomm" / "compiler"
    if not tool.is_file() or not (plugin_dir / "libLiteRtCompilerPlugin_Qualcomm.so").is_file():
        raise NpuEnvironmentError(f"this ai-edge-litert ({root}) has no AOT tool or Qualcomm compiler plugin "
                                  "(ai-edge-litert 2.3.0 for x86_64 Linux has both)")
    return tool, plugin_dir


def find(qnn_sdk: str | os.PathLike | None = None) -> QnnLibraries:
    """The libraries to use: ``qnn_sdk`` / ``$QNN_SDK_ROOT`` if given, else onnxruntime-qnn's.

    Raises NpuEnvironmentError naming what is missing and how to install it.
    """
    tool, plugin_dir = _litert_tools()
    sdk = qnn_sdk or os.environ.get(SDK_ENV)
    if sdk:
        root = Path(sdk)
        lib = root / "lib" / "x86_64-linux-clang"
        lib = lib if lib.is_dir() else root
        missing = [name for name in (*REQUIRED, LPAI) if not (lib / name).is_file()]
        if missing:
            raise NpuEnvironmentError(f"--qnn-sdk {sdk}: no {', '.join(missing)} in {lib} (expected QAIRT's "
                                      "lib/x86_64-linux-clang)")
        return QnnLibraries((lib,), lib / "libQnnHtp.so", f"QAIRT {root}", tool, plugin_dir)
    try:
        import onnxruntime_qnn
    except ImportError:
        raise NpuEnvironmentError(f"no Qualcomm QNN libraries: onnxruntime-qnn is not installed; {INSTALL_HINT}") from None
    lib = Path(onnxruntime_qnn.get_qnn_htp_path()).parent
    missing = [name for name in REQUIRED if not (lib / name).is_file()]
    if missing:
        raise NpuEnvironmentError(f"onnxruntime-qnn at {lib} lacks {', '.join(missing)}; {INSTALL_HINT}")
    stub = default_stub_dir()
    if not (lib / LPAI).is_file() and not (stub / LPAI).is_file():
        raise NpuEnvironmentError(f"{LPAI} not found in {stub} (the compiler plugin links it); {INSTALL_HINT}")
    version = getattr(onnxruntime_qnn, "__version__", "?")
    return QnnLibraries((lib, stub), lib / "libQnnHtp.so", f"onnxruntime-qnn {version}", tool, plugin_dir)
