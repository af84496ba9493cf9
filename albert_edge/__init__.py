"""albert_edge — on-device deployment kit for Chinese ALBERT-tiny (albert_zh).

checkpoint → model → frozen → tflite → benchmark / app; see ARCHITECTURE.md for the module map.
"""
import os

__version__ = "0.1.0"

# TensorFlow turns its oneDNN CPU kernels on by itself only on CPUs with AVX-512 VNNI/BF16 or AMX; on the
# AVX2 machines most developers and CI runners have it falls back to Eigen, which trains ALBERT-tiny
# 1.4-1.6x slower (benchmarks/train_throughput.py: 33.8 -> 47.4 fine-tuning pairs/s at seq 64).
# It has to be set before TensorFlow is imported; ``TF_ENABLE_ONEDNN_OPTS=0`` in the environment wins.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
