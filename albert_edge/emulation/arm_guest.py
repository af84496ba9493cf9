"""The half of ``benchmark arm`` that runs *inside* qemu-aarch64, on the phone's LiteRT kernels.

Why a separate file: it is executed by Debian's aarch64 Python 3.11 with nothing but numpy and
ai-edge-litert on its path, so it must not import ``albert_edge`` (TensorFlow, jieba …) or anything
outside the standard library, numpy and LiteRT. The host side (``arm.py``) writes the inputs, reads
the outputs and the instruction counts, and applies the numerics rule.

Two jobs:

* ``--probe``: print the emulated CPU's ``AT_HWCAP``/``AT_HWCAP2`` and its ``MIDR_EL1`` (read with
  an ``mrs`` instruction, which Linux and qemu-user allow at EL0) as JSON, so the host can write an
  ARM ``/proc/cpuinfo`` that matches the CPU exactly (LiteRT's cpuinfo crashes on the host's x86
  one, and picks kernels the CPU lacks from a mismatching one).
* run a model: for each signature, one unmarked warm-up ``Invoke``, then every input bracketed by
  the marker syscalls the instruction-counting plugin recognises, so only ``Invoke`` is counted.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import mmap
import struct
import sys
import time

# Shared with qemu_plugin/insn_count.c (ALBERT_MARK_NR, ALBERT_MARK_MAGIC, OP_BEGIN, OP_END).
MARK_NR = 0xA1BE
MARK_MAGIC = 0x616C6265
OP_BEGIN, OP_END = 1, 2
TAG_STRIDE = 1_000_000  # tag = signature index * TAG_STRIDE + input index
WARMUP_TAG = 999_999_999  # counted by the plugin, ignored by the host
AT_HWCAP, AT_HWCAP2 = 16, 26


def probe() -> dict:
    """hwcaps from the auxiliary vector and MIDR_EL1 from ``mrs x0, midr_el1; ret``."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.getauxval.restype = ctypes.c_ulong
    libc.getauxval.argtypes = [ctypes.c_ulong]
    code = struct.pack("<II", 0xD5380000, 0xD65F03C0)  # mrs x0, midr_el1 ; ret
    page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    page.write(code)
    address = ctypes.addressof(ctypes.c_char.from_buffer(page))
    midr = ctypes.CFUNCTYPE(ctypes.c_uint64)(address)()
    return {"hwcap": int(libc.getauxval(AT_HWCAP)), "hwcap2": int(libc.getauxval(AT_HWCAP2)), "midr": int(midr)}


class Marker:
    """``syscall(MARK_NR, MAGIC, op, tag)``: -ENOSYS for the guest, a counter boundary for the plugin."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self._syscall = libc.syscall
        self._syscall.restype = ctypes.c_long
        self._syscall.argtypes = [ctypes.c_long, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]

    def begin(self, tag: int) -> None:
        self._syscall(MARK_NR, MARK_MAGIC, OP_BEGIN, tag)

    def end(self, tag: int) -> None:
        self._syscall(MARK_NR, MARK_MAGIC, OP_END, tag)


def run_signature(interpreter, signature: str, feeds: dict, marker: Marker, sig_index: int, warmup: int):
    """Outputs [N, …] per output name and per-input wall seconds, Invoke bracketed by markers.

    Inputs are written before the begin marker and outputs read after the end marker (as
    benchmark_model times only Invoke), through the wrapper the SignatureRunner itself uses.
    """
    import numpy as np

    runner = interpreter.get_signature_runner(signature)
    wrapper, subgraph = runner._interpreter_wrapper, runner._subgraph_index
    inputs, outputs = runner._inputs, dict(runner._outputs)
    count = len(next(iter(feeds.values())))
    first = {name: feeds[name][0] for name in inputs}
    runner(**first)  # resizes, allocates, and runs once: weight packing is not counted
    for _ in range(max(1, warmup)):  # then the exact path of the counted loop, unmarked, so it is warm
        for name, index in inputs.items():
            wrapper.SetTensor(index, feeds[name][0], subgraph)
        marker.begin(WARMUP_TAG)
        wrapper.Invoke(subgraph)
        marker.end(WARMUP_TAG)
    results = {name: [] for name in outputs}
    seconds = []
    for i in range(count):
        for name, index in inputs.items():
            wrapper.SetTensor(index, feeds[name][i], subgraph)
        tag = sig_index * TAG_STRIDE + i
        start = time.perf_counter()
        marker.begin(tag)
        wrapper.Invoke(subgraph)
        marker.end(tag)
        seconds.append(time.perf_counter() - start)
        for name, index in outputs.items():
            results[name].append(np.array(wrapper.GetTensor(index, subgraph)))
    return {name: np.stack(values) for name, values in results.items()}, seconds


def run_model(args: argparse.Namespace) -> dict:
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=args.model, num_threads=1)
    marker = Marker()
    arrays, timing = {}, {}
    with np.load(args.feeds) as data:
        stored = {key: data[key] for key in data.files}
    for sig_index, signature in enumerate(args.signatures.split(",")):
        feeds = {key.split("/", 1)[1]: value for key, value in stored.items() if key.startswith(signature + "/")}
        outputs, seconds = run_signature(interpreter, signature, feeds, marker, sig_index, args.warmup)
        for name, value in outputs.items():
            arrays[f"{signature}/{name}"] = value
        timing[signature] = seconds
    np.savez(args.out, **arrays)
    return {"seconds": timing, "numpy": np.__version__}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="albert_edge ARM guest runner (inside qemu-aarch64)")
    parser.add_argument("--site", action="append", default=[], help="folder with numpy and ai_edge_litert")
    parser.add_argument("--probe", action="store_true", help="print hwcaps and MIDR_EL1 as JSON")
    parser.add_argument("--model")
    parser.add_argument("--feeds", help=".npz with SIGNATURE/input_name → [N, 1, L]")
    parser.add_argument("--signatures", help="comma-separated signature keys, in feed order")
    parser.add_argument("--out", help=".npz for SIGNATURE/output_name → [N, …]")
    parser.add_argument("--warmup", type=int, default=1)
    args = parser.parse_args(argv)
    sys.path[:0] = args.site
    if args.probe:
        print(json.dumps(probe()))
        return 0
    print(json.dumps(run_model(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
