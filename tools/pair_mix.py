"""Write one training file of sentence pairs drawn from several labelled pair sets.

A developer tool (like `cross_dataset.py`): it reads training splits by path, so it is run where
`../shared/data/pairs` exists, never by the package at run time. Each `--source FILE:COUNT` takes
COUNT pairs of FILE drawn without replacement (`all`, or a COUNT above the file's size, takes every
pair); with `--swap-half` each drawn pair is written as (b, a) with probability 1/2, so both orders
are trained on without doubling the file. The recipe is printed as JSON (and written beside the
output as `<out>.json`), so a model card can say exactly what the model saw.

    PYTHONPATH=. python tools/pair_mix.py --out runs/mix/train.tsv --seed 7 --swap-half \
      --source ../shared/data/pairs/lcqmc_train.tsv:120000 --source ../shared/data/pairs/bq_train.tsv:all
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from albert_edge import fileio
from albert_edge.data.tasks import DataError, read_examples


def parse_source(value: str) -> tuple[Path, int | None]:
    path, sep, count = value.rpartition(":")
    if not sep or not path:
        raise argparse.ArgumentTypeError(f"expected FILE:COUNT, got {value!r}")
    if count == "all":
        return Path(path), None
    try:
        n = int(count)
    except ValueError:
        raise argparse.ArgumentTypeError(f"COUNT must be an integer or 'all', got {count!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"COUNT must be >= 1, got {n}")
    return Path(path), n


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--source", type=parse_source, action="append", required=True, metavar="FILE:COUNT")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--swap-half", action="store_true", help="write each pair as (b, a) with probability 1/2")
    args = p.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    rows, recipe = [], {"seed": args.seed, "swap_half": args.swap_half, "sources": []}
    for path, count in args.source:
        try:
            examples = read_examples(path, "pairs")
        except (DataError, OSError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        take = len(examples) if count is None else min(count, len(examples))
        for i in np.sort(rng.choice(len(examples), take, replace=False)):
            ex = examples[i]
            a, b = (ex.text_b, ex.text_a) if args.swap_half and rng.random() < 0.5 else (ex.text_a, ex.text_b)
            rows.append(f"{a}\t{b}\t{ex.label}")
        recipe["sources"].append({"file": path.name, "available": len(examples), "taken": take})
    order = rng.permutation(len(rows))
    fileio.write_text_atomic(args.out, "".join(rows[i] + "\n" for i in order))
    recipe["pairs"] = len(rows)
    fileio.write_text_atomic(args.out.with_name(args.out.name + ".json"), json.dumps(recipe, indent=1) + "\n")
    print(json.dumps(recipe))
    return 0


if __name__ == "__main__":
    sys.exit(main())
