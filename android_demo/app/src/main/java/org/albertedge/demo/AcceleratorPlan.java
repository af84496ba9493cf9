package org.albertedge.demo;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * The order in which the app tries to compile a model for the accelerator the user picked; the
 * first that compiles and runs is the one the screen names. Pure Java without LiteRT classes (an
 * APK without LiteRT must get as far as SimilarityModel's message), so the JVM tests check it.
 *
 * <ul>
 *   <li>CPU: the CPU (XNNPACK kernels).
 *   <li>GPU: the GPU, else the CPU.
 *   <li>NPU: the model AOT-compiled for this phone's SoC ({@code albert_tiny_<variant>.<soc>.tflite},
 *       SoC from {@code Build.SOC_MODEL}, API 31+) when the assets or the AI pack hold one, else the
 *       plain model compiled for the NPU on the device, else the CPU.
 * </ul>
 */
final class AcceleratorPlan {

  /** What the user can pick. */
  enum Choice {
    CPU,
    GPU,
    NPU
  }

  /** One try: which model file, compiled for which accelerator, and what the screen calls it. */
  static final class Step {
    final Choice accelerator;
    final String modelPath;
    final String label;

    Step(Choice accelerator, String modelPath, String label) {
      this.accelerator = accelerator;
      this.modelPath = modelPath;
      this.label = label;
    }

    @Override
    public String toString() {
      return label + " <- " + modelPath;
    }
  }

  private AcceleratorPlan() {}

  /**
   * The file name the export gives a model AOT-compiled for {@code soc}:
   * {@code albert_tiny_int8.tflite} + "SM8650" -> {@code albert_tiny_int8.sm8650.tflite}.
   */
  static String aotName(String modelName, String soc) {
    String base = modelName.endsWith(".tflite")
        ? modelName.substring(0, modelName.length() - ".tflite".length()) : modelName;
    return base + "." + soc.trim().toLowerCase(Locale.ROOT) + ".tflite";
  }

  /** Whether {@code name} is a per-SoC model (not offered in the model menu). */
  static boolean isAotName(String name) {
    return name.endsWith(".tflite") && name.substring(0, name.length() - ".tflite".length()).contains(".");
  }

  /**
   * @param choice what the user picked
   * @param modelPath the plain (CPU/GPU, on-device-compilable) model
   * @param aotModelPath the model AOT-compiled for this SoC, or null when there is none (or the
   *     SoC is unknown: Build.SOC_MODEL needs API 31)
   * @param soc this phone's SoC as the file names spell it ("sm8650"), or null
   */
  static List<Step> steps(Choice choice, String modelPath, String aotModelPath, String soc) {
    List<Step> out = new ArrayList<>();
    switch (choice) {
      case NPU:
        if (aotModelPath != null) {
          out.add(new Step(Choice.NPU, aotModelPath, "NPU (AOT-compiled for " + soc + ")"));
        }
        out.add(new Step(Choice.NPU, modelPath, "NPU (compiled on the device)"));
        break;
      case GPU:
        out.add(new Step(Choice.GPU, modelPath, "GPU"));
        break;
      case CPU:
        break;
    }
    out.add(new Step(Choice.CPU, modelPath, "CPU"));
    return Collections.unmodifiableList(out);
  }
}
