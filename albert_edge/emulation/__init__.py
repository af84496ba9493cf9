"""Running what the phone runs, on this x86 host: the phone's aarch64 CPU kernels and its Hexagon NPU.

One concept, two emulators, one numerics rule:

* ``qemu_cpus`` / ``qemu_env`` / ``qemu_run`` — LiteRT's aarch64 kernels (XNNPACK NEON / dotprod /
  i8mm) under ``qemu-user``, with instruction counts (``benchmark arm``, ``export --verify-arm``);
* ``socs`` / ``qnn_libs`` / ``htp_compile`` / ``htp_run`` — Qualcomm's HTP (Hexagon NPU): the named
  Snapdragon SoCs, the Qualcomm libraries pip installs, ahead-of-time compilation of a ``.tflite``
  (``export --npu``) and the compiled context binary on Qualcomm's HTP emulator
  (``benchmark npu-check``);
* ``numerics`` — the rule both are judged by, against a reference that does not depend on this
  host's instruction set (LiteRT's reference kernels); ``feeds`` — the real inputs both are fed.

Why its own package: the export (``--verify-arm``, ``--npu``) and the benchmarks both use it, and
the export must never import ``albert_edge.benchmark`` (``tests/test_emulation_layout.py``).
Nothing here imports ``albert_edge.benchmark`` or ``albert_edge.export``'s stages.
"""
