"""FLOPs of an ALBERT forward pass, counted from the config, and the machine's sgemm peak.

Why: "fast" needs a ceiling. The forward pass of a small transformer at batch 1 is a chain of
matrix products; everything else (LayerNorm, softmax, GELU, adds) is O(seq·H) and is left out of
the count on purpose — it is the overhead a runtime should hide, not work the roofline grants.
Dividing the matmul FLOPs by the single-thread peak GEMM rate measured on the same machine gives
the *roofline time*; `fraction = roofline_ms / measured_ms` says how close a runtime gets.

Counted (2 FLOPs per multiply-add, batch 1, sequence length L):

* embedding projection  L·E·H (brightmart `word_embeddings_2`, Google `embedding_hidden_mapping_in`)
* per layer: Q, K, V, output projections 4·L·H·H; attention scores L·L·H; context L·L·H;
  FFN 2·L·H·I (layers = num_hidden_layers × inner_group_num: shared weights still run every time)
* pooler H·H and classifier H·num_labels on the [CLS] vector only.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from typing import Dict

from albert_edge.config import AlbertConfig

logger = logging.getLogger(__name__)


def forward_flops(config: AlbertConfig, seq_len: int, num_labels: int = 2) -> Dict[str, int]:
    """Matmul FLOPs of one classifier forward pass, by part, plus `total`."""
    L, E, H, I = seq_len, config.embedding_size, config.hidden_size, config.intermediate_size
    layers = config.num_hidden_layers * config.inner_group_num
    macs = {
        "embedding_projection": L * E * H,                 # [L,E] @ [E,H]
        "qkv_output": layers * 4 * L * H * H,              # 4 × [L,H] @ [H,H]
        "attention_scores": layers * L * L * H,            # heads × [L,D] @ [D,L], heads·D = H
        "attention_context": layers * L * L * H,           # heads × [L,L] @ [L,D]
        "ffn": layers * 2 * L * H * I,                     # [L,H] @ [H,I] and [L,I] @ [I,H]
        "pooler_classifier": H * H + H * num_labels,       # [CLS] only
    }
    flops = {k: 2 * v for k, v in macs.items()}
    flops["total"] = sum(flops.values())
    return flops


def roofline_ms(flops: int, peak_gflops: float) -> float:
    """The least time `flops` can take at `peak_gflops` (GFLOP/s)."""
    return flops / (peak_gflops * 1e9) * 1e3


def roofline_fraction(flops: int, peak_gflops: float, measured_ms: float) -> float:
    """Share of the roofline a measured latency reaches (1.0 = at the GEMM peak)."""
    return roofline_ms(flops, peak_gflops) / measured_ms if measured_ms > 0 else float("nan")


# ------------------------------------------------------------------------------ peak GEMM rate
_PEAK_SNIPPET = r"""
import sys, time, numpy as np
n, repeats = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
a = rng.random((n, n), dtype=np.float32); b = rng.random((n, n), dtype=np.float32)
a @ b
best = min((lambda t0: (a @ b, time.perf_counter() - t0)[1])(time.perf_counter()) for _ in range(repeats))
print(2 * n ** 3 / best / 1e9)
"""


def measure_peak_gflops(threads: int = 1, n: int = 384, repeats: int = 500) -> float:
    """Peak sgemm GFLOP/s of numpy's BLAS (OpenBLAS) on `threads` threads: best of `repeats`
    products of two n×n float32 matrices (384³ ≈ 1.3 ms a product, operands beyond L2: short
    enough that some runs escape a busy neighbour's time slice, big enough for the BLAS to peak).

    Why a subprocess: OpenBLAS fixes its thread count when it loads, so the limit must be in the
    environment before numpy is imported. Why the best run and not the median: this is the
    machine's ceiling; on a shared machine the median measures the neighbours.
    """
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    out = subprocess.run([sys.executable, "-c", _PEAK_SNIPPET, str(n), str(repeats)], env=env,
                         capture_output=True, text=True, check=True)
    value = float(out.stdout.strip().splitlines()[-1])
    logger.info("peak sgemm (numpy/OpenBLAS, %d thread(s), %d³, best of %d): %.1f GFLOP/s", threads, n, repeats, value)
    return value

