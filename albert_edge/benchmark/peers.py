"""Side-by-side latency of our TFLite exports against the engines a user would otherwise pick.

``python -m albert_edge.benchmark peers`` (or ``python -m albert_edge.benchmark.peers``) measures,
with the same weights and the same real inputs (tokenized LCQMC pairs), batch 1:

* ``tf``          — our TF SavedModel (the freeze output), fp32;
* ``tflite``      — our ``fp32`` / ``fp16`` / ``dynamic_int8`` / ``int8`` exports through LiteRT (XNNPACK on);
* ``torch``       — Hugging Face ``AlbertForSequenceClassification`` on PyTorch CPU, weights written by
  ``checkpoint.save_hf`` from the same model;
* ``onnxruntime`` — ``torch.onnx.export`` of that HF model, fp32 and ``quantize_dynamic`` int8.

Why one subprocess per engine: peak RSS must be the engine's own (a process that imports only what
that engine needs, loads the model and runs it), not the sum of everything loaded before. Why
interleaved: the machine is shared; round-robin visits (one untimed run, then ``--chunk`` timed
runs) spread the neighbours' noise over every engine instead of biasing whichever ran last.
Only one worker runs at a time; the others wait on a pipe.

Also measured: mean latency per pair over the real length mix (length buckets for the fixed-shape
engines, exact lengths for the dynamic-shape peers) against padding every pair to 128, and the
roofline — matmul FLOPs from the config ÷ the single-thread numpy/OpenBLAS sgemm peak measured in
the same run (see ``albert_edge.benchmark.flops``).
"""
from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import logging
import os
import platform
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from albert_edge import resources
from albert_edge.benchmark import flops as fl
from albert_edge.cli import csv_of, nonnegative_int, positive_int, seq_length, thread_count
from albert_edge.data.tasks import read_texts
from albert_edge.export import variants as export_variants

logger = logging.getLogger(__name__)

ENGINES = ("tf", "tflite", "torch", "onnxruntime")
TFLITE_VARIANTS = export_variants.default_names()   # the export's default set (albert_edge.export.variants)
ORT_VARIANTS = ("fp32", "dynamic_int8")
BUCKETS = (32, 64, 128)          # the export's signatures: the length-bucket runtime's choices
DEFAULT_PAIRS = resources.LCQMC_VALID   # held-out LCQMC dev pairs: a real length mix
INPUT_KEYS = ("input_ids", "input_mask", "segment_ids")


@dataclasses.dataclass(frozen=True)
class EngineSpec:
    """One engine × variant × thread count, run in its own worker process."""

    engine: str
    variant: str
    path: str
    threads: int

    @property
    def name(self) -> str:
        return f"{self.engine}/{self.variant}/t{self.threads}"


# ============================================================================ inputs
def pair_lengths_and_feeds(pairs: Sequence[Tuple[str, str]], lengths: Sequence[int]) -> Dict[str, np.ndarray]:
    """Tokenize `pairs` once per length: arrays `L{n}_{input}` int32 [N, n] and `num_tokens` [N]
    (the un-padded length of each pair, capped at max(lengths))."""
    from albert_edge.tokenization import FullTokenizer
    tok = FullTokenizer()
    out: Dict[str, np.ndarray] = {}
    for L in sorted(set(lengths)):
        encs = [tok.encode(a, b, max_seq_len=L) for a, b in pairs]
        for key in INPUT_KEYS:
            out[f"L{L}_{key}"] = np.asarray([getattr(e, key) for e in encs], np.int32)   # [N, L]
        if L == max(lengths):
            out["num_tokens"] = np.asarray([e.num_tokens for e in encs], np.int32)      # [N]
    return out


def bucket_of(num_tokens: int, buckets: Sequence[int]) -> int:
    """The smallest bucket that holds `num_tokens` (else the largest: the pair is truncated)."""
    return next((b for b in sorted(buckets) if num_tokens <= b), max(buckets))


def read_pairs(path: str | os.PathLike, limit: int, seed: int = 0) -> List[Tuple[str, str]]:
    """`limit` pairs sampled (fixed seed) from a TSV of a<TAB>b[<TAB>label] lines; a bad line is a
    `DataError` naming file:line."""
    rows = [(ex.text_a, ex.text_b) for ex in read_texts(path, "pairs")]
    rng = random.Random(seed)
    return rng.sample(rows, min(limit, len(rows)))


