"""What every `python -m albert_edge.…` command shares: argument types, quiet TensorFlow, exit codes.

The exit-code contract (README, "Exit codes") is the same for every command:

* 0 — success;
* 1 — a gate failed (an accuracy / parity / regression check ran and said no), naming the gate;
* 2 — unusable input or environment: a message saying what, where and how to fix it, no traceback.

Why argparse `type=` functions: a bad number is reported by argparse itself as
`argument --threads: must be a positive integer, got '0'` (exit 2) before any model is loaded, so
`--threads 0` can never surface later as "the file may be corrupt", and `--max-accuracy-drop nan`
can never switch a gate off (every comparison with NaN is False).
"""
from __future__ import annotations

import argparse
import contextlib
import errno
import importlib.abc
import importlib.util
import json
import logging
import math
import os
import sys
import warnings
from typing import Any, Callable, Iterator, Optional, Sequence, Tuple, TypeVar

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_USAGE = 2

T = TypeVar("T")

# errno values that mean "the environment cannot hold the output", not "the program is wrong".
_ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.ENOTDIR,
                       errno.EISDIR, errno.EEXIST, errno.ENOENT, errno.ENAMETOOLONG}


# ------------------------------------------------------------------------------------ argument types
def checked(parse: Callable[[str], T], accept: Callable[[T], bool], what: str,
            name: str) -> Callable[[str], T]:
    """An argparse `type=` that parses with `parse` and rejects what `accept` says no to.

    Why one factory: every numeric flag type differs only in its parser and its bound, and a bound
    written twice drifts (one copy checking `< 1`, another `<= 0`). Both a text that does not parse
    and a value out of bounds read `must be <what>, got '<text>'`.
    """
    def convert(text: str) -> T:
        try:
            value = parse(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    convert.__name__ = name
    convert.__doc__ = f"argparse type: {what}."
    return convert


# 0 or -1 is a usage error, never "all" or "all but one" (threads, runs, limits).
positive_int = checked(int, lambda v: v >= 1, "a positive integer (≥ 1)", "positive_int")
# warm-up runs, steps, counts of extra examples
nonnegative_int = checked(int, lambda v: v >= 0, "an integer ≥ 0", "nonnegative_int")
# not NaN or ±inf ('1e309' overflows to inf): a NaN bound makes every check pass
finite_float = checked(float, math.isfinite, "a finite number", "finite_float")
# allowed accuracy drop, time limits
nonnegative_float = checked(float, lambda v: math.isfinite(v) and v >= 0, "a finite number ≥ 0",
                            "nonnegative_float")


def bounded_int(low: int, high: int, name: str) -> Callable[[str], int]:
    """An integer from `low` to `high`: the upper bound is what a typo (`1000000000`) would try to
    allocate, or a thread count the runtime aborts on (`--threads 100000`: double free, signal 6)."""
    return checked(int, lambda v: low <= v <= high, f"an integer from {low} to {high}", name)


# Every bound below is declared once and shared by every flag of its kind.
MAX_THREADS = 256          # TFLite / TensorFlow thread pools; more aborts the process, never helps
MAX_SEQ_LEN = 8192         # no ALBERT has more positions; a longer length is a typo (MemoryError)
MAX_BATCH_SIZE = 65536
thread_count = bounded_int(1, MAX_THREADS, "thread_count")
# 3 = [CLS] one token [SEP]; a length beyond a model's positions is checked against that model
seq_length = bounded_int(3, MAX_SEQ_LEN, "seq_length")
batch_size = bounded_int(1, MAX_BATCH_SIZE, "batch_size")
# learning rates, epochs, time limits: 0, negative, NaN or inf train nothing or train garbage
positive_float = checked(float, lambda v: math.isfinite(v) and v > 0, "a finite number > 0", "positive_float")
# dropout, EMA decay, held-out fractions: a rate of 1 drops or keeps everything
probability = checked(float, lambda v: math.isfinite(v) and 0 <= v < 1, "a number from 0 to less than 1",
                      "probability")
# warm-up proportion, short-sequence probability: both ends meaningful
fraction = checked(float, lambda v: math.isfinite(v) and 0 <= v <= 1, "a number from 0 to 1", "fraction")
# masking probability, sample rate: 0 keeps nothing
positive_fraction = checked(float, lambda v: math.isfinite(v) and 0 < v <= 1, "a number above 0, at most 1",
                            "positive_fraction")


def csv_of(kind: Callable[[str], T], name: str = "") -> Callable[[str], Tuple[T, ...]]:
    """A comma-separated list of `kind`, at least one item: `--variants ,` is an error, not "nothing"."""
    label = name or getattr(kind, "__name__", "value").replace("_", " ")

    def parse(text: str) -> Tuple[T, ...]:
        items = [x.strip() for x in str(text).split(",") if x.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {label}, got {text!r}")
        out = []
        for item in items:
            try:
                out.append(kind(item))
            except argparse.ArgumentTypeError as err:
                raise argparse.ArgumentTypeError(str(err) if len(items) == 1 else f"{item!r} in {text!r}: {err}") from None
            except (TypeError, ValueError):
                raise argparse.ArgumentTypeError(
                    f"expected a comma-separated list of {label}, got {text!r}") from None
        return tuple(out)

    parse.__name__ = f"list of {label}"
    return parse


# ------------------------------------------------------------------------------------ TensorFlow set-up
def prefer_onednn_kernels() -> None:
    """Ask TensorFlow for its oneDNN CPU kernels, unless the environment already says either way.

    Why: TensorFlow turns oneDNN on by itself only on CPUs with AVX-512 VNNI/BF16 or AMX; on the AVX2
    machines most developers and CI runners have, it falls back to Eigen, which trains ALBERT-tiny
    1.4-1.6x slower (`python -m albert_edge.benchmark train-throughput`: 33.8 -> 47.4 fine-tuning
    pairs/s at seq 64). TensorFlow reads the variable once, when it is imported, so this must run
    before that. Why here and not in `albert_edge/__init__.py`: changing the process environment is
    a program's decision, not a library's — a user who only imports the tokenizer keeps theirs.
    Every command that may import TensorFlow calls it (through `quiet_tensorflow`, or the benchmark
    CLI); `TF_ENABLE_ONEDNN_OPTS=0` in the environment wins.
    """
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def wants_verbose(argv: Optional[Sequence[str]]) -> bool:
    """-v / --verbose anywhere in argv (checked before parsing: parsers may import TensorFlow)."""
    args = list(sys.argv[1:] if argv is None else argv)
    return any(a in ("-v", "--verbose") or (a.startswith("-v") and set(a[1:]) == {"v"}) for a in args)


@contextlib.contextmanager
def _stderr_fd_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null (C++ libraries write there directly, around Python)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def quiet_tensorflow(verbose: bool = False, preload: bool = False) -> None:
    """Hide TensorFlow's C++ start-up lines unless -v (a user's first sight should be our message).

    Without this, every TensorFlow-importing command opens with oneDNN notices, absl's "All log
    messages before absl::InitializeLog()" and, on a CPU-only machine, a `failed call to cuInit`
    *error*. `TF_CPP_MIN_LOG_LEVEL=3` keeps errors of TensorFlow's runtime quiet; the lines TensorFlow
    prints while it is imported ignore that variable, so the first `import tensorflow` (wherever a
    command does it; now, with `preload=True`) runs with stderr's descriptor pointed at /dev/null.
    A failing import still raises in Python. A `TF_CPP_MIN_LOG_LEVEL` the user set always wins.
    Also asks for oneDNN kernels (`prefer_onednn_kernels`): both must happen before the import.
    """
    prefer_onednn_kernels()
    user_set = "TF_CPP_MIN_LOG_LEVEL" in os.environ
    if verbose or user_set:
        if verbose and not user_set:
            os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    for name in ("tensorflow", "absl", "h5py", "tf_keras"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"(tensorflow|tf_keras|keras|absl)(\.|$)")
    warnings.filterwarnings("ignore", message=r".*tf\.lite\.Interpreter is deprecated.*")
    if "tensorflow" in sys.modules:
        return
    if not any(isinstance(f, _QuietTensorFlowImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowImport())
    if preload:
        try:
            import tensorflow  # noqa: F401,PLC0415 — imported here, once, quietly
        except ImportError:
            pass  # the command's own import reports it
        logging.getLogger("tensorflow").setLevel(logging.ERROR)


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Runs the first `import tensorflow`, wherever a command does it, with fd 2 silenced.

    Why a finder rather than importing TensorFlow up front: commands must be able to reject bad
    input before TensorFlow loads (seconds), and the lines TensorFlow prints while loading ignore
    TF_CPP_MIN_LOG_LEVEL. The finder removes itself after that one import.
    """

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _SilencedLoader(spec.loader)
        return spec


class _SilencedLoader(importlib.abc.Loader):
    """The original loader, executing the module with stderr's descriptor pointed at /dev/null."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = self._loader
        with _stderr_fd_silenced():
            self._loader.exec_module(module)
        logging.getLogger("tensorflow").setLevel(logging.ERROR)

    def __getattr__(self, name):
        return getattr(self._loader, name)


def setup_logging(verbose: bool = False, default: int = logging.WARNING,
                  fmt: str = "%(levelname)s %(name)s: %(message)s") -> None:
    """One logging setup: `default` level, DEBUG/INFO with -v."""
    level = (logging.DEBUG if default <= logging.INFO else logging.INFO) if verbose else default
    logging.basicConfig(level=level, format=fmt)


# ------------------------------------------------------------------------------------ environment errors
JOB_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def start_job(args: argparse.Namespace) -> None:
    """The start of a long job (training, data building): takes `verbose` off `args` (so the rest
    maps onto an options dataclass), quiets TensorFlow unless -v, logs INFO lines with timestamps."""
    verbose = vars(args).pop("verbose")
    quiet_tensorflow(verbose)
    setup_logging(verbose, logging.INFO, JOB_LOG_FORMAT)


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """--threads, --config, -v: the flags of every command that loads one model (`--model`, a
    .tflite or a checkpoint) through `albert_edge.inference`."""
    p.add_argument("--threads", type=thread_count, default=1, help=f"TFLite interpreter threads (1 to {MAX_THREADS})")
    p.add_argument("--config", help="albert_config*.json of a checkpoint that has none beside it")
    p.add_argument("-v", "--verbose", action="store_true", help="INFO logging and TensorFlow's own log lines")


def start_model_command(args: argparse.Namespace) -> Tuple[type, ...]:
    """Logging and a quiet TensorFlow (loaded now only for a checkpoint) for a command on `args.model`;
    returns the error types that mean "unusable model or input": exit 2, printed without a traceback."""
    setup_logging(args.verbose)
    quiet_tensorflow(args.verbose, preload=not str(args.model).endswith(".tflite"))
    from albert_edge.checkpoint import CheckpointError
    from albert_edge.config import ConfigError
    from albert_edge.runtime import ModelError
    return (CheckpointError, ConfigError, ModelError, ValueError)


def run_job(job: Callable[[], Any], user_errors: Tuple[type, ...], ensure_ascii: bool = True) -> int:
    """The end of every job command: run `job`, print its result as one JSON line (exit 0).

    A user mistake (one of `user_errors`) or a full / read-only disk prints `error: …` without a
    traceback (exit 2); any other OSError is a bug and raises."""
    try:
        result = job()
    except user_errors as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as err:
        if not is_environment_error(err):
            raise
        print(f"error: {describe_os_error(err)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as err:   # TensorFlow's file writers report a full disk as their own error type
        if not is_disk_full(err):
            raise
        print(f"error: cannot write: {str(err).splitlines()[0][:300]} — free some space or choose another "
              f"location (what was written before is intact)", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(result, ensure_ascii=ensure_ascii))
    return EXIT_OK


def is_disk_full(err: BaseException) -> bool:
    """ENOSPC / EDQUOT, as Python raises it or as a TensorFlow OpError (SaveV2, TFRecordWriter) says it."""
    if getattr(err, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
        return True
    return type(err).__module__.startswith("tensorflow") and (
        "No space left on device" in str(err) or "Disk quota exceeded" in str(err))


def is_environment_error(err: BaseException) -> bool:
    """An OSError that the user fixes (full disk, read-only or unwritable folder, path is a file)."""
    return isinstance(err, OSError) and getattr(err, "errno", None) in _ENVIRONMENT_ERRNOS


def describe_os_error(err: OSError, what: str = "cannot write") -> str:
    """'cannot write /x/y: No space left on device — free space or choose another location'."""
    hints = {errno.ENOSPC: "free some space or choose another location",
             errno.EDQUOT: "free some space or choose another location",
             errno.EROFS: "the filesystem is read-only: choose a writable location",
             errno.EACCES: "no permission: choose a folder you can write to",
             errno.EPERM: "no permission: choose a folder you can write to",
             errno.ENOTDIR: "a part of the path is a file, not a folder",
             errno.EEXIST: "a file is in the way of a folder",
             errno.EISDIR: "the path is a folder, not a file",
             errno.ENOENT: "the path does not exist"}
    where = err.filename if getattr(err, "filename", None) else ""
    reason = err.strerror or str(err)
    hint = hints.get(err.errno, "")
    return f"{what} {where}: {reason}" + (f" — {hint}" if hint else "")


def check_writable_dir(path: str | os.PathLike, flag: str = "--out") -> None:
    """Create `path` if needed and prove a file can be written in it, before any slow work.

    Raises ValueError with the flag, the path and the fix (a file in the way, read-only, no space).
    """
    import tempfile  # noqa: PLC0415

    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"{flag} {path} is a file, not a folder: remove it or choose another {flag}")
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.NamedTemporaryFile(prefix=".write_test.", dir=path):
            pass
    except OSError as err:
        raise ValueError(f"{flag} {path}: not a writable folder ({err.strerror or err}); "
                         f"choose another {flag}") from None


def check_writable_file(path: str | os.PathLike, flag: str) -> None:
    """The folder of an output file exists (or can be made) and takes a file; the path is no folder."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ValueError(f"{flag} {path} is a folder; give a file name")
    check_writable_dir(os.path.dirname(os.path.abspath(path)), flag=f"{flag} folder of")
