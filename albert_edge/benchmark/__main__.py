"""``python -m albert_edge.benchmark {parse,host,adb,farm,compare,peers,arm,npu-check,train-throughput}``.

Why a table of subcommands: each module owns its flags (``add_arguments``) and its
entry (``run``); adding a subcommand (e.g. ``peers``) is one line in ``SUBCOMMANDS``,
and a module is imported only when its subcommand runs (``parse`` must not pay for
LiteRT or matplotlib).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from albert_edge.cli import prefer_onednn_kernels

# name → (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "parse": ("albert_edge.benchmark.parse_cli", "parse benchmark_model output (file or -) into JSON"),
    "host": ("albert_edge.benchmark.host", "measure a .tflite on this machine through LiteRT"),
    "adb": ("albert_edge.benchmark.adb", "run benchmark_model on Android devices over adb"),
    "farm": ("albert_edge.benchmark.farm", "AWS Device Farm / Firebase Test Lab specs and result collection"),
    "compare": ("albert_edge.benchmark.compare", "compare two result files; exit 1 on regression"),
    "peers": ("albert_edge.benchmark.peers", "TFLite exports vs TF / PyTorch / ONNX Runtime, length mix, roofline"),
    "arm": ("albert_edge.benchmark.arm", "run exports on aarch64 LiteRT kernels under qemu-user: numerics + instruction counts"),
    "npu-check": ("albert_edge.benchmark.npu_check",
                  "run NPU-compiled signatures on Qualcomm's HTP emulator: numerics vs the CPU model"),
    "train-throughput": ("albert_edge.benchmark.train_throughput",
                         "training seq/s and pairs/s: albert_edge vs Hugging Face PyTorch"),
}

EXIT_USAGE = 2


def build_parser(names: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m albert_edge.benchmark",
        description="Latency and memory benchmarks of albert_edge .tflite models (host, adb, device farms).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        if names is not None and name not in names:
            sub.add_parser(name, help=help_text, add_help=False)
            continue
        module = importlib.import_module(module_name)
        sp = sub.add_parser(name, help=help_text, description=(module.__doc__ or help_text).strip().splitlines()[0])
        module.add_arguments(sp)
        sp.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    prefer_onednn_kernels()   # before any subcommand imports TensorFlow (peers, train-throughput)
    chosen = [a for a in argv if a in SUBCOMMANDS][:1]
    parser = build_parser(chosen if chosen else None)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args._module.run(args) or 0)
    except KeyboardInterrupt:
        logging.getLogger("albert_edge.benchmark").error("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
