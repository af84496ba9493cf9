package org.albertedge.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.BeforeClass;
import org.junit.Test;

/** Hand-checked behaviour, the same cases as tests/test_tokenization.py. */
public class TokenizerTest {
  private static FullTokenizer tok;

  @BeforeClass
  public static void load() throws Exception {
    tok = FullTokenizer.fromVocabFile(TestPaths.vocab(), true);
  }

  private static List<String> list(String... items) {
    return Arrays.asList(items);
  }

  @Test
  public void tokenizeExamples() {
    assertEquals(list("今", "天", "天", "气", "不", "错"), tok.tokenize("今天天气不错"));
    assertEquals(list("hello", ",", "world", "!"), tok.tokenize("Hello, WORLD!"));
    assertEquals(list("cafe", "na", "##ive"), tok.tokenize("Café naïve"));
    assertEquals(list("u", "##na", "##ff", "##able"), tok.tokenize("unaffable"));
    assertEquals(list("iphone", "##13", "售", "价", "899", "##9", "元"), tok.tokenize("iPhone13售价8999元"));
    assertEquals(list("abc"), tok.tokenize("a\u0000b\u0001c\uFFFD"));
    assertEquals(list("全", "角", "，", "标", "点", "！"), tok.tokenize("全角，标点！"));
    assertEquals(Collections.emptyList(), tok.tokenize("\u3000 \t\n"));
    assertEquals(Collections.emptyList(), tok.tokenize(""));
    assertEquals(list("a", "b"), tok.tokenize("a\u2028b"));
    assertEquals(list("zero", "##wi", "##dt", "##h"), tok.tokenize("zero\u200Bwidth"));
    assertEquals(list("[UNK]", "[UNK]"), tok.tokenize("\uD840\uDC00\uD840\uDC01")); // U+20000 U+20001
    assertEquals(list("[UNK]"), tok.tokenize("\uD880\uDC00\uD880\uDC01")); // ext G: one word
    assertEquals(list("$", "5", "^", "2"), tok.tokenize("$5^2"));
    assertEquals(list("￥", "##100"), tok.tokenize("￥100"));
    assertEquals(list("好", "[UNK]", "坏"), tok.tokenize("好\uE416坏")); // private use is kept
    assertEquals(list("[", "sep", "]"), tok.tokenize("[SEP]"));
  }

  @Test
  public void cjkRangeBounds() {
    for (int[] range : Tokenization.CJK_RANGES) {
      assertTrue(Tokenization.isChineseChar(range[0]));
      assertTrue(Tokenization.isChineseChar(range[1]));
      String lo = new String(Character.toChars(range[0]));
      String hi = new String(Character.toChars(range[1]));
      assertEquals("a " + lo + "  " + hi + " b", BasicTokenizer.tokenizeChineseChars("a" + lo + hi + "b"));
    }
    assertFalse(Tokenization.isChineseChar(0x4DC0)); // Yijing hexagram, between ext A and the main block
    assertFalse(Tokenization.isChineseChar(0x3000)); // ideographic space
    assertFalse(Tokenization.isChineseChar(0xFF01)); // full-width !
    assertFalse(Tokenization.isChineseChar(0x2CEB0)); // ext F starts after the last range
  }

  @Test
  public void wordpieceLengthLimitCountsCodePoints() {
    StringBuilder x200 = new StringBuilder();
    for (int i = 0; i < 200; i++) {
      x200.append('x');
    }
    assertFalse(tok.tokenize(x200.toString()).equals(list("[UNK]")));
    assertEquals(list("[UNK]"), tok.tokenize(x200 + "x"));
    Map<String, Integer> vocab = new HashMap<>();
    String bold = new String(Character.toChars(0x1D400));
    vocab.put(bold, 1);
    vocab.put("##" + bold, 2);
    StringBuilder word = new StringBuilder();
    for (int i = 0; i < 150; i++) {
      word.append(bold); // 300 UTF-16 units, 150 code points
    }
    List<String> pieces = new WordpieceTokenizer(vocab).tokenize(word.toString());
    assertEquals(150, pieces.size());
    assertEquals(bold, pieces.get(0));
    assertEquals("##" + bold, pieces.get(149));
  }

  @Test
  public void wordpieceUnmatchablePieceMakesWholeWordUnk() {
    Map<String, Integer> vocab = new HashMap<>();
    vocab.put("ab", 0);
    vocab.put("##c", 1);
    assertEquals(list("ab", "##c", "[UNK]", "ab"), new WordpieceTokenizer(vocab).tokenize("abc abd ab"));
  }

