"""Metrics shared by training, evaluation and the export report (no TensorFlow)."""
from __future__ import annotations

import numpy as np


def wilson_interval(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % (z = 1.96) Wilson score interval of an accuracy of correct / n.

    Why: 2,000 validation pairs give about ±2 points; two models closer than that are not shown
    to differ, and picking the best of many evaluations on the same file is optimistic by part of it.
    """
    if n <= 0:
        raise ValueError("an interval needs at least one example")
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return round(float(centre - half), 4), round(float(centre + half), 4)
