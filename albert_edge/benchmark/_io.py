"""Small file helpers shared by the benchmark modules.

Why atomic writes: results files are read by CI gates and by people comparing phones;
a half-written JSON after a Ctrl-C or a full disk must never look like a result.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterable

_APPEND_LOCK = threading.Lock()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to a temp file beside ``path`` and ``os.replace`` it into place."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def append_jsonl(path: str | os.PathLike, row: dict) -> None:
    """Append one row and flush at once: rows already measured survive a crash of the harness."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(row, ensure_ascii=False) + "\n"
    with _APPEND_LOCK, open(target, "a", encoding="utf-8") as fh:
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