  @Test
  public void pythonLowerAndSpace() {
    assertEquals("i\u0307stanbul", Tokenization.pythonLower("İstanbul"));
    assertEquals("σίσυφος οδος σ ας", Tokenization.pythonLower("ΣΊΣΥΦΟΣ ΟΔΟΣ Σ ΑΣ"));
    assertEquals("ας", Tokenization.pythonLower("ΑΣ"));
    assertEquals("α.ς", Tokenization.pythonLower("Α.Σ"));
    assertEquals("ασα", Tokenization.pythonLower("ΑΣΑ"));
    assertEquals("σ", Tokenization.pythonLower("Σ"));
    assertEquals(list("a", "b", "c"), Tokenization.whitespaceTokenize("\u3000a\u2029b\u00A0\u0085c "));
    assertEquals("x\u200By", Tokenization.pythonStrip("\u2028 x\u200By\u3000"));
  }

  @Test
  public void encodeSingleLayout() {
    Encoding enc = tok.encode("今天天气", null, 8);
    int[] ids = tok.convertTokensToIds(list("[CLS]", "今", "天", "天", "气", "[SEP]"));
    assertArrayEquals(Arrays.copyOf(ids, 8), enc.inputIds);
    assertArrayEquals(new int[] {1, 1, 1, 1, 1, 1, 0, 0}, enc.inputMask);
    assertArrayEquals(new int[8], enc.segmentIds);
    assertEquals(6, enc.numTokens);
    assertFalse(enc.truncated);
    Encoding cut = tok.encode("今天天气", null, 4);
    assertEquals(list("[CLS]", "今", "天", "[SEP]"), tok.convertIdsToTokens(cut.inputIds));
    assertTrue(cut.truncated);
  }

  @Test
  public void encodePairLongestFirstTruncation() {
    Encoding enc = tok.encode("一二三四五", "甲乙", 8);
    assertEquals(list("[CLS]", "一", "二", "三", "[SEP]", "甲", "乙", "[SEP]"), tok.convertIdsToTokens(enc.inputIds));
    assertArrayEquals(new int[] {0, 0, 0, 0, 0, 1, 1, 1}, enc.segmentIds);
    assertTrue(enc.truncated);
    Encoding tie = tok.encode("一二", "甲乙", 6);
    assertEquals(list("[CLS]", "一", "二", "[SEP]", "甲", "[SEP]"), tok.convertIdsToTokens(tie.inputIds));
    Encoding fits = tok.encode("一", "甲", 8);
    assertEquals(5, fits.numTokens);
    assertFalse(fits.truncated);
    assertArrayEquals(new int[] {0, 0, 0, 1, 1, 0, 0, 0}, fits.segmentIds);
    Encoding emptyB = tok.encode("一", "", 8);
    assertEquals(list("[CLS]", "一", "[SEP]", "[SEP]"),
        tok.convertIdsToTokens(Arrays.copyOf(emptyB.inputIds, 4)));
  }

  @Test
  public void encodeRejectsTooSmallMaxSeqLen() {
    try {
      tok.encode("一", null, 2);
      fail("expected IllegalArgumentException");
    } catch (IllegalArgumentException e) {
      assertTrue(e.getMessage(), e.getMessage().contains("at least 3"));
    }
    try {
      tok.encode("一", "二", 3);
      fail("expected IllegalArgumentException");
    } catch (IllegalArgumentException e) {
      assertTrue(e.getMessage(), e.getMessage().contains("at least 4"));
    }
    assertEquals(4, tok.encode("一", "二", 4).numTokens);
  }

  @Test
  public void loadVocab() throws Exception {
    Map<String, Integer> vocab = tok.vocab();
    assertEquals(21128, vocab.size());
    assertEquals(Integer.valueOf(0), vocab.get("[PAD]"));
    assertEquals(Integer.valueOf(100), vocab.get("[UNK]"));
    assertEquals(Integer.valueOf(101), vocab.get("[CLS]"));
    assertEquals(Integer.valueOf(102), vocab.get("[SEP]"));
    try {
      Tokenization.loadVocab(new ByteArrayInputStream("[PAD]\n[UNK]\nhello\n".getBytes(StandardCharsets.UTF_8)), "bad.txt");
      fail("expected IllegalArgumentException");
    } catch (IllegalArgumentException e) {
      assertTrue(e.getMessage(), e.getMessage().contains("lacks [CLS], [SEP]"));
    }
    Map<String, Integer> crlf = Tokenization.loadVocab(new ByteArrayInputStream(
        "[PAD]\r\n[UNK]\r\n[CLS] \r\n[SEP]".getBytes(StandardCharsets.UTF_8)), "crlf.txt");
    assertEquals(Integer.valueOf(2), crlf.get("[CLS]"));
    assertEquals(Integer.valueOf(3), crlf.get("[SEP]"));
    try {
      tok.convertTokensToIds(list("no-such-token"));
      fail("expected IllegalArgumentException");
    } catch (IllegalArgumentException e) {
      assertTrue(e.getMessage().contains("not in the vocabulary"));
    }
  }
}
