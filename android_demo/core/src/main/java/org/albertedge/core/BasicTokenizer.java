package org.albertedge.core;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Cleaning, CJK split, lower-casing + accent strip, punctuation split: steps 1-6 of the spec in
 * {@code albert_edge/tokenization.py}, one method per Python function. Plain code-point loops, no
 * lambdas: {@code make android-check} dexes with dx, which cannot desugar them (Gradle's D8 can).
 */
public final class BasicTokenizer {
  private final boolean doLowerCase;

  public BasicTokenizer(boolean doLowerCase) {
    this.doLowerCase = doLowerCase;
  }

  public List<String> tokenize(String text) {
    text = cleanText(text);
    text = tokenizeChineseChars(text);
    List<String> splitTokens = new ArrayList<>();
    for (String token : Tokenization.whitespaceTokenize(text)) {
      if (doLowerCase) {
        token = Tokenization.pythonLower(token);
        token = runStripAccents(token);
      }
      splitTokens.addAll(runSplitOnPunc(token));
    }
    return Tokenization.whitespaceTokenize(String.join(" ", splitTokens));
  }

  /** {@code tokenization.BasicTokenizer.strip_accents}: NFD, then drop every Mn code point ("Café" -> "cafe"). */
  static String runStripAccents(String text) {
    String nfd = Normalizer.normalize(text, Normalizer.Form.NFD);
    StringBuilder out = new StringBuilder(nfd.length());
    for (int i = 0; i < nfd.length(); ) {
      int cp = nfd.codePointAt(i);
      i += Character.charCount(cp);
      if (Character.getType(cp) != Character.NON_SPACING_MARK) {
        out.appendCodePoint(cp);
      }
    }
    return out.toString();
  }

  /** {@code _run_split_on_punc}: each punctuation code point becomes its own piece. */
  static List<String> runSplitOnPunc(String text) {
    List<String> output = new ArrayList<>();
    StringBuilder current = null;
    int i = 0;
    while (i < text.length()) {
      int cp = text.codePointAt(i);
      i += Character.charCount(cp);
      if (Tokenization.isPunctuation(cp)) {
        if (current != null) {
          output.add(current.toString());
          current = null;
        }
        output.add(new String(Character.toChars(cp)));
      } else {
        if (current == null) {
          current = new StringBuilder();
        }
        current.appendCodePoint(cp);
      }
    }
    if (current != null) {
      output.add(current.toString());
    }
    return output;
  }

  /** {@code _tokenize_chinese_chars}: spaces around every CJK ideograph. */
  static String tokenizeChineseChars(String text) {
    StringBuilder out = new StringBuilder(text.length() * 2);
    for (int i = 0; i < text.length(); ) {
      int cp = text.codePointAt(i);
      i += Character.charCount(cp);
      if (Tokenization.isChineseChar(cp)) {
        out.append(' ').appendCodePoint(cp).append(' ');
      } else {
        out.appendCodePoint(cp);
      }
    }
    return out.toString();
  }

  /** {@code _clean_text}: drop NUL, U+FFFD and control characters; whitespace becomes ' '. */
  static String cleanText(String text) {
    StringBuilder out = new StringBuilder(text.length());
    for (int i = 0; i < text.length(); ) {
      int cp = text.codePointAt(i);
      i += Character.charCount(cp);
      if (cp == 0 || cp == 0xFFFD || Tokenization.isControl(cp)) {
        continue;
      }
      if (Tokenization.isWhitespace(cp)) {
        out.append(' ');
      } else {
        out.appendCodePoint(cp);
      }
    }
    return out.toString();
  }
}
