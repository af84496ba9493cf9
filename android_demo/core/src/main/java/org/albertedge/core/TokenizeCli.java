package org.albertedge.core;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code android_demo/core/tokenize --vocab V --max-seq-len N < lines}: the Java twin of
 * {@code python -m albert_edge.tokenize}. Same input rules (one text, or two TAB-separated texts
 * per \n-terminated line, a trailing \r dropped, strict UTF-8), byte-identical stdout, exit 2 with
 * a one-line message for usage or input errors.
 */
public final class TokenizeCli {
  private TokenizeCli() {}

  static final String USAGE =
      "usage: tokenize [-h] --vocab VOCAB [--max-seq-len MAX_SEQ_LEN] [--no-lower-case]";

  /** A user mistake: message on stderr, exit 2. */
  static final class InputError extends Exception {
    private static final long serialVersionUID = 1L;

    InputError(String message) {
      super(message);
    }
  }

  public static void main(String[] args) {
    System.exit(run(args, System.in, System.out, System.err));
  }

  static int run(String[] args, InputStream in, OutputStream outStream, PrintStream err) {
    String vocab = null;
    int maxSeqLen = 128;
    boolean lowerCase = true;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("-h") || a.equals("--help")) {
        PrintStream out = new PrintStream(outStream, true);
        out.println(USAGE);
        out.println();
        out.println("Encode one text or a TAB-separated sentence pair per stdin line into ALBERT "
            + "inputs; prints one JSON object per line (same output as python -m albert_edge.tokenize).");
        out.println();
        out.println("  --vocab VOCAB              vocabulary file, one token per line");
        out.println("  --max-seq-len MAX_SEQ_LEN  pad/truncate to this many tokens (>= 3; >= 4 for pairs; default 128)");
        out.println("  --no-lower-case            keep case and accents (albert_zh models are uncased)");
        return 0;
      } else if ((a.equals("--vocab") || a.equals("--max-seq-len")) && i + 1 < args.length) {
        String value = args[++i];
        if (a.equals("--vocab")) {
          vocab = value;
        } else {
          try {
            maxSeqLen = Integer.parseInt(value);
          } catch (NumberFormatException e) {
            return usageError(err, "argument --max-seq-len: invalid int value: '" + value + "'");
          }
        }
      } else if (a.startsWith("--vocab=")) {
        vocab = a.substring("--vocab=".length());
      } else if (a.equals("--no-lower-case")) {
        lowerCase = false;
      } else {
        return usageError(err, "unrecognized or incomplete argument: " + a);
      }
    }
    if (vocab == null) {
      return usageError(err, "the following arguments are required: --vocab");
    }
    if (maxSeqLen < FullTokenizer.minSeqLen(false)) {
      return usageError(err, "--max-seq-len must be at least 3 (4 for sentence pairs), got " + maxSeqLen);
    }
    FullTokenizer tokenizer;
    try {
      tokenizer = FullTokenizer.fromVocabFile(Paths.get(vocab), lowerCase);
    } catch (IOException | IllegalArgumentException e) {
      err.println("error: cannot load vocabulary: " + e.getMessage()
          + "\n  pass --vocab path/to/vocab.txt (the bundled one is albert_edge/resources/vocab.txt)");
      return 2;
    }
    StringBuilder chunk = new StringBuilder();
    try {
      List<byte[]> lines = splitLines(readAll(in));
      try {
        for (int i = 0; i < lines.size(); i++) {
          chunk.append(encodeLine(tokenizer, lines.get(i), i + 1, maxSeqLen)).append('\n');
          if (chunk.length() > 1 << 16) {
            outStream.write(chunk.toString().getBytes(StandardCharsets.UTF_8));
            chunk.setLength(0);
          }
        }
      } catch (InputError e) {
        // Like the Python CLI: the lines before the bad one are printed, then the error.
        outStream.write(chunk.toString().getBytes(StandardCharsets.UTF_8));
        outStream.flush();
        err.println("error: stdin " + e.getMessage());
        return 2;
      }
      outStream.write(chunk.toString().getBytes(StandardCharsets.UTF_8));
      outStream.flush();
    } catch (IOException e) {
      err.println("error: " + e.getMessage());
      return 1;
    }
    return 0;
  }

  private static int usageError(PrintStream err, String message) {
    err.println(USAGE);
    err.println("tokenize: error: " + message);
    return 2;
  }

  private static byte[] readAll(InputStream in) throws IOException {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    byte[] block = new byte[1 << 16];
    for (int n = in.read(block); n >= 0; n = in.read(block)) {
      buf.write(block, 0, n);
    }
    return buf.toByteArray();
  }

  /** Splits on \n only (not U+2028 etc.), drops the empty piece after a final \n and one \r per line. */
  static List<byte[]> splitLines(byte[] data) {
    List<byte[]> lines = new ArrayList<>();
    int start = 0;
    for (int i = 0; i <= data.length; i++) {
      if (i == data.length || data[i] == '\n') {
        if (i == data.length && start == data.length) {
          break;
        }
        int end = i;
        if (end > start && data[end - 1] == '\r') {
          end--;
        }
        byte[] line = new byte[end - start];
        System.arraycopy(data, start, line, 0, line.length);
        lines.add(line);
        start = i + 1;
      }
    }
    return lines;
  }

  /** Strict UTF-8 decoding; the error names the line and the byte offset, as in Python. */
  static String decodeUtf8(byte[] raw, int lineNo) throws InputError {
    CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteBuffer in = ByteBuffer.wrap(raw);
    CharBuffer out = CharBuffer.allocate(raw.length + 1);
    CoderResult result = decoder.decode(in, out, true);
    if (!result.isError()) {
      result = decoder.flush(out);
    }
    if (result.isError()) {
      throw new InputError("line " + lineNo + ": not valid UTF-8 (byte " + in.position()
          + "); re-encode the file as UTF-8");
    }
    out.flip();
    return out.toString();
  }

  static String encodeLine(FullTokenizer tokenizer, byte[] raw, int lineNo, int maxSeqLen)
      throws InputError {
    String line = decodeUtf8(raw, lineNo);
    String[] fields = line.split("\t", -1);
    String textA = fields[0];
    String textB;
    if (fields.length == 1) {
      textB = null;
    } else if (fields.length == 2) {
      textB = fields[1];
    } else {
      throw new InputError("line " + lineNo + ": " + fields.length + " tab-separated fields; "
          + "expected one text or two texts separated by one TAB (for a TSV with labels, e.g. "
          + "`cut -f1,2 file.tsv`)");
    }
    try {
      return tokenizer.encode(textA, textB, maxSeqLen).toJson();
    } catch (IllegalArgumentException e) {
      throw new InputError("line " + lineNo + ": " + e.getMessage());
    }
  }
}
