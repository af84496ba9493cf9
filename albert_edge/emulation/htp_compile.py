"""Ahead-of-time compilation of a ``.tflite`` for a Snapdragon's Hexagon NPU (HTP).

LiteRT's own AOT tool (``apply_plugin_main --cmd=apply``, what ``ai_edge_litert.aot.aot_compile``
runs) with Qualcomm's compiler plugin partitions each signature's subgraph, compiles the
partitions with QNN's HTP compiler into one QNN context binary and writes a ``.tflite`` whose
signatures each call one ``DISPATCH_OP`` into it. Why the tool and not the Python wrapper: the
wrapper hides the tool's exit status and log in a temporary file and offers no time limit; here a
failure carries the tool's own last lines.

What is read, per signature, from the *compiled file itself* (not only the tool's log): the ops
left outside a DISPATCH op, which run on the CPU — a gate failure for the export (``export/npu.py``),
named op by op.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Sequence

from albert_edge.emulation.errors import NpuEnvironmentError, NpuRunError
from albert_edge.emulation.qnn_libs import QnnLibraries
from albert_edge.emulation.socs import Soc

log = logging.getLogger(__name__)

DISPATCH = "DISPATCH_OP"
PARTITION_STATS = re.compile(r"Partitioned subgraph<(\d+)>, selected (\d+) ops, from a total of (\d+) ops\. "
                             r"resulted in (\d+) partitions\.")
DEFAULT_TIMEOUT_S = 1800.0


@dataclasses.dataclass
class SignatureCompile:
    signature: str
    ops_on_npu: int
    ops_total: int
    partitions: int
    cpu_ops: list[str]         # builtin names of ops left on the CPU in the compiled file

    @property
    def fully_on_npu(self) -> bool:
        return not self.cpu_ops and self.ops_on_npu == self.ops_total


@dataclasses.dataclass
class CompileResult:
    soc: str
    source: Path
    output: Path
    seconds: float
    size_bytes: int
    signatures: list[SignatureCompile]
    libraries: str


def _schema():
    from ai_edge_litert import schema_py_generated as schema
    return schema


def _op_names(model) -> list[str]:
    schema = _schema()
    by_code = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    names = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        custom = code.CustomCode()
        names.append(custom.decode() if custom else by_code.get(builtin, str(builtin)))
    return names


def signature_ops(path: str | os.PathLike) -> dict[str, list[str]]:
    """{signature: op names of its subgraph, in order} from a ``.tflite`` flatbuffer."""
    schema = _schema()
    data = Path(path).read_bytes()
    try:
        model = schema.Model.GetRootAs(data, 0)
        names = _op_names(model)
        result = {}
        for s in range(model.SignatureDefsLength()):
            sig = model.SignatureDefs(s)
            sub = model.Subgraphs(sig.SubgraphIndex())
            result[sig.SignatureKey().decode()] = [names[sub.Operators(o).OpcodeIndex()]
                                                   for o in range(sub.OperatorsLength())]
    except Exception as err:  # noqa: BLE001 — any flatbuffer decoding error means "not a model"
        raise NpuRunError(f"{path}: not a readable .tflite ({type(err).__name__}: {err})") from None
    return result


def signature_subgraphs(path: str | os.PathLike) -> dict[int, str]:
    schema = _schema()
    model = schema.Model.GetRootAs(Path(path).read_bytes(), 0)
    return {model.SignatureDefs(s).SubgraphIndex(): model.SignatureDefs(s).SignatureKey().decode()
            for s in range(model.SignatureDefsLength())}


def compile_model(source: str | os.PathLike, soc: Soc, libs: QnnLibraries, output: str | os.PathLike,
                  timeout_s: float = DEFAULT_TIMEOUT_S, extra_flags: Sequence[str] = ()) -> CompileResult:
    """Compile ``source`` for ``soc`` into ``output`` (written atomically: a temporary beside it, then
    renamed; a failed or killed compile leaves no file under the final name).

    Raises NpuRunError when the tool fails (its last log lines in the message).
    """
    source, output = Path(source), Path(output)
    ops_before = signature_ops(source)          # an unreadable source fails before anything is written
    subgraph_names = signature_subgraphs(source)
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    cmd = [str(libs.apply_plugin), "--cmd=apply", f"--model={source}", f"--o={tmp}",
           "--soc_manufacturer=Qualcomm", f"--soc_model={soc.model}", f"--libs={libs.plugin_dir}", "--err=--",
           *extra_flags]
    try:
        with tempfile.TemporaryDirectory(prefix="albert_edge_npu_") as scratch:   # LiteRT's temporaries
            env = dict(os.environ, LD_LIBRARY_PATH=libs.ld_library_path(), TMPDIR=scratch)
            start = time.monotonic()
            try:
                proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                      errors="replace", env=env, timeout=timeout_s)
            except subprocess.TimeoutExpired:
                raise NpuRunError(f"{source.name} for {soc.name}: no result within {timeout_s:.0f} s") from None
            except OSError as err:
                raise NpuEnvironmentError(f"cannot run {libs.apply_plugin}: {err}") from None
            seconds = time.monotonic() - start
        log_text = proc.stdout or ""
        if proc.returncode != 0 or tmp.stat().st_size == 0:
            errors = [line.strip() for line in log_text.strip().splitlines()
                      if ("ERROR" in line or "<E>" in line) and "GraphHtpSettings option 66" not in line]
            tail = "\n".join(errors[-6:]) or "\n".join(log_text.strip().splitlines()[-6:])
            if "libQnn" in log_text and ("cannot open shared object" in log_text or "dlopen" in log_text):
                raise NpuEnvironmentError(f"the Qualcomm compiler plugin cannot load its QNN libraries "
                                          f"({libs.source}):\n{tail}")
            raise NpuRunError(f"{source.name} for {soc.name} ({soc.marketing}): the compiler failed "
                              f"(exit {proc.returncode}):\n{tail}")
        stats = {int(m[0]): (int(m[1]), int(m[2]), int(m[3])) for m in PARTITION_STATS.findall(log_text)}
        compiled_ops = signature_ops(tmp)
        signatures = []
        for index, key in sorted(subgraph_names.items(), key=lambda kv: kv[1]):
            total = len(ops_before.get(key, []))
            selected, total_logged, partitions = stats.get(index, (0, total, 0))
            cpu_ops = [name for name in compiled_ops.get(key, []) if name != DISPATCH]
            signatures.append(SignatureCompile(key, selected, total_logged or total, partitions, cpu_ops))
        os.chmod(tmp, 0o644)
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)
    return CompileResult(soc.name, source, output, seconds, output.stat().st_size, signatures, libs.source)
