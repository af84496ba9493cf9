package com.google.ai.edge.litert;

/** Hardware accelerators supported by LiteRT (the values of the Kotlin enum). */
public enum Accelerator {
  NONE(0),
  CPU(1),
  GPU(2),
  NPU(3);

  private final int value;

  Accelerator(int value) {
    this.value = value;
  }

  public final int getValue() {
    return value;
  }

  /** The C API's bit (kLiteRtHwAccelerator*) for this accelerator. */
  int hwBit() {
    switch (this) {
      case CPU:
        return LiteRtC.HW_CPU;
      case GPU:
        return LiteRtC.HW_GPU;
      case NPU:
        return LiteRtC.HW_NPU;
      default:
        return 0;
    }
  }
}
