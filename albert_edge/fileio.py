"""Atomic file output: a killed process never leaves a truncated artifact under its final name.

Everything is written beside its destination first (same filesystem), then renamed into place.
"""
from __future__ import annotations

import contextlib
import errno
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
            if final.is_symlink():
                final.unlink()          # a link in the folder's place is replaced, its target untouched
            elif final.exists():
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


# ------------------------------------------------------------------------------ outputs never inputs
class OutputOverlapError(ValueError):
    """An output path resolves to an input, or into a model folder given as input (exit 2)."""



def _real(path: str | os.PathLike) -> Path:
    """The path with every symlink and `..` resolved (what a write would really touch)."""
    return Path(os.path.realpath(os.path.expanduser(os.fspath(path))))


def _within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def model_folder_of(path: str | os.PathLike) -> Path:
    """The folder a model input lives in: the path if it is a folder, else its parent (a
    checkpoint prefix such as `run/model.ckpt`, a `.tflite` file); a path with nothing there is
    taken as a folder of its own (its parent holds no model)."""
    real = _real(path)
    if real.is_dir():
        return real
    if real.exists() or any(real.parent.glob(glob_escape(real.name) + ".*")):   # a file, or a prefix
        return real.parent
    return real   # nothing there: the command reports it missing; its parent is no model folder


def protected_model_folders() -> List[Path]:
    """The model folders no command may write into, whatever it was given: the bundled models."""
    from albert_edge import resources  # noqa: PLC0415 — costs nothing, keeps fileio import-light
    return [_real(p) for p in resources.BUNDLED_MODELS.values()]


def check_outputs_apart(outputs: "dict[str, str | os.PathLike | None]",
                        inputs: "dict[str, str | os.PathLike | None | list]" = None,
                        model_inputs: "dict[str, str | os.PathLike | None]" = None,
                        written: "list[str | os.PathLike]" = (), replaces_folder: bool = False) -> None:
    """Refuse (OutputOverlapError, before anything is written) outputs that would overwrite an input.

    `outputs`: flag -> output file or folder; `inputs`: flag -> input file(s); `model_inputs`: flag ->
    a model given as input (folder, checkpoint prefix or file) whose whole folder is off limits;
    `written`: the files the command will create (inside an output folder), checked against `inputs`;
    `replaces_folder`: the output folder is replaced as a whole (`atomic_dir`), so no input may lie in it.
    Why one helper: `export --out` equal to the bundled model's folder rewrote its labels, `benchmark
    host --json` equal to `--model` replaced the model with its results. Paths are compared after
    resolving symlinks, so a link to the input is the input. The bundled model folders are always
    inputs. The message names both flags, the path and the fix.
    """
    inputs = inputs or {}
    model_inputs = dict(model_inputs or {})
    for i, folder in enumerate(protected_model_folders()):
        model_inputs.setdefault(f"the bundled model{'' if i == 0 else f' {i}'}", folder)
    files = []
    for flag, value in inputs.items():
        for item in ([] if value is None else value if isinstance(value, (list, tuple)) else [value]):
            files.append((flag, _real(item)))
    folders = [(flag, model_folder_of(v)) for flag, v in model_inputs.items() if v is not None]
    targets = [(flag, _real(v)) for flag, v in outputs.items() if v is not None]
    targets += [(next(iter(outputs)), _real(w)) for w in written]
    for out_flag, out in targets:
        for in_flag, src in files:
            if out == src:
                raise OutputOverlapError(
                    f"{out_flag} {out} is also {in_flag}: writing it would destroy the input; "
                    f"choose another {out_flag}")
            if replaces_folder and _within(src, out):
                raise OutputOverlapError(
                    f"{out_flag} {out} holds {in_flag} {src}, and the folder is replaced as a whole: "
                    f"the input would be deleted; choose another {out_flag}")
        for in_flag, folder in folders:
            if _within(out, folder):
                raise OutputOverlapError(
                    f"{out_flag} {out} is inside the model folder of {in_flag} ({folder}): a model "
                    f"given as input is never written to; choose another {out_flag}")


# ------------------------------------------------------------------------------ symlink-safe writes
def open_append(path: str | os.PathLike, encoding: str = "utf-8"):
    """Open a log for appending without following a symlink in its place (the link is removed).

    Why: a `train_log.jsonl` planted as a symlink to another file would have the log appended to
    that file. O_NOFOLLOW makes the open fail on a link; the link itself (never its target) is then
    unlinked and a fresh file created exclusively.
    """
    path = Path(path)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as err:
        if err.errno != errno.ELOOP:
            raise
        os.unlink(path)                      # the link, not what it points to
        fd = os.open(path, flags | os.O_EXCL, 0o644)
    return os.fdopen(fd, "a", encoding=encoding)


def fresh_path(path: str | os.PathLike) -> Path:
    """Make `path` free for a writer that opens it by name (TensorFlow's TFRecordWriter, a library's
    own temporary): whatever is there — a stale temporary, or a symlink planted in its place — is
    unlinked (a link is removed, its target untouched); then an empty file is created exclusively
    (O_EXCL | O_NOFOLLOW), so nothing else can be slipped in before the writer truncates it."""
    path = Path(path)
    if path.is_symlink() or path.exists():
        if path.is_dir() and not path.is_symlink():
            raise IsADirectoryError(errno.EISDIR, "a folder is in the way", str(path))
        os.unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    os.close(fd)
    return path