# ============================================================================ artifacts
def build_weights(checkpoint: Optional[str], config_file: Optional[str], preset: str = "tiny"):
    """(Keras classifier, config) with the export's weights: the same `ModelDir.resolve` the export
    pipeline runs (a checkpoint, the bundled model, else the seeded random fallback), so the peers
    measure the numbers the export wrote."""
    from albert_edge.model_dir import ModelDir
    model_dir = ModelDir.resolve(checkpoint, config_file, preset)
    return model_dir.build_model(head="classifier"), model_dir.config


def ensure_export(work: Path, checkpoint: Optional[str], config_file: Optional[str], variants: Sequence[str],
                  buckets: Sequence[int] = BUCKETS, preset: str = "tiny") -> Path:
    """Our export (SavedModel + .tflite variants) in `work/export`; the pipeline's fingerprints make
    a second call free. No verify stage: every engine's logits are compared with Keras here."""
    from albert_edge.export import pipeline
    out = work / "export"
    opts = pipeline.ExportOptions(preset=preset, checkpoint=checkpoint, config=config_file, out=str(out),
                                  variants=tuple(variants), seq_lens=tuple(buckets), progress=False,
                                  stages=("freeze", "convert"))   # parity is checked here, per engine
    pipeline.export(opts)
    return out


def ensure_hf_and_onnx(model, work: Path, variants: Sequence[str]) -> Dict[str, Path]:
    """HF folder (`save_hf`), its ONNX export and the dynamic-int8 ONNX, each made once."""
    from albert_edge import checkpoint as ck
    hf = work / "hf"
    if not (hf / "model.safetensors").is_file():
        ck.save_hf(model, hf)
    paths = {"hf": hf}
    if not variants:
        return paths
    onnx_fp32 = work / "onnx" / "model.onnx"
    if not onnx_fp32.is_file():
        export_onnx(hf, onnx_fp32)
    paths["onnx_fp32"] = onnx_fp32
    if "dynamic_int8" in variants:
        onnx_int8 = work / "onnx" / "model_dynamic_int8.onnx"
        if not onnx_int8.is_file():
            from onnxruntime.quantization import QuantType, quantize_dynamic
            quantize_dynamic(str(onnx_fp32), str(onnx_int8), weight_type=QuantType.QInt8)
        paths["onnx_dynamic_int8"] = onnx_int8
    return paths


def export_onnx(hf_dir: Path, out: Path, opset: int = 17) -> None:
    """`torch.onnx.export` of the HF classifier with dynamic batch and length (TorchScript exporter:
    what optimum / most tutorials produce; no onnxscript needed)."""
    import torch
    from transformers import AlbertForSequenceClassification
    model = AlbertForSequenceClassification.from_pretrained(str(hf_dir)).eval()
    x = torch.ones(1, 16, dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.onnx")
    with torch.inference_mode():
        torch.onnx.export(model, (x, x, torch.zeros_like(x)), str(tmp), input_names=names, output_names=["logits"],
                          dynamic_axes={n: {0: "batch", 1: "seq"} for n in names}, opset_version=opset, dynamo=False)
    os.replace(tmp, out)


def path_size_mb(path: str | os.PathLike) -> float:
    """File size, or the total of a folder (SavedModel: graph + variables)."""
    p = Path(path)
    if p.is_dir():
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) / 1e6
    return p.stat().st_size / 1e6


def engine_specs(export_dir: Path, peer_paths: Dict[str, Path], engines: Sequence[str],
                 tflite_variants: Sequence[str], ort_variants: Sequence[str], threads: int) -> List[EngineSpec]:
    specs = []
    if "tf" in engines:
        specs.append(EngineSpec("tf", "savedmodel_fp32", str(export_dir / "saved_model"), threads))
    if "tflite" in engines:
        for v in tflite_variants:
            specs.append(EngineSpec("tflite", v, str(export_dir / f"albert_tiny_{v}.tflite"), threads))
    if "torch" in engines:
        specs.append(EngineSpec("torch", "fp32", str(peer_paths["hf"] / "model.safetensors"), threads))
    if "onnxruntime" in engines:
        for v in ort_variants:
            specs.append(EngineSpec("onnxruntime", v, str(peer_paths[f"onnx_{v}"]), threads))
    return specs


