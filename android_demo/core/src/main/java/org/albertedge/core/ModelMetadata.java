package org.albertedge.core;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The sidecar {@code albert_tiny_<variant>.json} written by {@code python -m albert_edge.export}:
 *
 * <pre>
 * {"seq_lens": [32, 64, 128], "labels": ["different", "same"], "do_lower_case": true,
 *  "vocab_file": "vocab.txt", "input_order": ["input_ids", "input_mask", "segment_ids"],
 *  "signature_prefix": "L"}
 * </pre>
 *
 * Unknown keys are kept in {@link #raw} and ignored, so that the exporter can add fields without
 * breaking installed apps; missing or malformed required keys fail with the key's name.
 */
public final class ModelMetadata {
  public static final List<String> INPUT_NAMES =
      Collections.unmodifiableList(Arrays.asList("input_ids", "input_mask", "segment_ids"));

  public final List<Integer> seqLens;
  public final List<String> labels;
  public final boolean doLowerCase;
  public final String vocabFile;
  public final List<String> inputOrder;
  public final String signaturePrefix;
  /** The exporter's task ("pairs", "single", ...), or null for a model exported without one. */
  public final String task;
  public final Map<String, Object> raw;

  private ModelMetadata(Map<String, Object> raw) {
    this.raw = raw;
    this.seqLens = intList(raw, "seq_lens");
    for (int len : seqLens) {
      if (len < FullTokenizer.minSeqLen(true)) {
        throw invalid("seq_lens", "every length must be at least 4, got " + len);
      }
    }
    this.labels = stringList(raw, "labels");
    if (labels.size() < 2) {
      throw invalid("labels", "need at least two labels, got " + labels);
    }
    this.doLowerCase = bool(raw, "do_lower_case", true);
    this.vocabFile = string(raw, "vocab_file", "vocab.txt");
    this.inputOrder = raw.containsKey("input_order") ? stringList(raw, "input_order") : INPUT_NAMES;
    if (inputOrder.size() != 3 || !inputOrder.containsAll(INPUT_NAMES)) {
      throw invalid("input_order", "must name exactly " + INPUT_NAMES + ", got " + inputOrder);
    }
    this.signaturePrefix = string(raw, "signature_prefix", "L");
    this.task = raw.containsKey("task") ? string(raw, "task", null) : null;
  }

  /**
   * Whether a pair is scored in both orders, (a, b) and (b, a), and the two probability vectors
   * averaged: what albert_edge's runtime does for a model of task "pairs" (similarity is
   * symmetric; a model trained on pairs in one order is not exactly so).
   */
  public boolean scoresBothOrders() {
    return "pairs".equals(task);
  }

  public static ModelMetadata parse(String json) {
    Map<String, Object> raw;
    try {
      raw = MiniJson.parseObject(json);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("model metadata is not valid JSON: " + e.getMessage(), e);
    }
    return new ModelMetadata(raw);
  }

  public static ModelMetadata fromFile(Path path) throws IOException {
    String json = new String(Files.readAllBytes(path), StandardCharsets.UTF_8);
    try {
      return parse(json);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(path + ": " + e.getMessage(), e);
    }
  }

  /** The .tflite signature that runs length {@code seqLen}, e.g. "L64". */
  public String signatureKey(int seqLen) {
    return signaturePrefix + seqLen;
  }

  /** Index of the "same meaning" label in the model's outputs. */
  public int positiveLabelIndex() {
    return Scores.positiveIndex(labels);
  }

  public SeqLenPicker seqLenPicker() {
    return new SeqLenPicker(seqLens);
  }

  private static IllegalArgumentException invalid(String key, String message) {
    return new IllegalArgumentException("model metadata key '" + key + "': " + message);
  }

  private static List<Object> list(Map<String, Object> raw, String key) {
    if (!raw.containsKey(key)) {
      throw invalid(key, "missing");
    }
    Object value = raw.get(key);
    if (!(value instanceof List) || ((List<?>) value).isEmpty()) {
      throw invalid(key, "expected a non-empty array, got " + MiniJson.typeName(value));
    }
    @SuppressWarnings("unchecked")
    List<Object> list = (List<Object>) value;
    return list;
  }

  private static List<Integer> intList(Map<String, Object> raw, String key) {
    List<Integer> out = new ArrayList<>();
    for (Object item : list(raw, key)) {
      if (!(item instanceof Long)) {
        throw invalid(key, "expected integers, got " + MiniJson.typeName(item) + " " + item);
      }
      out.add(((Long) item).intValue());
    }
    return Collections.unmodifiableList(out);
  }

  private static List<String> stringList(Map<String, Object> raw, String key) {
    List<String> out = new ArrayList<>();
    for (Object item : list(raw, key)) {
      if (!(item instanceof String)) {
        throw invalid(key, "expected strings, got " + MiniJson.typeName(item) + " " + item);
      }
      out.add((String) item);
    }
    return Collections.unmodifiableList(out);
  }

  private static boolean bool(Map<String, Object> raw, String key, boolean fallback) {
    Object value = raw.getOrDefault(key, fallback);
    if (!(value instanceof Boolean)) {
      throw invalid(key, "expected true or false, got " + MiniJson.typeName(value));
    }
    return (Boolean) value;
  }

  private static String string(Map<String, Object> raw, String key, String fallback) {
    Object value = raw.getOrDefault(key, fallback);
    if (!(value instanceof String) || ((String) value).isEmpty()) {
      throw invalid(key, "expected a non-empty string, got " + MiniJson.typeName(value));
    }
    return (String) value;
  }
}
