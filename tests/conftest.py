"""Shared pytest setup: quiet TensorFlow, one thread per op (CI has 2 cores shared by suites)."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
