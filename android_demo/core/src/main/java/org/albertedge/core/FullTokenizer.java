package org.albertedge.core;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Basic tokenization followed by WordPiece, plus model-input encoding ({@code [CLS] a [SEP] b
 * [SEP]}, longest-first truncation, padding). Mirrors Python's {@code FullTokenizer} and
 * {@code encode_tokens}.
 */
public final class FullTokenizer {
  private final Map<String, Integer> vocab;
  private final Map<Integer, String> invVocab = new HashMap<>();
  private final BasicTokenizer basicTokenizer;
  private final WordpieceTokenizer wordpieceTokenizer;

  public FullTokenizer(Map<String, Integer> vocab, boolean doLowerCase) {
    this.vocab = vocab;
    for (Map.Entry<String, Integer> e : vocab.entrySet()) {
      invVocab.put(e.getValue(), e.getKey());
    }
    this.basicTokenizer = new BasicTokenizer(doLowerCase);
    this.wordpieceTokenizer = new WordpieceTokenizer(vocab);
  }

  public static FullTokenizer fromVocabFile(Path vocabFile, boolean doLowerCase) throws IOException {
    return new FullTokenizer(Tokenization.loadVocab(vocabFile), doLowerCase);
  }

  public Map<String, Integer> vocab() {
    return vocab;
  }

  public List<String> tokenize(String text) {
    List<String> splitTokens = new ArrayList<>();
    for (String token : basicTokenizer.tokenize(text)) {
      splitTokens.addAll(wordpieceTokenizer.tokenize(token));
    }
    return splitTokens;
  }

  public int[] convertTokensToIds(List<String> tokens) {
    return Tokenization.convertTokensToIds(vocab, tokens);
  }

  public List<String> convertIdsToTokens(int[] ids) {
    List<String> out = new ArrayList<>(ids.length);
    for (int id : ids) {
      String token = invVocab.get(id);
      if (token == null) {
        throw new IllegalArgumentException("id " + id + " is not in the vocabulary");
      }
      out.add(token);
    }
    return out;
  }

  /** Encodes one text ({@code textB == null}) or a sentence pair. */
  public Encoding encode(String textA, String textB, int maxSeqLen) {
    List<String> tokensA = tokenize(textA);
    List<String> tokensB = textB == null ? null : tokenize(textB);
    return encodeTokens(tokensA, tokensB, maxSeqLen);
  }

  /** Special tokens plus one text token: 3 for a single text, 4 for a pair. */
  public static int minSeqLen(boolean isPair) {
    return isPair ? 4 : 3;
  }

  /** Untruncated length with [CLS]/[SEP]s: the length that loses nothing. */
  public static int neededLength(List<String> tokensA, List<String> tokensB) {
    return tokensB == null ? tokensA.size() + 2 : tokensA.size() + tokensB.size() + 3;
  }

  /** {@code _truncate_seq_pair}: trim the longer list from its end (b on ties) until both fit. */
  public static boolean truncateSeqPair(List<String> tokensA, List<String> tokensB, int maxLength) {
    boolean truncated = false;
    while (tokensA.size() + tokensB.size() > maxLength) {
      if (tokensA.size() > tokensB.size()) {
        tokensA.remove(tokensA.size() - 1);
      } else {
        tokensB.remove(tokensB.size() - 1);
      }
      truncated = true;
    }
    return truncated;
  }

  /** {@code encode_tokens}: [CLS] a [SEP] (b [SEP]), truncation, ids, mask, segments, padding. */
  public Encoding encodeTokens(List<String> tokensA, List<String> tokensB, int maxSeqLen) {
    boolean isPair = tokensB != null;
    if (maxSeqLen < minSeqLen(isPair)) {
      String kind = isPair ? "a sentence pair ([CLS] a [SEP] b [SEP])" : "one text ([CLS] a [SEP])";
      throw new IllegalArgumentException("max_seq_len=" + maxSeqLen + " is too small for " + kind
          + ": it must be at least " + minSeqLen(isPair));
    }
    List<String> a = new ArrayList<>(tokensA);
    List<String> b = isPair ? new ArrayList<>(tokensB) : null;
    boolean truncated;
    if (isPair) {
      truncated = truncateSeqPair(a, b, maxSeqLen - 3);
    } else {
      truncated = a.size() > maxSeqLen - 2;
      if (truncated) {
        a = new ArrayList<>(a.subList(0, maxSeqLen - 2));
      }
    }
    List<String> tokens = new ArrayList<>(maxSeqLen);
    tokens.add(Tokenization.CLS_TOKEN);
    tokens.addAll(a);
    tokens.add(Tokenization.SEP_TOKEN);
    int segmentZero = tokens.size();
    if (isPair) {
      tokens.addAll(b);
      tokens.add(Tokenization.SEP_TOKEN);
    }
    int[] ids = convertTokensToIds(tokens);
    int n = ids.length;
    int[] inputIds = new int[maxSeqLen];
    int[] inputMask = new int[maxSeqLen];
    int[] segmentIds = new int[maxSeqLen];
    for (int i = 0; i < n; i++) {
      inputIds[i] = ids[i];
      inputMask[i] = 1;
      segmentIds[i] = i < segmentZero ? 0 : 1;
    }
    return new Encoding(inputIds, inputMask, segmentIds, n, truncated);
  }
}
