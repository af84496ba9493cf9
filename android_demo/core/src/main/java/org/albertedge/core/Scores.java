package org.albertedge.core;

import java.util.List;

/** Turning classifier outputs into the number the app shows. */
public final class Scores {
  private Scores() {}

  /** Numerically stable softmax (subtracts the max logit first). */
  public static float[] softmax(float[] logits) {
    if (logits.length == 0) {
      throw new IllegalArgumentException("softmax of no logits");
    }
    float max = Float.NEGATIVE_INFINITY;
    for (float v : logits) {
      max = Math.max(max, v);
    }
    double sum = 0;
    double[] exp = new double[logits.length];
    for (int i = 0; i < logits.length; i++) {
      exp[i] = Math.exp(logits[i] - max);
      sum += exp[i];
    }
    float[] out = new float[logits.length];
    for (int i = 0; i < logits.length; i++) {
      out[i] = (float) (exp[i] / sum);
    }
    return out;
  }

  /** Index of the highest value (first one on ties). */
  public static int argmax(float[] values) {
    int best = 0;
    for (int i = 1; i < values.length; i++) {
      if (values[i] > values[best]) {
        best = i;
      }
    }
    return best;
  }

  /**
   * Which label means "the two sentences mean the same": "same", else "1" (LCQMC's raw label),
   * else the last of two labels (the binary convention: index 1 is the positive class).
   */
  public static int positiveIndex(List<String> labels) {
    int i = labels.indexOf("same");
    if (i >= 0) {
      return i;
    }
    i = labels.indexOf("1");
    if (i >= 0) {
      return i;
    }
    if (labels.size() == 2) {
      return 1;
    }
    throw new IllegalArgumentException("cannot tell which of the labels " + labels
        + " means 'same meaning': expected a label named \"same\"");
  }
}
