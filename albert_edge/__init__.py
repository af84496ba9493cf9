"""albert_edge — on-device deployment kit for Chinese ALBERT-tiny (albert_zh).

checkpoint → model → frozen → tflite → benchmark / app; see ARCHITECTURE.md for the module map.
Importing the package changes nothing in the process: the commands set up TensorFlow
(`albert_edge.cli.prefer_onednn_kernels`, `quiet_tensorflow`) before they import it.
"""

__version__ = "0.1.0"
