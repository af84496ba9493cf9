package org.albertedge.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/** MiniJson, ModelMetadata, SeqLenPicker and Scores. */
public class MetadataAndScoresTest {
  static final String SIDECAR = "{\"seq_lens\": [32, 64, 128], \"labels\": [\"different\", \"same\"],"
      + " \"do_lower_case\": true, \"vocab_file\": \"vocab.txt\","
      + " \"input_order\": [\"input_ids\", \"input_mask\", \"segment_ids\"],"
      + " \"signature_prefix\": \"L\", \"quantization\": {\"kind\": \"int8\", \"scale\": 0.5e-2}}";

  @Test
  public void miniJsonParsesAllValueKinds() {
    Object v = MiniJson.parse(" {\"a\": [1, -2, 3.5, 1e3, true, false, null, \"x\\u00e9\\ud83d\\ude00\\n\\\"\"], \"b\": {}} ");
    Map<?, ?> m = (Map<?, ?>) v;
    List<?> a = (List<?>) m.get("a");
    assertEquals(1L, a.get(0));
    assertEquals(-2L, a.get(1));
    assertEquals(3.5, a.get(2));
    assertEquals(1000.0, a.get(3));
    assertEquals(Boolean.TRUE, a.get(4));
    assertEquals(Boolean.FALSE, a.get(5));
    assertNull(a.get(6));
    assertEquals("xé😀\n\"", a.get(7));
    assertTrue(((Map<?, ?>) m.get("b")).isEmpty());
    assertEquals("好", MiniJson.parse("\"好\""));
  }

  @Test
  public void miniJsonRejectsMalformedInput() {
    for (String bad : new String[] {"", "{", "[1,]", "{\"a\" 1}", "tru", "\"abc", "[1] x", "{\"a\":01x}", "\"\t\""}) {
      try {
        MiniJson.parse(bad);
        fail("accepted " + bad);
      } catch (IllegalArgumentException e) {
        assertTrue(e.getMessage(), e.getMessage().startsWith("invalid JSON at offset"));
      }
    }
  }

  @Test
  public void metadataReadsTheSidecar() {
    ModelMetadata m = ModelMetadata.parse(SIDECAR);
    assertEquals(Arrays.asList(32, 64, 128), m.seqLens);
    assertEquals(Arrays.asList("different", "same"), m.labels);
    assertTrue(m.doLowerCase);
    assertEquals("vocab.txt", m.vocabFile);
    assertEquals(ModelMetadata.INPUT_NAMES, m.inputOrder);
    assertEquals("L64", m.signatureKey(64));
    assertEquals(1, m.positiveLabelIndex());
    assertTrue(m.raw.containsKey("quantization"));
  }

  @Test
  public void metadataDefaultsAndErrorsNameTheKey() {
    ModelMetadata m = ModelMetadata.parse("{\"seq_lens\": [128], \"labels\": [\"same\", \"different\"]}");
    assertEquals("L128", m.signatureKey(128));
    assertEquals(0, m.positiveLabelIndex());
    String[][] bad = {
      {"{\"labels\": [\"a\", \"b\"]}", "'seq_lens': missing"},
      {"{\"seq_lens\": [], \"labels\": [\"a\", \"b\"]}", "'seq_lens': expected a non-empty array"},
      {"{\"seq_lens\": [2], \"labels\": [\"a\", \"b\"]}", "'seq_lens': every length must be at least 4"},
      {"{\"seq_lens\": [\"64\"], \"labels\": [\"a\", \"b\"]}", "'seq_lens': expected integers"},
      {"{\"seq_lens\": [64], \"labels\": [\"a\"]}", "'labels': need at least two"},
      {"{\"seq_lens\": [64], \"labels\": [\"a\", \"b\"], \"do_lower_case\": \"yes\"}", "'do_lower_case'"},
      {"{\"seq_lens\": [64], \"labels\": [\"a\", \"b\"], \"input_order\": [\"input_ids\"]}", "'input_order'"},
      {"[1, 2]", "expected a JSON object"},
      {"{oops", "not valid JSON"},
    };
    for (String[] c : bad) {
      try {
        ModelMetadata.parse(c[0]);
        fail("accepted " + c[0]);
      } catch (IllegalArgumentException e) {
        assertTrue(e.getMessage() + " should mention " + c[1], e.getMessage().contains(c[1]));
      }
    }
  }

  @Test
  public void seqLenPickerTakesTheSmallestLengthThatFits() throws Exception {
    SeqLenPicker picker = new SeqLenPicker(Arrays.asList(128, 32, 64, 64));
    assertArrayEquals(new int[] {32, 64, 128}, picker.seqLens());
    assertEquals(32, picker.pick(10));
    assertEquals(32, picker.pick(32));
    assertEquals(64, picker.pick(33));
    assertEquals(128, picker.pick(500));
    FullTokenizer tok = FullTokenizer.fromVocabFile(TestPaths.vocab(), true);
    SeqLenPicker.Choice shortPair = picker.encode(tok, "花呗怎么还款", "花呗如何还钱");
    assertEquals(15, shortPair.neededLength);
    assertEquals(32, shortPair.seqLen);
    assertEquals(32, shortPair.encoding.maxSeqLen());
    StringBuilder longText = new StringBuilder();
    for (int i = 0; i < 100; i++) {
      longText.append("长句");
    }
    SeqLenPicker.Choice longPair = picker.encode(tok, longText.toString(), "短");
    assertEquals(204, longPair.neededLength); // 200 + 1 + [CLS] [SEP] [SEP]
    assertEquals(128, longPair.seqLen);
    assertTrue(longPair.encoding.truncated);
    try {
      new SeqLenPicker(Arrays.asList());
      fail("accepted no lengths");
    } catch (IllegalArgumentException e) {
      assertTrue(e.getMessage().contains("no sequence lengths"));
    }
  }

  @Test
  public void softmaxAndPositiveLabel() {
    float[] p = Scores.softmax(new float[] {1000f, 1001f});
    assertEquals(1 / (1 + Math.E), p[0], 1e-6); // stable: no overflow at 1000
    assertEquals(Math.E / (1 + Math.E), p[1], 1e-6);
    assertEquals(1, Scores.argmax(p));
    float[] q = Scores.softmax(new float[] {-2f, 0f, 2f});
    assertEquals(1.0f, q[0] + q[1] + q[2], 1e-6f);
    assertEquals(0.8668f, q[2], 1e-4f);
    assertEquals(1, Scores.positiveIndex(Arrays.asList("different", "same")));
    assertEquals(1, Scores.positiveIndex(Arrays.asList("0", "1")));
    assertEquals(2, Scores.positiveIndex(Arrays.asList("x", "y", "same")));
    try {
      Scores.positiveIndex(Arrays.asList("entailment", "neutral", "contradiction"));
      fail("guessed a positive label among three");
    } catch (IllegalArgumentException e) {
      assertTrue(e.getMessage().contains("\"same\""));
    }
  }
}
