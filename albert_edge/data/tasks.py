"""Readers for labelled TSV files: sentence pairs, single sentences, NLI.

Formats (UTF-8, TAB-separated, as in `../shared/data` and albert_zh's run_classifier):

* pairs:  `sentence_a<TAB>sentence_b<TAB>label`          (LCQMC, AFQMC, OPPO, STS-B)
* single: `text<TAB>label`                               (ChnSentiCorp, TNEWS)
* nli:    `text_a<TAB>text_b<TAB>label` with a header    (XNLI)

A header row (`text_a`, `sentence1`, …) is skipped; a leading id column (PAWS-X: `id, sentence1,
sentence2, label`) is dropped. Every malformed line is an error naming `file:line`.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Iterable, List, Optional, Sequence

TASK_KINDS = ("pairs", "single", "nli")
_HEADER_WORDS = {"text_a", "text", "sentence", "sentence1", "sentence_a", "id", "label", "query1", "text1"}


class DataError(ValueError):
    """A data file is unusable; the message names file:line and what is wrong."""


@dataclasses.dataclass(frozen=True)
class Example:
    text_a: str
    text_b: Optional[str]
    label: str
    where: str            # "file:line", for error messages further down the pipeline


def _columns_for(kind: str) -> int:
    return 2 if kind == "single" else 3


def read_examples(path: str | os.PathLike, kind: str = "pairs") -> List[Example]:
    """Read a labelled TSV of `kind` ('pairs', 'single', 'nli')."""
    if kind not in TASK_KINDS:
        raise DataError(f"unknown task kind {kind!r}; choose one of {', '.join(TASK_KINDS)}")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    want = _columns_for(kind)
    examples: List[Example] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text ({err}); convert it with `iconv -t UTF-8`") from None
    has_id = False
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if number == 1 and fields[0].strip().lower() in _HEADER_WORDS:
            has_id = fields[0].strip().lower() == "id"
            continue
        if has_id:
            fields = fields[1:]
        where = f"{path}:{number}"
        if len(fields) != want:
            layout = "text<TAB>label" if kind == "single" else "sentence_a<TAB>sentence_b<TAB>label"
            raise DataError(f"{where}: expected {want} TAB-separated fields ({layout}), found {len(fields)}")
        fields = [f.strip() for f in fields]
        if not fields[-1]:
            raise DataError(f"{where}: empty label")
        if kind == "single":
            examples.append(Example(fields[0], None, fields[1], where))
        else:
            examples.append(Example(fields[0], fields[1], fields[2], where))
    if not examples:
        raise DataError(f"{path}: no examples (empty file?)")
    return examples


def label_ids(examples: Sequence[Example], labels: Sequence[str]) -> List[int]:
    """Map labels to ids; a label outside `labels` is an error naming its file:line."""
    index = {label: i for i, label in enumerate(labels)}
    out = []
    for ex in examples:
        if ex.label not in index:
            raise DataError(f"{ex.where}: label {ex.label!r} is not in the label set {list(labels)}")
        out.append(index[ex.label])
    return out


def infer_labels(examples: Iterable[Example]) -> List[str]:
    """Sorted label set ('0' < '1' …), numeric labels ordered as numbers."""
    found = {ex.label for ex in examples}
    try:
        return sorted(found, key=float)
    except ValueError:
        return sorted(found)
