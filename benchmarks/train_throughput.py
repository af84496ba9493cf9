"""Training throughput: albert_edge vs Hugging Face transformers (PyTorch CPU), albert_tiny.

    python benchmarks/train_throughput.py --seq-lens 64 128 --batch-size 32 --threads 2

Thin entry point; the benchmark lives in `albert_edge/train/throughput.py`
(`python -m albert_edge.train.throughput`).
"""
import sys

from albert_edge.train.throughput import main

if __name__ == "__main__":
    sys.exit(main())
