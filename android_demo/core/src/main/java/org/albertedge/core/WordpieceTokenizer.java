package org.albertedge.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Greedy longest-match-first WordPiece, over code points; mirrors Python's WordpieceTokenizer. */
public final class WordpieceTokenizer {
  private final Map<String, Integer> vocab;
  private final String unkToken;
  private final int maxInputCharsPerWord;

  public WordpieceTokenizer(Map<String, Integer> vocab) {
    this(vocab, Tokenization.UNK_TOKEN, Tokenization.MAX_INPUT_CHARS_PER_WORD);
  }

  public WordpieceTokenizer(Map<String, Integer> vocab, String unkToken, int maxInputCharsPerWord) {
    this.vocab = vocab;
    this.unkToken = unkToken;
    this.maxInputCharsPerWord = maxInputCharsPerWord;
  }

  /** "unaffable" -> [un, ##aff, ##able]; a word with an unmatchable piece -> one [UNK]. */
  public List<String> tokenize(String text) {
    List<String> outputTokens = new ArrayList<>();
    for (String token : Tokenization.whitespaceTokenize(text)) {
      int[] chars = token.codePoints().toArray();
      if (chars.length > maxInputCharsPerWord) {
        outputTokens.add(unkToken);
        continue;
      }
      boolean isBad = false;
      int start = 0;
      List<String> subTokens = new ArrayList<>();
      while (start < chars.length) {
        int end = chars.length;
        String curSubstr = null;
        while (start < end) {
          String substr = new String(chars, start, end - start);
          if (start > 0) {
            substr = "##" + substr;
          }
          if (vocab.containsKey(substr)) {
            curSubstr = substr;
            break;
          }
          end -= 1;
        }
        if (curSubstr == null) {
          isBad = true;
          break;
        }
        subTokens.add(curSubstr);
        start = end;
      }
      if (isBad) {
        outputTokens.add(unkToken);
      } else {
        outputTokens.addAll(subTokens);
      }
    }
    return outputTokens;
  }
}
