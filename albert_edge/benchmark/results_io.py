"""Results files of the benchmark modules: atomic JSON / JSONL writes, JSONL reads, list flags.

Why atomic writes: results files are read by CI gates and by people comparing phones;
a half-written JSON after a Ctrl-C or a full disk must never look like a result.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Iterable

from albert_edge.fileio import open_append, write_bytes_atomic, write_text_atomic

_APPEND_LOCK = threading.Lock()


# One implementation of atomic writes for the whole package (albert_edge.fileio).
atomic_write_bytes = write_bytes_atomic
atomic_write_text = write_text_atomic


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def append_jsonl(path: str | os.PathLike, row: dict) -> None:
    """Append one row and flush at once: rows already measured survive a crash of the harness.

    A symlink at ``path`` is replaced by a regular file, never written through (a link planted in
    an output folder must not let the harness append to the file it points to).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(row, ensure_ascii=False) + "\n"
    with _APPEND_LOCK, open_append(target) as fh:   # albert_edge.fileio: O_NOFOLLOW, a link is unlinked
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON: {exc}") from None
            except RecursionError:
                raise ValueError(f"{path}:{number}: JSON nested too deeply to be a result row") from None
    return rows


def parse_int_list(text: str | Iterable[int]) -> list[int]:
    """``"1,2,4"`` → ``[1, 2, 4]``; the CLI and library accept either form."""
    if not isinstance(text, str):
        return [int(x) for x in text]
    values = [int(x) for x in text.replace(" ", "").split(",") if x]
    if not values:
        raise ValueError(f"empty list: {text!r}")
    return values


def parse_str_list(text: str | Iterable[str]) -> list[str]:
    if not isinstance(text, str):
        return [str(x) for x in text]
    values = [x.strip() for x in text.split(",") if x.strip()]
    if not values:
        raise ValueError(f"empty list: {text!r}")
    return values
