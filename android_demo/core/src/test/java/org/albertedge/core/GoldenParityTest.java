package org.albertedge.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Every case of tests/data/tokenizer_golden.jsonl (written from albert_edge.tokenization by
 * tools/make_golden.py: real sentences, pairs and crafted edge cases at several lengths) must
 * encode to exactly the same ids, segments, mask, padding and truncation flag in Java.
 */
public class GoldenParityTest {
  private static FullTokenizer tokenizer;
  private static List<Map<String, Object>> cases;

  @BeforeClass
  public static void load() throws Exception {
    tokenizer = FullTokenizer.fromVocabFile(TestPaths.vocab(), true);
    String text = new String(Files.readAllBytes(TestPaths.golden()), StandardCharsets.UTF_8);
    cases = new ArrayList<>();
    for (String line : text.split("\n")) { // not readLine(): only \n ends a record
      if (!line.isEmpty()) {
        cases.add(MiniJson.parseObject(line));
      }
    }
  }

  private static int[] ints(Object list) {
    List<?> values = (List<?>) list;
    int[] out = new int[values.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = ((Long) values.get(i)).intValue();
    }
    return out;
  }

  @Test
  public void goldenFileCoversRealAndCraftedCases() {
    int texts = 0;
    int pairs = 0;
    int crafted = 0;
    int astral = 0;
    for (Map<String, Object> c : cases) {
      String source = (String) c.get("source");
      if (source.startsWith("texts:")) {
        texts++;
      } else if (source.startsWith("pairs:")) {
        pairs++;
      } else {
        crafted++;
      }
      String a = (String) c.get("a");
      if (a.codePointCount(0, a.length()) != a.length()) {
        astral++;
      }
    }
    assertTrue("real texts: " + texts, texts >= 2000);
    assertTrue("real pairs: " + pairs, pairs >= 1500);
    assertTrue("crafted: " + crafted, crafted >= 300);
    assertTrue("cases with astral characters: " + astral, astral >= 20);
  }

  @Test
  public void javaEncodingMatchesPythonOnEveryGoldenCase() {
    List<String> mismatches = new ArrayList<>();
    for (Map<String, Object> c : cases) {
      String a = (String) c.get("a");
      String b = (String) c.get("b");
      int maxSeqLen = ((Long) c.get("max_seq_len")).intValue();
      int[] ids = ints(c.get("input_ids"));
      int[] segments = ints(c.get("segment_ids"));
      boolean truncated = (Boolean) c.get("truncated");
      int n = ids.length;
      int[] mask = new int[maxSeqLen];
      Arrays.fill(mask, 0, n, 1);
      Encoding expected = new Encoding(Arrays.copyOf(ids, maxSeqLen), mask,
          Arrays.copyOf(segments, maxSeqLen), n, truncated);
      Encoding actual = tokenizer.encode(a, b, maxSeqLen);
      if (!expected.equals(actual)) {
        int[] got = Arrays.copyOf(actual.inputIds, actual.numTokens);
        mismatches.add(c.get("source") + " L=" + maxSeqLen + " a=" + escape(a)
            + (b == null ? "" : " b=" + escape(b))
            + "\n    python: " + tokenizer.convertIdsToTokens(ids) + " truncated=" + truncated
            + "\n    java:   " + tokenizer.convertIdsToTokens(got) + " truncated=" + actual.truncated);
      }
    }
    if (!mismatches.isEmpty()) {
      fail(mismatches.size() + " of " + cases.size() + " golden cases differ; first ones:\n  "
          + String.join("\n  ", mismatches.subList(0, Math.min(5, mismatches.size()))));
    }
    assertEquals(0, mismatches.size());
  }

  private static String escape(String s) {
    StringBuilder sb = new StringBuilder("\"");
    s.codePoints().limit(80).forEach(cp -> {
      if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0) || Character.getType(cp) == Character.FORMAT) {
        sb.append(String.format("\\u%04x", cp));
      } else {
        sb.appendCodePoint(cp);
      }
    });
    return sb.append('"').toString();
  }
}