# ============================================================================ worker side
Runner = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]   # ids, mask, seg [1, L] -> logits [1, C]


def _tflite_runner(spec: EngineSpec) -> Tuple[Runner, Optional[List[int]]]:
    from ai_edge_litert.interpreter import Interpreter
    interp = Interpreter(model_path=spec.path, num_threads=spec.threads)   # XNNPACK applied by default
    interp.allocate_tensors()
    runners = {}
    for key in interp.get_signature_list():
        runner = interp.get_signature_runner(key)
        runners[int(runner.get_input_details()["input_ids"]["shape"][-1])] = runner

    def run(ids, mask, seg):
        return runners[ids.shape[1]](input_ids=ids, input_mask=mask, segment_ids=seg)["logits"]
    return run, sorted(runners)


def _tf_runner(spec: EngineSpec) -> Tuple[Runner, Optional[List[int]]]:
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(spec.threads)
    tf.config.threading.set_inter_op_parallelism_threads(spec.threads)
    loaded = tf.saved_model.load(spec.path)
    functions = {}
    for key, fn in loaded.signatures.items():
        if key.startswith("L"):
            functions[int(key[1:])] = fn

    def run(ids, mask, seg):
        return functions[ids.shape[1]](input_ids=tf.constant(ids), input_mask=tf.constant(mask),
                                       segment_ids=tf.constant(seg))["logits"].numpy()
    return run, sorted(functions)


def _torch_runner(spec: EngineSpec) -> Tuple[Runner, Optional[List[int]]]:
    import torch
    from transformers import AlbertForSequenceClassification
    torch.set_num_threads(spec.threads)
    model = AlbertForSequenceClassification.from_pretrained(str(Path(spec.path).parent)).eval()

    def run(ids, mask, seg):
        with torch.inference_mode():
            return model(input_ids=torch.from_numpy(ids.astype(np.int64)),
                         attention_mask=torch.from_numpy(mask.astype(np.int64)),
                         token_type_ids=torch.from_numpy(seg.astype(np.int64))).logits.numpy()
    return run, None


def _ort_runner(spec: EngineSpec) -> Tuple[Runner, Optional[List[int]]]:
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = spec.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(spec.path, options, providers=["CPUExecutionProvider"])

    def run(ids, mask, seg):
        return session.run(["logits"], {"input_ids": ids.astype(np.int64), "attention_mask": mask.astype(np.int64),
                                        "token_type_ids": seg.astype(np.int64)})[0]
    return run, None


RUNNERS = {"tflite": _tflite_runner, "tf": _tf_runner, "torch": _torch_runner, "onnxruntime": _ort_runner}


