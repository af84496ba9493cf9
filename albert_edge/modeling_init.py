"""Deterministic untrained weights for a model (no checkpoint given): reproducible fallbacks.

Kept out of :mod:`albert_edge.modeling` (which imports TensorFlow) so that callers that only hold a
built model need nothing more; the export and the peer benchmarks both use it.
"""
from __future__ import annotations

import numpy as np


def seeded_random_weights(model, seed: int = 0) -> None:
    """Deterministic untrained weights, so the fallback export is reproducible byte for byte."""
    rng = np.random.default_rng(seed)
    for canonical, variable in sorted(model.weight_map().items()):
        if canonical.endswith(("gamma",)):
            value = np.ones(variable.shape, np.float32)
        elif canonical.endswith(("bias", "beta")):
            value = np.zeros(variable.shape, np.float32)
        else:
            value = np.clip(rng.normal(0, 0.02, variable.shape), -0.04, 0.04).astype(np.float32)
        variable.assign(value)
