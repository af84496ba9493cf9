"""Atomic file output: a killed process never leaves a truncated artifact under its final name.

Everything is written beside its destination first (same filesystem), then renamed into place.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable


def write_bytes_atomic(path: str | os.PathLike, data: bytes, mode: int = 0o644) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)  # mkstemp creates 0600; artifacts are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"))


def atomic_dir(final: str | os.PathLike, write: Callable[[Path], None], merge: bool = False) -> Path:
    """Let `write(tmp_dir)` fill a fresh folder, then move it into place.

    merge=False replaces `final` as a whole (SavedModel trees); merge=True moves each written file
    into `final`, keeping what else is there (a checkpoint beside its config and labels).
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        write(tmp)
        if merge:
            final.mkdir(parents=True, exist_ok=True)
            for item in sorted(tmp.iterdir()):
                os.replace(item, final / item.name)
        else:
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final
