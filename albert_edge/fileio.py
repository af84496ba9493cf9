"""Atomic file output: a killed process never leaves a truncated artifact under its final name.

Everything is written beside its destination first (same filesystem), then renamed into place.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterator, List, Optional


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


# Names the writers above give their temporaries: `.NAME.XXXXXXXX.tmp` files (write_bytes_atomic)
# and `.NAME.XXXXXXXX` folders (atomic_dir); mkstemp/mkdtemp suffixes are 8 of [a-z0-9_].
_TEMP_FILE = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
_TEMP_DIR = re.compile(r"^\..+\.[a-z0-9_]{8}$")


def remove_stale_temporaries(folder: str | os.PathLike) -> List[Path]:
    """Delete what a killed writer left in `folder` (its hidden temporaries; final names untouched).

    Why: a `kill -9` during a SavedModel write leaves a 16 MB `.saved_model.xxxxxxxx/` that no rerun
    would ever reuse. Call it only while holding the folder's lock (`exclusive_lock`), so a live
    writer's temporaries are never taken for stale ones.
    """
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for item in folder.iterdir():
        if item.is_dir() and not item.is_symlink() and _TEMP_DIR.match(item.name):
            shutil.rmtree(item, ignore_errors=True)
            removed.append(item)
        elif item.is_file() and _TEMP_FILE.match(item.name):
            item.unlink(missing_ok=True)
            removed.append(item)
    return removed


def content_digest(path: str | os.PathLike) -> Optional[str]:
    """sha256 of a file, or of a folder's files (relative names + bytes, sorted); None if missing.

    Fingerprints hold it so a truncated or edited artifact is rebuilt, not reused.
    """
    path = Path(path)
    if path.is_file():
        files = [(path.name, path)]
    elif path.is_dir():
        files = sorted((p.relative_to(path).as_posix(), p) for p in path.rglob("*") if p.is_file())
    else:
        return None
    h = hashlib.sha256()
    for name, p in files:
        h.update(name.encode("utf-8") + b"\0")
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


class LockBusy(RuntimeError):
    """Another process holds the lock; the message names it."""


@contextlib.contextmanager
def exclusive_lock(folder: str | os.PathLike, what: str = "process") -> Iterator[Path]:
    """Hold an exclusive `fcntl.flock` on `folder` itself for the block; raise LockBusy at once if held.

    Why: two exports into one folder each read `.fingerprints.json`, then each write it back,
    and the later writer drops the other's entries. The lock is taken on the folder's own
    descriptor, so nothing is left behind; `folder/.lock` names the holder (pid, command) while it
    runs, so the second run can say who it waits for. The kernel releases the lock when the holder
    dies, even on `kill -9`, so a stale `.lock` never blocks anyone.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    info = folder / ".lock"
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = info.read_text(encoding="utf-8", errors="replace").strip() or "unknown"
            except OSError:
                holder = "unknown"
            raise LockBusy(f"{folder} is in use by another {what} ({holder}); wait for it to finish "
                           f"or choose another folder") from None
        try:
            write_text_atomic(info, f"pid {os.getpid()}: {' '.join(sys.argv)[:300]}\n")
        except OSError:
            pass   # the holder's name is a courtesy; the flock is what excludes
        try:
            yield folder
        finally:
            with contextlib.suppress(OSError):
                info.unlink()
    finally:
        os.close(fd)   # closing the descriptor releases the flock
