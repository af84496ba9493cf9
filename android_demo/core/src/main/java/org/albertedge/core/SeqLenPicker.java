package org.albertedge.core;

import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;

/**
 * Chooses which exported signature (L32, L64, L128 ...) to run: the smallest sequence length
 * that holds the whole untruncated input, else the largest (the input is then truncated).
 * Shorter signatures are much faster (attention is quadratic in L), so short pairs should not
 * pay for 128 tokens. Mirrors Python's {@code pick_seq_len} / {@code needed_length}.
 */
public final class SeqLenPicker {
  private final int[] seqLens;

  public SeqLenPicker(List<Integer> seqLens) {
    TreeSet<Integer> sorted = new TreeSet<>(seqLens);
    if (sorted.isEmpty()) {
      throw new IllegalArgumentException("no sequence lengths to choose from");
    }
    this.seqLens = new int[sorted.size()];
    int i = 0;
    for (int len : sorted) {
      this.seqLens[i++] = len;
    }
  }

  public int[] seqLens() {
    return Arrays.copyOf(seqLens, seqLens.length);
  }

  public int maxSeqLen() {
    return seqLens[seqLens.length - 1];
  }

  /** The smallest length >= {@code needed}, else the largest. */
  public int pick(int needed) {
    for (int length : seqLens) {
      if (length >= needed) {
        return length;
      }
    }
    return maxSeqLen();
  }

  /** The encoding for the chosen length, with how many tokens the input needed. */
  public static final class Choice {
    public final int seqLen;
    public final int neededLength;
    public final Encoding encoding;

    Choice(int seqLen, int neededLength, Encoding encoding) {
      this.seqLen = seqLen;
      this.neededLength = neededLength;
      this.encoding = encoding;
    }
  }

  /** Tokenizes once, picks the length, encodes (truncating only if even the largest is short). */
  public Choice encode(FullTokenizer tokenizer, String textA, String textB) {
    List<String> tokensA = tokenizer.tokenize(textA);
    List<String> tokensB = textB == null ? null : tokenizer.tokenize(textB);
    int needed = FullTokenizer.neededLength(tokensA, tokensB);
    int seqLen = pick(needed);
    return new Choice(seqLen, needed, tokenizer.encodeTokens(tokensA, tokensB, seqLen));
  }
}
