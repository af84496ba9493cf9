"""`albert-edge <command> …` (or `python -m albert_edge <command> …`): every tool of the kit.

Each command is the `main(argv)` of one module, imported only when that command runs, so
`albert-edge --help` and `albert-edge tokenize` never load TensorFlow. The documented
`python -m albert_edge.<module>` forms stay: this is one door in front of the same rooms.
"""
from __future__ import annotations

import importlib
import sys
from typing import Dict, Optional, Sequence, Tuple

# command -> (module with main(argv), one-line summary), in pipeline order
COMMANDS: Dict[str, Tuple[str, str]] = {
    "tokenize": ("albert_edge.tokenize", "BERT-Chinese tokenization of lines (the Java port's spec)"),
    "pretraining-data": ("albert_edge.pretraining_data", "whole-word-mask + SOP TFRecords from a corpus"),
    "pretraining-pairs": ("albert_edge.pretraining_pairs", "unmasked SOP pairs (.npz) for pretrain-torch"),
    "embedding-init": ("albert_edge.embedding_init", "token embeddings from corpus co-occurrence (PPMI + SVD)"),
    "pretrain": ("albert_edge.pretrain", "MLM + SOP pretraining in TensorFlow (resumable)"),
    "pretrain-torch": ("albert_edge.pretrain_torch", "MLM + SOP pretraining in PyTorch on a GPU box"),
    "finetune": ("albert_edge.finetune", "fine-tune a classifier: pairs, single sentences, NLI"),
    "calibrate": ("albert_edge.train.calibrate", "shift a binary classifier's output bias to a domain's label prior"),
    "evaluate": ("albert_edge.evaluate", "accuracy of a checkpoint or .tflite; --behaviour suite"),
    "similarity": ("albert_edge.similarity", "probability that two sentences mean the same"),
    "export": ("albert_edge.export.__main__", "the main job: freeze, convert, verify, report"),
    "benchmark": ("albert_edge.benchmark.__main__", "latency (host / adb / farm / arm / peers), compare, train-throughput"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: albert-edge <command> [options]   (albert-edge <command> --help for its options)",
             "", "commands:"]
    lines += [f"  {name:<{width}}  {summary}" for name, (_, summary) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"error: unknown command {command!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[command][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
