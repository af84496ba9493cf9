package org.albertedge.demo;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.Test;

/** The fallback order the README and the screen state, and the per-SoC file names of the export. */
public class AcceleratorPlanTest {

  private static List<String> describe(List<AcceleratorPlan.Step> steps) {
    List<String> out = new ArrayList<>();
    for (AcceleratorPlan.Step s : steps) {
      out.add(s.accelerator + ":" + s.modelPath);
    }
    return out;
  }

  @Test
  public void fallbackOrder() {
    assertEquals(List.of("CPU:m.tflite"),
        describe(AcceleratorPlan.steps(AcceleratorPlan.Choice.CPU, "m.tflite", "m.sm8650.tflite", "sm8650")));
    assertEquals(List.of("GPU:m.tflite", "CPU:m.tflite"),
        describe(AcceleratorPlan.steps(AcceleratorPlan.Choice.GPU, "m.tflite", null, null)));
    assertEquals(List.of("NPU:m.sm8650.tflite", "NPU:m.tflite", "CPU:m.tflite"),
        describe(AcceleratorPlan.steps(AcceleratorPlan.Choice.NPU, "m.tflite", "m.sm8650.tflite", "sm8650")));
    assertEquals(List.of("NPU:m.tflite", "CPU:m.tflite"),
        describe(AcceleratorPlan.steps(AcceleratorPlan.Choice.NPU, "m.tflite", null, null)));
    List<AcceleratorPlan.Step> npu =
        AcceleratorPlan.steps(AcceleratorPlan.Choice.NPU, "m.tflite", "m.sm8650.tflite", "sm8650");
    assertEquals("NPU (AOT-compiled for sm8650)", npu.get(0).label);
    assertEquals("NPU (compiled on the device)", npu.get(1).label);
    assertEquals(AcceleratorPlan.Choice.CPU, npu.get(2).accelerator);
  }

  @Test
  public void perSocFileNames() {
    assertEquals("albert_tiny_int8.sm8650.tflite", AcceleratorPlan.aotName("albert_tiny_int8.tflite", "SM8650"));
    assertEquals("albert_tiny_int8.sm8650.tflite", AcceleratorPlan.aotName("albert_tiny_int8.tflite", " sm8650 "));
    assertTrue(AcceleratorPlan.isAotName("albert_tiny_int8.sm8650.tflite"));
    assertFalse(AcceleratorPlan.isAotName("albert_tiny_int8.tflite"));
    assertFalse(AcceleratorPlan.isAotName("albert_tiny_dynamic_int8.tflite"));
  }
}
