"""albert_edge — on-device deployment kit for Chinese ALBERT-tiny (albert_zh).

checkpoint → model → frozen → tflite → benchmark / app; see ARCHITECTURE.md for the module map.
"""
__version__ = "0.1.0"
