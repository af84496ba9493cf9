package org.albertedge.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.Test;

/** The CLI's line handling and errors (its byte-identity with Python is tested from pytest). */
public class TokenizeCliTest {
  private static final class Result {
    int code;
    String out;
    String err;
  }

  private static Result run(byte[] stdin, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    Result r = new Result();
    r.code = TokenizeCli.run(args, new ByteArrayInputStream(stdin), out,
        new PrintStream(err, true));
    r.out = new String(out.toByteArray(), StandardCharsets.UTF_8);
    r.err = new String(err.toByteArray(), StandardCharsets.UTF_8);
    return r;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private final String vocab = TestPaths.vocab().toString();

  @Test
  public void linesCrlfEmptyAndUnterminated() {
    Result r = run(utf8("一\r\n\n二\t三"), "--vocab", vocab, "--max-seq-len", "8");
    assertEquals(r.err, 0, r.code);
    String[] lines = r.out.split("\n", -1);
    assertEquals(4, lines.length);
    assertEquals("", lines[3]);
    assertEquals("{\"input_ids\":[101,102,0,0,0,0,0,0],\"input_mask\":[1,1,0,0,0,0,0,0],"
        + "\"segment_ids\":[0,0,0,0,0,0,0,0]}", lines[1]);
    assertTrue(lines[2], lines[2].endsWith("\"segment_ids\":[0,0,0,1,1,0,0,0]}"));
  }

  @Test
  public void lineSeparatorInsideTextIsNotALineBreak() {
    Result r = run(utf8("a\u2028b\u0085c\n"), "--vocab", vocab, "--max-seq-len", "8");
    assertEquals(1, r.out.split("\n").length);
  }

  @Test
  public void errorsExitTwoWithAMessage() {
    Object[][] cases = {
      {new String[] {"--vocab", "/no/such/vocab.txt"}, "x\n", "vocab file not found: /no/such/vocab.txt"},
      {new String[] {"--vocab", vocab, "--max-seq-len", "2"}, "x\n", "--max-seq-len must be at least 3"},
      {new String[] {"--vocab", vocab, "--max-seq-len", "3"}, "ok\na\tb\n", "line 2: max_seq_len=3 is too small"},
      {new String[] {"--vocab", vocab}, "a\tb\tc\n", "line 1: 3 tab-separated fields"},
      {new String[] {"--vocab", vocab, "--max-seq-len", "x"}, "", "invalid int value"},
      {new String[] {}, "", "required: --vocab"},
    };
    for (Object[] c : cases) {
      Result r = run(utf8((String) c[1]), (String[]) c[0]);
      assertEquals(r.err, 2, r.code);
      assertTrue(r.err + " should contain " + c[2], r.err.contains((String) c[2]));
    }
    Result bad = run(new byte[] {'o', 'k', '\n', (byte) 0xff, (byte) 0xfe, '\n'}, "--vocab", vocab);
    assertEquals(2, bad.code);
    assertTrue(bad.err, bad.err.contains("line 2: not valid UTF-8 (byte 0)"));
  }

  @Test
  public void help() {
    Result r = run(new byte[0], "--help");
    assertEquals(0, r.code);
    assertTrue(r.out.contains("--max-seq-len") && r.out.contains("--vocab"));
  }
}
