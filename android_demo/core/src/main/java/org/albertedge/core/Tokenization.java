package org.albertedge.core;

import java.io.BufferedReader;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Character classes and helpers of the BERT-Chinese tokenizer, mirroring the module-level functions
 * of {@code albert_edge/tokenization.py} (read its docstring: it is the specification).
 *
 * <p>Everything works on Unicode code points, never on UTF-16 {@code char}s, so that an astral
 * character (CJK extension B, emoji) is one character exactly as in Python. Python semantics that
 * Java does not share by default are reproduced explicitly: {@link #isPythonSpace} (what
 * {@code str.split()} / {@code str.strip()} treat as whitespace) and {@link #pythonLower}
 * ({@code str.lower()}, including U+0130 and the final-sigma rule).
 */
public final class Tokenization {
  private Tokenization() {}

  public static final String PAD_TOKEN = "[PAD]";
  public static final String UNK_TOKEN = "[UNK]";
  public static final String CLS_TOKEN = "[CLS]";
  public static final String SEP_TOKEN = "[SEP]";
  public static final String[] REQUIRED_TOKENS = {PAD_TOKEN, UNK_TOKEN, CLS_TOKEN, SEP_TOKEN};
  public static final int MAX_INPUT_CHARS_PER_WORD = 200;

  /** Inclusive code-point ranges BERT treats as Chinese characters ({@code tokenization.is_chinese_char}). */
  public static final int[][] CJK_RANGES = {
    {0x4E00, 0x9FFF},
    {0x3400, 0x4DBF},
    {0x20000, 0x2A6DF},
    {0x2A700, 0x2B73F},
    {0x2B740, 0x2B81F},
    {0x2B820, 0x2CEAF},
    {0xF900, 0xFAFF},
    {0x2F800, 0x2FA1F},
  };

  /** Loads a one-token-per-line vocabulary file; see {@link #loadVocab(InputStream, String)}. */
  public static Map<String, Integer> loadVocab(Path path) throws IOException {
    if (!Files.isRegularFile(path)) {
      throw new FileNotFoundException("vocab file not found: " + path);
    }
    try (InputStream in = Files.newInputStream(path)) {
      return loadVocab(in, path.toString());
    }
  }

  /**
   * Line k (0-based, lines end at \n, \r\n or \r) stripped of whitespace is token k; a repeated
   * token keeps its last id. [PAD] [UNK] [CLS] [SEP] must be present.
   */
  public static Map<String, Integer> loadVocab(InputStream in, String name) throws IOException {
    Map<String, Integer> vocab = new LinkedHashMap<>();
    BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
    int index = 0;
    for (String line = reader.readLine(); line != null; line = reader.readLine()) {
      vocab.put(pythonStrip(line), index++);
    }
    List<String> missing = new ArrayList<>();
    for (String token : REQUIRED_TOKENS) {
      if (!vocab.containsKey(token)) {
        missing.add(token);
      }
    }
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException(name + " is not a BERT vocabulary: it lacks "
          + String.join(", ", missing) + " (" + vocab.size() + " entries read)");
    }
    return vocab;
  }

  /** {@code convert_by_vocab}: maps every token, failing with the token's name if unknown. */
  public static int[] convertTokensToIds(Map<String, Integer> vocab, List<String> tokens) {
    int[] ids = new int[tokens.size()];
    for (int i = 0; i < ids.length; i++) {
      Integer id = vocab.get(tokens.get(i));
      if (id == null) {
        throw new IllegalArgumentException("'" + tokens.get(i) + "' is not in the vocabulary");
      }
      ids[i] = id;
    }
    return ids;
  }

  /** Python's {@code str.isspace()} for one code point: what {@code split()}/{@code strip()} cut on. */
  public static boolean isPythonSpace(int cp) {
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0
        || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029
        || cp == 0x202F || cp == 0x205F || cp == 0x3000;
  }

  /** Python's {@code str.strip()}: removes {@link #isPythonSpace} code points at both ends. */
  public static String pythonStrip(String text) {
    int start = 0;
    int end = text.length();
    while (start < end && isPythonSpace(text.codePointAt(start))) {
      start += Character.charCount(text.codePointAt(start));
    }
    while (end > start && isPythonSpace(text.codePointBefore(end))) {
      end -= Character.charCount(text.codePointBefore(end));
    }
    return text.substring(start, end);
  }

  /** {@code whitespace_tokenize}: Python's {@code text.strip().split()}. */
  public static List<String> whitespaceTokenize(String text) {
    List<String> out = new ArrayList<>();
    int i = 0;
    int n = text.length();
    while (i < n) {
      while (i < n && isPythonSpace(text.codePointAt(i))) {
        i += Character.charCount(text.codePointAt(i));
      }
      int start = i;
      while (i < n && !isPythonSpace(text.codePointAt(i))) {
        i += Character.charCount(text.codePointAt(i));
      }
      if (i > start) {
        out.add(text.substring(start, i));
      }
    }
    return out;
  }

  /** {@code tokenization.is_whitespace}: space, \t, \n, \r, or category Zs. */
  public static boolean isWhitespace(int cp) {
    if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') {
      return true;
    }
    return Character.getType(cp) == Character.SPACE_SEPARATOR;
  }

  /** {@code tokenization.is_control}: category Cc or Cf, except \t \n \r (whitespace). Not Cn/Co/Cs. */
  public static boolean isControl(int cp) {
    if (cp == '\t' || cp == '\n' || cp == '\r') {
      return false;
    }
    int type = Character.getType(cp);
    return type == Character.CONTROL || type == Character.FORMAT;
  }

  /** {@code tokenization.is_punctuation}: non-alphanumeric printable ASCII, or any P* category. */
  public static boolean isPunctuation(int cp) {
    if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96)
        || (cp >= 123 && cp <= 126)) {
      return true;
    }
    switch (Character.getType(cp)) {
      case Character.CONNECTOR_PUNCTUATION: // Pc
      case Character.DASH_PUNCTUATION: // Pd
      case Character.START_PUNCTUATION: // Ps
      case Character.END_PUNCTUATION: // Pe
      case Character.INITIAL_QUOTE_PUNCTUATION: // Pi
      case Character.FINAL_QUOTE_PUNCTUATION: // Pf
      case Character.OTHER_PUNCTUATION: // Po
        return true;
      default:
        return false;
    }
  }

  /** {@code tokenization.is_chinese_char}: the 8 CJK ideograph ranges. */
  public static boolean isChineseChar(int cp) {
    for (int[] range : CJK_RANGES) {
      if (cp >= range[0] && cp <= range[1]) {
        return true;
      }
    }
    return false;
  }

  /**
   * Python's {@code str.lower()}: the simple lower-case mapping of every code point, except U+0130
   * (to "i" + U+0307, its full mapping) and U+03A3 (to final sigma U+03C2 after a cased letter and
   * not before one, skipping case-ignorable characters; else U+03C3). Java's
   * {@code toLowerCase(Locale)} decides final sigma by word boundaries instead, so it is not used.
   */
  public static String pythonLower(String text) {
    int[] cps = text.codePoints().toArray();
    StringBuilder out = new StringBuilder(text.length());
    for (int i = 0; i < cps.length; i++) {
      int cp = cps[i];
      if (cp == 0x130) {
        out.append("i\u0307");
      } else if (cp == 0x3A3) {
        out.appendCodePoint(isFinalSigma(cps, i) ? 0x3C2 : 0x3C3);
      } else {
        out.appendCodePoint(Character.toLowerCase(cp));
      }
    }
    return out.toString();
  }

  /** CPython's {@code handle_capital_sigma}. */
  private static boolean isFinalSigma(int[] cps, int i) {
    int j = i - 1;
    while (j >= 0 && isCaseIgnorable(cps[j])) {
      j--;
    }
    if (j < 0 || !isCased(cps[j])) {
      return false;
    }
    j = i + 1;
    while (j < cps.length && isCaseIgnorable(cps[j])) {
      j++;
    }
    return j == cps.length || !isCased(cps[j]);
  }

  /** Unicode property Cased: Lowercase, Uppercase or titlecase letter. */
  static boolean isCased(int cp) {
    return Character.isLowerCase(cp) || Character.isUpperCase(cp) || Character.isTitleCase(cp);
  }

  /** Unicode property Case_Ignorable: Mn Me Cf Lm Sk, or Word_Break MidLetter/MidNumLet/Single_Quote. */
  static boolean isCaseIgnorable(int cp) {
    switch (Character.getType(cp)) {
      case Character.NON_SPACING_MARK:
      case Character.ENCLOSING_MARK:
      case Character.FORMAT:
      case Character.MODIFIER_LETTER:
      case Character.MODIFIER_SYMBOL:
        return true;
      default:
        break;
    }
    switch (cp) {
      case 0x27: case 0x2E: case 0x3A: case 0xB7: case 0x387: case 0x55F: case 0x5F4:
      case 0x2018: case 0x2019: case 0x2024: case 0x2027: case 0xFE13: case 0xFE52:
      case 0xFE55: case 0xFF07: case 0xFF0E: case 0xFF1A:
        return true;
      default:
        return false;
    }
  }
}
