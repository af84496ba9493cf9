"""A compiled ``.tflite``'s NPU code on Qualcomm's HTP emulator, on this x86 host.

How: each signature of a compiled model is one ``DISPATCH_OP`` whose custom options name a QNN
graph (``qnn_partition_<i>``) inside one context binary stored in the file (``bytecode_offset`` /
``bytecode_size``). That binary, written beside a one-node ONNX model (``EPContext``, domain
``com.microsoft``, ``main_context=1``, ``embed_mode=0``, the node named after the graph), loads
in ONNX Runtime's QNN execution provider from ``onnxruntime-qnn`` on ``libQnnHtp.so`` for x86 —
Qualcomm's HTP emulation — configured with the SoC's ``soc_model`` and ``htp_arch``. The session
is created with ``session.disable_cpu_ep_fallback=1``: a graph the QNN provider cannot take is an
error, never a silent CPU run. Costs, measured on 2 cores: 5–12 s per L32 inference.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from albert_edge.emulation.errors import NpuEnvironmentError, NpuRunError
from albert_edge.emulation.htp_compile import DISPATCH
from albert_edge.emulation.qnn_libs import QnnLibraries
from albert_edge.emulation.socs import Soc

log = logging.getLogger(__name__)

_ONNX_TYPES = {0: 1, 2: 6, 4: 7, 9: 3, 3: 2, 7: 5, 1: 10}   # TFLite TensorType → ONNX elem type
_NUMPY = {0: np.float32, 2: np.int32, 4: np.int64, 9: np.int8, 3: np.uint8, 7: np.int16, 1: np.float16}


@dataclasses.dataclass
class Port:
    signature_name: str     # input_ids / logits (what callers feed and read)
    graph_name: str         # L32_input_ids_0 / StatefulPartitionedCall_1_0 (QNN's tensor name)
    tflite_type: int
    shape: tuple[int, ...]


@dataclasses.dataclass
class ContextGraph:
    """One signature's graph inside a compiled model's QNN context binary."""
    signature: str
    graph: str
    offset: int
    size: int
    inputs: list[Port]
    outputs: list[Port]


def _qnn_name(tensor_name: str) -> str:
    return tensor_name.replace(":", "_")


def read_context_graphs(path: str | os.PathLike) -> dict[str, ContextGraph]:
    """{signature: its graph} of a compiled model; NpuRunError when a signature is not one DISPATCH op."""
    from ai_edge_litert import schema_py_generated as schema
    from flatbuffers import flexbuffers

    data = Path(path).read_bytes()
    try:
        model = schema.Model.GetRootAs(data, 0)
        codes = [model.OperatorCodes(i).CustomCode() for i in range(model.OperatorCodesLength())]
        graphs = {}
        for s in range(model.SignatureDefsLength()):
            sig = model.SignatureDefs(s)
            key = sig.SignatureKey().decode()
            sub = model.Subgraphs(sig.SubgraphIndex())
            ops = [sub.Operators(o) for o in range(sub.OperatorsLength())]
            if len(ops) != 1 or (codes[ops[0].OpcodeIndex()] or b"").decode() != DISPATCH:
                raise NpuRunError(f"{path}: signature {key} is not one {DISPATCH} (is this an NPU-compiled model? "
                                  "`python -m albert_edge.export --npu SOC` writes them)")
            op = ops[0]
            options = flexbuffers.Loads(op.CustomOptionsAsNumpy().tobytes())
            offset, size = int(options["bytecode_offset"]), int(options["bytecode_size"])
            if offset <= 0 or size <= 0 or offset + size > len(data):
                raise NpuRunError(f"{path}: signature {key}'s context binary lies outside the file")

            def port(tensor_index: int, name: str) -> Port:
                tensor = sub.Tensors(tensor_index)
                return Port(name, _qnn_name(tensor.Name().decode()), tensor.Type(),
                            tuple(int(x) for x in tensor.ShapeAsNumpy()))

            by_index_in = {sig.Inputs(i).TensorIndex(): sig.Inputs(i).Name().decode() for i in range(sig.InputsLength())}
            by_index_out = {sig.Outputs(i).TensorIndex(): sig.Outputs(i).Name().decode()
                            for i in range(sig.OutputsLength())}
            inputs = [port(op.Inputs(i), by_index_in.get(op.Inputs(i), f"input{i}")) for i in range(op.InputsLength())]
            outputs = [port(op.Outputs(i), by_index_out.get(op.Outputs(i), f"output{i}"))
                       for i in range(op.OutputsLength())]
            graphs[key] = ContextGraph(key, str(options["name"]), offset, size, inputs, outputs)
    except NpuRunError:
        raise
    except Exception as err:  # noqa: BLE001 — any decoding error: not a compiled model
        raise NpuRunError(f"{path}: not a readable compiled .tflite ({type(err).__name__}: {err})") from None
    return graphs


def _onnx_model(graph: ContextGraph, binary_name: str):
    try:
        from onnx import helper
    except ImportError:
        raise NpuEnvironmentError('the onnx package is missing (pip install -e ".[npu]")') from None

    def value_info(port: Port):
        if port.tflite_type not in _ONNX_TYPES:
            raise NpuRunError(f"{graph.signature}: tensor {port.graph_name} has a type the emulator route "
                              f"does not map ({port.tflite_type})")
        return helper.make_tensor_value_info(port.graph_name, _ONNX_TYPES[port.tflite_type], list(port.shape))

    node = helper.make_node("EPContext", [p.graph_name for p in graph.inputs], [p.graph_name for p in graph.outputs],
                            name=graph.graph, domain="com.microsoft", main_context=1, embed_mode=0,
                            ep_cache_context=binary_name, source="QNNExecutionProvider", partition_name=graph.graph)
    body = helper.make_graph([node], f"albert_edge_{graph.signature}", [value_info(p) for p in graph.inputs],
                             [value_info(p) for p in graph.outputs])
    return helper.make_model(body, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])


_REGISTERED: set[str] = set()


def _ort(libs: QnnLibraries):
    try:
        import onnxruntime as ort
        import onnxruntime_qnn
    except ImportError as err:
        raise NpuEnvironmentError(f"the HTP emulator needs onnxruntime + onnxruntime-qnn ({err.name} missing): "
                                  'pip install -e ".[npu]" (or `make npu-deps`)') from None
    if "QNNExecutionProvider" not in _REGISTERED:
        ort.register_execution_provider_library("QNNExecutionProvider", onnxruntime_qnn.get_library_path())
        _REGISTERED.add("QNNExecutionProvider")
    return ort


class HtpSession:
    """One signature of a compiled model, loaded in the HTP emulator for ``soc``."""

    def __init__(self, compiled: str | os.PathLike, signature: str, soc: Soc, libs: QnnLibraries,
                 graphs: dict[str, ContextGraph] | None = None):
        graphs = graphs or read_context_graphs(compiled)
        if signature not in graphs:
            raise NpuRunError(f"{compiled}: no signature {signature}; it has {', '.join(graphs)}")
        self.graph = graphs[signature]
        self.soc = soc
        ort = _ort(libs)
        self._dir = tempfile.TemporaryDirectory(prefix="albert_edge_htp_")
        folder = Path(self._dir.name)
        with open(compiled, "rb") as fh:
            fh.seek(self.graph.offset)
            (folder / "context.bin").write_bytes(fh.read(self.graph.size))
        model = _onnx_model(self.graph, "context.bin")   # NpuEnvironmentError without the onnx package
        import onnx
        onnx.save(model, str(folder / "model.onnx"))
        options = ort.SessionOptions()
        options.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
        options.log_severity_level = 3
        devices = [d for d in ort.get_ep_devices() if d.ep_name == "QNNExecutionProvider"]
        if not devices:
            raise NpuEnvironmentError("onnxruntime lists no QNNExecutionProvider device after registering "
                                      "onnxruntime-qnn's library")
        options.add_provider_for_devices(devices[:1], {"backend_path": str(libs.htp_backend),
                                                       "soc_model": str(soc.qnn_soc_model),
                                                       "htp_arch": soc.htp_arch})
        try:
            self._session = ort.InferenceSession(str(folder / "model.onnx"), options)
        except Exception as err:  # noqa: BLE001 — ORT raises its own Fail/EPFail/RuntimeException types
            self._dir.cleanup()
            raise NpuRunError(f"{Path(compiled).name} {signature}: the HTP emulator ({soc.name}, Hexagon "
                              f"{soc.hexagon}) refused the context binary: {str(err).strip()[:400]}") from None
        providers = self._session.get_providers()
        if providers and providers[0] != "QNNExecutionProvider":
            raise NpuRunError(f"{signature}: the session runs on {providers}, not the QNN HTP provider")

    def run(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One inference: ``feed`` by signature input name → outputs by signature output name."""
        inputs = {}
        for port in self.graph.inputs:
            if port.signature_name not in feed:
                raise NpuRunError(f"{self.graph.signature}: no value for input {port.signature_name}")
            inputs[port.graph_name] = np.asarray(feed[port.signature_name], _NUMPY[port.tflite_type]).reshape(port.shape)
        try:
            values = self._session.run([p.graph_name for p in self.graph.outputs], inputs)
        except Exception as err:  # noqa: BLE001
            raise NpuRunError(f"{self.graph.signature}: the HTP emulator failed to run: {str(err).strip()[:400]}") from None
        return {p.signature_name: v for p, v in zip(self.graph.outputs, values)}

    def close(self) -> None:
        self._session = None
        self._dir.cleanup()

    def __enter__(self) -> "HtpSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ------------------------------------------------------------------------------------ isolated runs
