"""The one reader of TSV data files: sentence pairs, single sentences, NLI — labelled or not.

Formats (UTF-8, TAB-separated, as in `../shared/data` and albert_zh's run_classifier):

* pairs:  `sentence_a<TAB>sentence_b<TAB>label`          (LCQMC, AFQMC, OPPO, STS-B)
* single: `text<TAB>label`                               (ChnSentiCorp, TNEWS)
* nli:    `text_a<TAB>text_b<TAB>label` with a header    (XNLI)

The rules, the same for every reader of the package (training, export calibration and evaluation,
similarity, benchmarks, the behaviour suite):

* a header row (`text_a`, `sentence1`, …) on line 1 is skipped; a leading id column (PAWS-X:
  `id, sentence1, sentence2, label`, told by its header) is dropped;
* blank lines are skipped; LF, CRLF and CR line ends and a UTF-8 byte-order mark are accepted;
* fields are stripped of surrounding white space; an empty text or label is an error;
* `read_examples` wants the label column on every line; `read_texts` (inputs to score, not to
  evaluate) takes it or leaves it, the same on every line of a file.

Every malformed line is a `DataError` naming `file:line`.
"""
from __future__ import annotations

import codecs
import dataclasses
import os
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

TASK_KINDS = ("pairs", "single", "nli")
_HEADER_WORDS = {"text_a", "text", "sentence", "sentence1", "sentence_a", "id", "label", "query1", "text1"}


class DataError(ValueError):
    """A data file is unusable; the message names file:line and what is wrong."""


@dataclasses.dataclass(frozen=True)
class Example:
    text_a: str
    text_b: Optional[str]
    label: Optional[str]  # None only from `read_texts` on a file without a label column
    where: str            # "file:line", for error messages further down the pipeline


def _columns_for(kind: str) -> int:
    return 2 if kind == "single" else 3


def _layout(kind: str, labelled: bool) -> str:
    texts = "text" if kind == "single" else "sentence_a<TAB>sentence_b"
    return texts + ("<TAB>label" if labelled else "[<TAB>label]")


def _numbered_lines(path: Path) -> Iterator[Tuple[int, str]]:
    """(line number, text) of every line; bytes that are not UTF-8 are an error naming file:line.

    Why bytes first: decoding line by line is what lets the error name the line, and
    `bytes.splitlines` ends lines only at LF, CRLF and CR — never at a U+2028 or a form feed
    inside a sentence, which `str.splitlines` would take for line ends. A UTF-8 byte-order mark
    (Windows editors write one; atec_train.tsv has one) is dropped, so it neither hides the
    header nor sticks to the first sentence.
    """
    if path.is_dir():
        raise DataError(f"{path} is a folder; give a TSV file")
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    raw = path.read_bytes()
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    for number, raw_line in enumerate(raw.splitlines(), start=1):
        try:
            yield number, raw_line.decode("utf-8")
        except UnicodeDecodeError as err:
            raise DataError(f"{path}:{number}: not UTF-8 (byte {err.start + 1} of the line); "
                            "convert the file with `iconv -t UTF-8`") from None


def _read(path: str | os.PathLike, kind: str, labelled: bool) -> List[Example]:
    """The one set of rules behind `read_examples` and `read_texts` (see the module docstring)."""
    if kind not in TASK_KINDS:
        raise DataError(f"unknown task kind {kind!r}; choose one of {', '.join(TASK_KINDS)}")
    path = Path(path)
    with_label = _columns_for(kind)
    num_texts = with_label - 1
    accepted = {with_label} if labelled else {num_texts, with_label}
    examples: List[Example] = []
    has_id = False
    for number, line in _numbered_lines(path):
        if not line.strip():
            continue
        fields = line.split("\t")
        if number == 1 and fields[0].strip().lower() in _HEADER_WORDS:
            has_id = fields[0].strip().lower() == "id"
            continue
        if has_id:
            fields = fields[1:]
        where = f"{path}:{number}"
        if len(fields) not in accepted:
            counts = " or ".join(str(n) for n in sorted(accepted))
            raise DataError(f"{where}: expected {counts} TAB-separated fields ({_layout(kind, labelled)}), "
                            f"found {len(fields)}")
        if not labelled and examples and (examples[0].label is None) != (len(fields) == num_texts):
            # a file either has a label column or not: a line that differs usually holds a TAB
            # inside a sentence, which would shift a sentence into the label
            raise DataError(f"{where}: found {len(fields)} TAB-separated fields, but {examples[0].where} "
                            f"has {num_texts if examples[0].label is None else with_label}")
        fields = [f.strip() for f in fields]
        for column, text in enumerate(fields[:num_texts], start=1):
            if not text:
                raise DataError(f"{where}: empty text in column {column + int(has_id)}")
        label = fields[num_texts] if len(fields) == with_label else None
        if labelled and not label:
            raise DataError(f"{where}: empty label")
        text_b = fields[1] if num_texts == 2 else None
        examples.append(Example(fields[0], text_b, label, where))
    if not examples:
        raise DataError(f"{path}: no examples (empty file?)")
    return examples


def read_examples(path: str | os.PathLike, kind: str = "pairs") -> List[Example]:
    """Read a labelled TSV of `kind` ('pairs', 'single', 'nli'); every line must carry a label."""
    return _read(path, kind, labelled=True)


def read_texts(path: str | os.PathLike, kind: str = "pairs") -> List[Example]:
    """Read the texts of a TSV of `kind` whose label column is optional (the same for every line).

    For inputs that are scored, not evaluated: `similarity --pairs`, benchmark sentence pairs,
    the behaviour suite's seed sentences. `label` is None where the file has no label column.
    """
    return _read(path, kind, labelled=False)


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
