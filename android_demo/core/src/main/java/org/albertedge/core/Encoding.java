package org.albertedge.core;

import java.util.Arrays;

/** Model inputs for one example, padded to {@code maxSeqLen}; mirrors Python's {@code Encoding}. */
public final class Encoding {
  public final int[] inputIds;
  public final int[] inputMask;
  public final int[] segmentIds;
  /** Unpadded length, including [CLS] and [SEP]s. */
  public final int numTokens;
  /** Whether any text token was cut to fit. */
  public final boolean truncated;

  public Encoding(int[] inputIds, int[] inputMask, int[] segmentIds, int numTokens, boolean truncated) {
    this.inputIds = inputIds;
    this.inputMask = inputMask;
    this.segmentIds = segmentIds;
    this.numTokens = numTokens;
    this.truncated = truncated;
  }

  public int maxSeqLen() {
    return inputIds.length;
  }

  /** The line {@code python -m albert_edge.tokenize} prints: compact JSON, fixed key order. */
  public String toJson() {
    StringBuilder sb = new StringBuilder(inputIds.length * 8 + 64);
    sb.append("{\"input_ids\":");
    appendArray(sb, inputIds);
    sb.append(",\"input_mask\":");
    appendArray(sb, inputMask);
    sb.append(",\"segment_ids\":");
    appendArray(sb, segmentIds);
    return sb.append('}').toString();
  }

  private static void appendArray(StringBuilder sb, int[] values) {
    sb.append('[');
    for (int i = 0; i < values.length; i++) {
      if (i > 0) {
        sb.append(',');
      }
      sb.append(values[i]);
    }
    sb.append(']');
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Encoding)) {
      return false;
    }
    Encoding e = (Encoding) o;
    return numTokens == e.numTokens && truncated == e.truncated
        && Arrays.equals(inputIds, e.inputIds) && Arrays.equals(inputMask, e.inputMask)
        && Arrays.equals(segmentIds, e.segmentIds);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(inputIds) * 31 + numTokens;
  }

  @Override
  public String toString() {
    return "Encoding(numTokens=" + numTokens + ", truncated=" + truncated + ", " + toJson() + ")";
  }
}