def peak_rss_mb() -> float:
    """This process's peak resident set in MB.

    Why VmHWM and not ru_maxrss: on Linux ru_maxrss survives fork+exec, so a worker started by a
    1 GB parent would report the parent's peak; VmHWM belongs to the exec'd image only.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024          # kB
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1 << 20) if sys.platform == "darwin" else rss / 1024


def _feeds_at(data: Dict[str, np.ndarray], L: int, i: int, length: Optional[int] = None):
    """Pair i's int32 [1, length] arrays, taken from its length-L encoding (a prefix of a padded
    encoding is the encoding at that length when nothing was truncated)."""
    n = length or L
    return tuple(data[f"L{L}_{k}"][i:i + 1, :n].copy() for k in INPUT_KEYS)


def worker_main(spec_json: str, inputs_path: str) -> int:
    """Load one engine, report `ready`, then answer JSON commands on stdin, one per line:
    {"op": "lat", "L": n, "runs": k} → per-run ms after one untimed run;
    {"op": "mix", "mode": "pad"|"real"} → ms per pair over the pair list; {"op": "quit"}."""
    spec = EngineSpec(**json.loads(spec_json))
    data = dict(np.load(inputs_path))
    n_pairs = len(data["num_tokens"])
    pad_len = int(data["pad_len"])
    t0 = time.perf_counter()
    run, fixed = RUNNERS[spec.engine](spec)
    load_ms = (time.perf_counter() - t0) * 1e3
    probe = run(*_feeds_at(data, pad_len, 0))                       # also the first (warm-up) run
    for L in fixed or [int(n) for n in sorted(set(data["num_tokens"][:8]))]:
        run(*_feeds_at(data, pad_len, 0, L))                        # first call per shape: warm-up, untimed
    reply = {"ready": True, "load_ms": load_ms, "fixed_lengths": fixed, "probe_logits": np.asarray(probe).tolist(),
             "rss_mb": peak_rss_mb()}
    print(json.dumps(reply), flush=True)
    cursor = 0
    gc.disable()   # a GC pause inside a timed run is the harness's noise, not the engine's
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "quit":
            break
        times: List[float] = []
        if cmd["op"] == "lat":
            L = int(cmd["L"])
            run(*_feeds_at(data, L, cursor % n_pairs))
            for _ in range(int(cmd["runs"])):
                cursor += 1
                feeds = _feeds_at(data, L, cursor % n_pairs)
                t = time.perf_counter()
                run(*feeds)
                times.append((time.perf_counter() - t) * 1e3)
        elif cmd["op"] == "mix":
            buckets = fixed or []
            start = int(cmd.get("start", 0))
            for i in range(start, min(start + int(cmd.get("n", n_pairs)), n_pairs)):
                if cmd["mode"] == "pad":
                    feeds = _feeds_at(data, pad_len, i)
                elif fixed:
                    feeds = _feeds_at(data, pad_len, i, bucket_of(int(data["num_tokens"][i]), buckets))
                else:
                    feeds = _feeds_at(data, pad_len, i, int(data["num_tokens"][i]))
                t = time.perf_counter()
                run(*feeds)
                times.append((time.perf_counter() - t) * 1e3)
        print(json.dumps({"ms": times, "rss_mb": peak_rss_mb()}), flush=True)
    return 0


# ============================================================================ parent side
class Worker:
    """A worker subprocess: one engine, loaded once, driven over pipes."""

    def __init__(self, spec: EngineSpec, inputs_path: Path, timeout_s: float = 600.0):
        self.spec = spec
        env = dict(os.environ)
        # numpy's OpenBLAS spins its own threads; keep them out of the engine's timing and RSS
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS=str(spec.threads), TF_CPP_MIN_LOG_LEVEL="2",
                   TOKENIZERS_PARALLELISM="false")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "albert_edge.benchmark.peers", "--worker", json.dumps(dataclasses.asdict(spec)),
             "--inputs", str(inputs_path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        self.ready = self._read()
        self.rss_mb = float(self.ready["rss_mb"])

    def _read(self) -> dict:
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"worker {self.spec.name} exited (code {self.proc.poll()}); "
                                   f"run it alone: python -m albert_edge.benchmark.peers --worker '...'")
            line = line.strip()
            if line.startswith("{"):
                return json.loads(line)

    def ask(self, **cmd) -> List[float]:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        reply = self._read()
        self.rss_mb = max(self.rss_mb, float(reply["rss_mb"]))
        return reply["ms"]

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()


def interleaved_latency(workers: Sequence[Worker], seq_lens: Sequence[int], runs: int, chunk: int,
                        seed: int = 0, progress: bool = True) -> Dict[Tuple[str, int], List[float]]:
    """Round-robin: each visit runs one untimed then `chunk` timed forward passes of one worker at
    one length, in a shuffled order per round, until every (worker, length) has `runs` timings."""
    from tqdm import tqdm
    rng = random.Random(seed)
    times: Dict[Tuple[str, int], List[float]] = {(w.spec.name, L): [] for w in workers for L in seq_lens}
    rounds = max(1, -(-runs // chunk))
    jobs = [(w, L) for w in workers for L in seq_lens]
    with tqdm(total=rounds * len(jobs), desc="latency", unit="visit", disable=not progress) as bar:
        for _ in range(rounds):
            rng.shuffle(jobs)
            for w, L in jobs:
                need = runs - len(times[(w.spec.name, L)])
                if need > 0:
                    times[(w.spec.name, L)].extend(w.ask(op="lat", L=L, runs=min(chunk, need)))
                bar.update()
    return times


def measure_mix(workers: Sequence[Worker], n_pairs: int, chunk: int = 25, seed: int = 0,
                progress: bool = True) -> Dict[Tuple[str, str], List[float]]:
    """Per-pair latency over the real pairs: padded to the longest bucket, and at real lengths
    (buckets for fixed-shape engines, exact lengths for dynamic-shape ones). Interleaved like the
    fixed-length runs: `chunk` pairs per visit, engines and modes shuffled per round."""
    from tqdm import tqdm
    rng = random.Random(seed)
    out: Dict[Tuple[str, str], List[float]] = {(w.spec.name, m): [] for w in workers for m in ("pad", "real")}
    jobs = [(w, mode) for mode in ("pad", "real") for w in workers]
    starts = list(range(0, n_pairs, chunk))
    with tqdm(total=len(starts) * len(jobs), desc="length mix", unit="visit", disable=not progress) as bar:
        for start in starts:
            rng.shuffle(jobs)
            for w, mode in jobs:
                out[(w.spec.name, mode)] += w.ask(op="mix", mode=mode, start=start, n=min(chunk, n_pairs - start))
                bar.update()
    return out


# ============================================================================ summary
def summarize_latency(workers: Sequence[Worker], times, flops_by_len: Dict[int, int],
                      peak_gflops: float) -> List[dict]:
    """One record per engine × variant × threads × length; ratio to the best TFLite at that
    (threads, length); roofline fraction against threads × the single-thread peak."""
    records = []
    for w in workers:
        for (name, L), ms in times.items():
            if name != w.spec.name:
                continue
            median = float(np.median(ms))
            records.append({
                "engine": w.spec.engine, "variant": w.spec.variant, "threads": w.spec.threads, "seq_len": L,
                "median_ms": round(median, 3), "p90_ms": round(float(np.percentile(ms, 90)), 3),
                "min_ms": round(float(np.min(ms)), 3), "runs": len(ms),
                "peak_rss_mb": round(w.rss_mb, 1), "size_mb": round(path_size_mb(_artifact(w.spec)), 2),
                "gflop": round(flops_by_len[L] / 1e9, 4),
                "roofline_fraction": round(fl.roofline_fraction(flops_by_len[L], peak_gflops * w.spec.threads,
                                                                median), 3),
            })
    for r in records:
        best = min((o["median_ms"] for o in records if o["engine"] == "tflite" and o["threads"] == r["threads"]
                    and o["seq_len"] == r["seq_len"]), default=None)
        r["ratio_to_best_tflite"] = round(r["median_ms"] / best, 3) if best else None
    return records


def _artifact(spec: EngineSpec) -> str:
    return spec.path


def summarize_mix(workers: Sequence[Worker], mix, num_tokens: np.ndarray, pad_len: int) -> List[dict]:
    out = []
    for w in workers:
        pad, real = mix.get((w.spec.name, "pad")), mix.get((w.spec.name, "real"))
        if pad is None or real is None:
            continue
        out.append({"engine": w.spec.engine, "variant": w.spec.variant, "threads": w.spec.threads,
                     "pairs": len(pad), "mean_tokens": round(float(np.mean(num_tokens)), 1),
                     "real_mode": "buckets " + "/".join(map(str, w.ready["fixed_lengths"])) if w.ready["fixed_lengths"]
                     else "exact length",
                     "pad_len": pad_len, "padded_mean_ms": round(float(np.mean(pad)), 3), "real_mean_ms": round(float(np.mean(real)), 3),
                     "speedup": round(float(np.mean(pad) / np.mean(real)), 2)})
    return out


def render_markdown(result: dict) -> str:
    """The tables of PERFORMANCE.md."""
    lines = []
    peak = result["peak_gflops"]
    lines.append(f"Peak sgemm ({result['peak_method']}): **{peak:.1f} GFLOP/s**; "
                 "forward-pass matmul FLOPs: " + ", ".join(
                     f"L{L}: {g / 1e9:.3f} GFLOP → roofline {fl.roofline_ms(g, peak):.2f} ms"
                     for L, g in sorted(result["flops"].items(), key=lambda kv: int(kv[0]))) + ".")
    lines.append("")
    lines.append("| engine | variant | threads | seq | median ms | p90 ms | min ms | × best TFLite | roofline | "
                 "peak RSS MB | size MB |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
    order = {e: i for i, e in enumerate(ENGINES)}
    for r in sorted(result["results"], key=lambda r: (r["threads"], r["seq_len"], order.get(r["engine"], 9),
                                                      r["median_ms"])):
        lines.append(f"| {r['engine']} | {r['variant']} | {r['threads']} | {r['seq_len']} | {r['median_ms']:.2f} | "
                     f"{r['p90_ms']:.2f} | {r['min_ms']:.2f} | {r['ratio_to_best_tflite']:.2f} | {100 * r['roofline_fraction']:.0f}% | "
                     f"{r['peak_rss_mb']:.0f} | {r['size_mb']:.1f} |")
    if result.get("mix"):
        lines.append("")
        m0 = result["mix"][0]
        lines.append(f"Real length mix: {m0['pairs']} LCQMC pairs (mean {m0['mean_tokens']} tokens), mean ms per pair.")
        lines.append("")
        lines.append(f"| engine | variant | threads | padded to {m0['pad_len']} | real lengths | how | speed-up |")
        lines.append("|---|---|---|---|---|---|---|")
        for m in result["mix"]:
            lines.append(f"| {m['engine']} | {m['variant']} | {m['threads']} | {m['padded_mean_ms']:.2f} | "
                         f"{m['real_mean_ms']:.2f} | {m['real_mode']} | {m['speedup']:.2f}× |")
    return "\n".join(lines) + "\n"


def machine_info() -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()}
    try:
        info["load_avg_start"] = list(os.getloadavg())
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return info


# ============================================================================ CLI
def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", help="checkpoint for every engine (default: what the export takes: the bundled model, or with --config "
                        "alone an untrained model of that shape)")
    p.add_argument("--config", help="albert_config*.json (default: beside the checkpoint, else the tiny preset)")
    p.add_argument("--work", default="exports/peers", help="cache of the export, HF and ONNX models (git-ignored)")
    p.add_argument("--engines", type=csv_of(str, "names"), default=list(ENGINES), help=f"subset of {','.join(ENGINES)}")
    p.add_argument("--tflite-variants", type=csv_of(str, "names"), default=list(TFLITE_VARIANTS))
    p.add_argument("--ort-variants", type=csv_of(str, "names"), default=list(ORT_VARIANTS))
    p.add_argument("--threads", type=csv_of(thread_count, "thread counts"), default=[1, 2], help="thread counts (default 1,2)")
    p.add_argument("--seq-lens", type=csv_of(seq_length, "sequence lengths"), default=[32, 128], help="fixed lengths (default 32,128)")
    p.add_argument("--buckets", type=csv_of(positive_int, "positive integers"), default=list(BUCKETS),
                   help="exported lengths (default 32,64,128); the length mix pads to the largest")
    p.add_argument("--runs", type=positive_int, default=60, help="timed runs per engine × length × threads")
    p.add_argument("--chunk", type=positive_int, default=5, help="timed runs per visit of the round robin")
    p.add_argument("--pairs", default=str(DEFAULT_PAIRS), help="TSV of real pairs (a<TAB>b<TAB>label)")
    p.add_argument("--mix-pairs", type=nonnegative_int, default=200, help="pairs in the length-mix measurement (0: skip)")
    p.add_argument("--mix-threads", type=csv_of(thread_count, "thread counts"), default=[1], help="thread counts for the length mix")
    p.add_argument("--json", dest="json_out", help="write results (records under 'results') to this file")
    p.add_argument("--markdown", help="write the Markdown tables to this file")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--seed", type=int, default=0)


# The Python modules each engine runs on (the tf and tflite engines need only the package itself).
ENGINE_MODULES = {"torch": ("torch", "transformers"), "onnxruntime": ("torch", "transformers", "onnx", "onnxruntime")}


def missing_modules(engines: Sequence[str]) -> List[str]:
    """The modules `engines` need that cannot be imported here (looked up, not imported)."""
    import importlib.util  # noqa: PLC0415

    wanted = sorted({m for e in engines for m in ENGINE_MODULES.get(e, ())})
    return [m for m in wanted if importlib.util.find_spec(m) is None]


def run(args: argparse.Namespace) -> int:
    bad = sorted(set(args.engines) - set(ENGINES))
    if bad:
        logger.error("unknown engine(s) %s; choose from %s", bad, ",".join(ENGINES))
        return 2
    missing = missing_modules(args.engines)
    if missing:
        logger.error("the engines %s need %s, which %s not installed: pip install -e '.[test]' (the test extra; "
                     "or leave them out with --engines tf,tflite)",
                     ",".join(e for e in args.engines if set(ENGINE_MODULES.get(e, ())) & set(missing)),
                     ", ".join(missing), "is" if len(missing) == 1 else "are")
        return 2
    for flag, path in (("--json", args.json_out), ("--markdown", args.markdown)):
        if path and os.path.realpath(path) in {os.path.realpath(p) for p in (args.pairs, args.checkpoint, args.config) if p}:
            logger.error("%s %s is also an input: writing it would destroy the input; choose another %s",
                         flag, path, flag)
            return 2
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    progress = not args.no_progress
    from albert_edge.data.tasks import DataError
    from albert_edge.export.options import ExportError
    from albert_edge.model_dir import ModelDirError
    try:   # unusable inputs stop here, before minutes of exporting
        pairs = read_pairs(Path(args.pairs), max(args.mix_pairs, 32), args.seed)
        model, config = build_weights(args.checkpoint, args.config)
    except (DataError, ModelDirError) as err:
        logger.error("%s", err)
        return 2
    info = machine_info()
    logger.info("machine: %s", info)
    buckets = sorted(set(args.buckets) | set(args.seq_lens))
    try:
        export_dir = ensure_export(work, args.checkpoint, args.config, args.tflite_variants, buckets)
    except ExportError as err:
        logger.error("%s", err)
        return 2
    peers = ensure_hf_and_onnx(model, work, args.ort_variants if "onnxruntime" in args.engines else [])
    data = pair_lengths_and_feeds(pairs, buckets)
    data["pad_len"] = np.asarray(max(buckets), np.int32)
    inputs_path = work / "inputs.npz"
    np.savez(inputs_path, **data)
    reference = model({k: data[f"L{max(buckets)}_{k}"][:1] for k in INPUT_KEYS}).numpy()   # [1, C]
    del model
    flops_by_len = {L: fl.forward_flops(config, L)["total"] for L in sorted(set(args.seq_lens))}
    peak = fl.measure_peak_gflops(threads=1)

    records, mix_records, probes = [], [], {}
    for threads in args.threads:
        specs = engine_specs(export_dir, peers, args.engines, args.tflite_variants, args.ort_variants, threads)
        workers: List[Worker] = []
        try:
            for spec in specs:
                logger.info("loading %s", spec.name)
                w = Worker(spec, inputs_path)
                workers.append(w)
                delta = float(np.max(np.abs(np.asarray(w.ready["probe_logits"]) - reference)))
                probes[spec.name] = delta
                logger.info("%s: load %.0f ms, max |Δlogit| vs Keras %.2e", spec.name, w.ready["load_ms"], delta)
            times = interleaved_latency(workers, args.seq_lens, args.runs, args.chunk, args.seed, progress)
            if args.mix_pairs and threads in args.mix_threads:
                mix = measure_mix(workers, args.mix_pairs, seed=args.seed, progress=progress)
                mix_records += summarize_mix(workers, mix, data["num_tokens"][:args.mix_pairs], max(buckets))
            records += summarize_latency(workers, times, flops_by_len, peak)
        finally:
            for w in workers:
                w.close()
    try:
        info["load_avg_end"] = list(os.getloadavg())
    except OSError:
        pass
    result = {"machine": info, "peak_gflops": round(peak, 2), "peak_method": "numpy/OpenBLAS sgemm 384³, 1 thread, best of 500",
              "flops": {str(L): v for L, v in flops_by_len.items()}, "max_abs_logit_delta_vs_keras": probes,
              "command": "python -m albert_edge.benchmark peers " + " ".join(sys.argv[2:] if sys.argv[1:2] == ["peers"]
                                                                             else sys.argv[1:]),
              "results": records, "mix": mix_records}
    text = render_markdown(result)
    print(text)
    if args.json_out:
        from albert_edge.benchmark.results_io import atomic_write_text
        atomic_write_text(args.json_out, json.dumps(result, indent=2) + "\n")
    if args.markdown:
        from albert_edge.benchmark.results_io import atomic_write_text
        atomic_write_text(args.markdown, text)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--worker"]:
        # internal: python -m albert_edge.benchmark.peers --worker SPEC_JSON --inputs FILE.npz
        return worker_main(argv[1], argv[argv.index("--inputs") + 1])
    parser = argparse.ArgumentParser(prog="python -m albert_edge.benchmark.peers",
                                     description=(__doc__ or "").strip().splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
