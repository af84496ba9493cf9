"""albert_edge.train.calibrate: the output-bias shift that maximises accuracy."""
from __future__ import annotations

import numpy as np
import pytest


def test_bias_calibration_picks_the_accuracy_maximising_shift():
    from albert_edge.train.calibrate import best_shift

    margins = np.array([-3.0, -2.0, -1.5, -1.0, 0.5])
    delta, before, after = best_shift(margins, np.array([0, 0, 1, 1, 1]))
    assert before == pytest.approx(0.6) and after == 1.0 and -2.0 + delta < 0 < -1.5 + delta
    assert best_shift(np.array([-1.0, 1.0]), np.array([0, 1]))[0] == 0.0   # already right: no shift
