"""Every file the package ships, by name: the one place that knows where they lie.

Why one module: the main job must run on a machine without `../shared`, so every default input
(vocabulary, configs, calibration / evaluation samples, the behaviour suite, the bundled model) is
a bundled file — and a path spelled out in five modules drifts the day one file moves.
Importing this costs nothing (no TensorFlow, no file reads).
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict

ROOT = Path(__file__).resolve().parent
PACKAGE_DIR = ROOT.parent
# The source checkout (models/ lives beside the package, not inside it: it is the one binary we commit).
REPO_DIR = PACKAGE_DIR.parent

VOCAB = ROOT / "vocab.txt"                       # albert_zh's 21,128-token Chinese vocabulary
CONFIGS = ROOT / "configs"                       # albert_zh's albert_config_*.json files
SAMPLES = ROOT / "samples"                       # small labelled sets (see samples/README.md)
LCQMC_CALIBRATION = SAMPLES / "lcqmc_calib.tsv"  # 300 LCQMC train pairs: int8 calibration
LCQMC_DEV = SAMPLES / "lcqmc_dev.tsv"            # all 8,802 LCQMC dev pairs: the export's evaluation
LCQMC_VALID = SAMPLES / "lcqmc_valid.tsv"        # 2,000 held-out LCQMC dev pairs: peers, behaviour seeds
BEHAVIOUR_HAND_WRITTEN = ROOT / "behaviour" / "hand_written.tsv"

# The bundled demo model per preset (trained by albert_edge.pretrain + albert_edge.finetune; see its card).
BUNDLED_MODELS: Dict[str, Path] = {"tiny": REPO_DIR / "models" / "albert_tiny_lcqmc"}
DEFAULT_MODEL = BUNDLED_MODELS["tiny"]


def config_file(name: str) -> Path:
    """A bundled albert_zh config by its file stem, e.g. `albert_config_tiny`."""
    return CONFIGS / f"{name}.json"