def run_isolated(compiled: str | os.PathLike, signature: str, soc: Soc, feeds: dict[str, np.ndarray],
                 qnn_sdk: str | None = None, timeout_s: float = 3600.0) -> dict[str, np.ndarray]:
    """Every row of ``feeds`` ({input: [N, …]}) through :class:`HtpSession` in a child process.

    Why a child: a broken context binary can crash the emulator's native code; the caller then gets
    NpuRunError naming the signal instead of losing its own process.
    """
    import subprocess
    import sys

    with tempfile.TemporaryDirectory(prefix="albert_edge_htp_io_") as folder:
        feed_path, out_path = Path(folder) / "feeds.npz", Path(folder) / "out.npz"
        np.savez(feed_path, **feeds)
        cmd = [sys.executable, "-m", "albert_edge.emulation.htp_run", "--model", str(compiled), "--signature",
               signature, "--soc", soc.name, "--feeds", str(feed_path), "--out", str(out_path)]
        if qnn_sdk:
            cmd += ["--qnn-sdk", str(qnn_sdk)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise NpuRunError(f"{Path(compiled).name} {signature}: no result from the HTP emulator within "
                              f"{timeout_s:.0f} s") from None
        if proc.returncode != 0:
            lines = [ln for ln in proc.stderr.strip().splitlines() if ln.startswith("error:")]
            if proc.returncode == 3 and lines:
                raise NpuEnvironmentError(lines[-1][len("error: "):])
            why = lines[-1][len("error: "):] if lines else (
                f"the emulator process died (exit {proc.returncode}"
                + (f", signal {-proc.returncode})" if proc.returncode < 0 else ")"))
            raise NpuRunError(f"{Path(compiled).name} {signature} on the HTP emulator ({soc.name}): {why}")
        with np.load(out_path) as data:
            return {key: data[key] for key in data.files}


def _worker(argv: list[str] | None = None) -> int:
    """The child of :func:`run_isolated`: exit 0, 1 (NpuRunError) or 3 (environment), message on stderr."""
    import argparse
    import sys

    from albert_edge.emulation import qnn_libs, socs

    p = argparse.ArgumentParser(prog="python -m albert_edge.emulation.htp_run")
    p.add_argument("--model", required=True)
    p.add_argument("--signature", required=True)
    p.add_argument("--soc", required=True)
    p.add_argument("--feeds", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--qnn-sdk")
    args = p.parse_args(argv)
    try:
        soc = socs.get(args.soc)
        libs = qnn_libs.find(args.qnn_sdk)
        with np.load(args.feeds) as data:
            feeds = {key: data[key] for key in data.files}
        count = len(next(iter(feeds.values())))
        outputs: dict[str, list[np.ndarray]] = {}
        with HtpSession(args.model, args.signature, soc, libs) as session:
            for i in range(count):
                for name, value in session.run({k: v[i] for k, v in feeds.items()}).items():
                    outputs.setdefault(name, []).append(value)
        np.savez(args.out, **{k: np.stack(v) for k, v in outputs.items()})
    except NpuEnvironmentError as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    except NpuRunError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(_worker())
