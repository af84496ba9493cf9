package org.albertedge.core;

import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Code point by code point, the JVM's character classes, lower-casing and accent stripping must
 * equal Python's (tests/data/unicode_classes.txt, from tools/make_golden.py). The only tolerated
 * differences are code points that one side's Unicode version has not assigned yet (Python 3.11
 * has Unicode 14, JDK 17 Unicode 13; Android's ICU differs again) or whose category changed
 * between versions ({@link #CATEGORY_CHANGED}): they are counted and printed.
 */
public class UnicodeTablesTest {
  private static final int WHITESPACE = 1;
  private static final int CONTROL = 2;
  private static final int PUNCTUATION = 4;
  private static final int CJK = 8;
  private static final int MN = 16;
  private static final int ASSIGNED = 32;

  private static int[] pyBits;
  private static final Map<Integer, String> pyLower = new HashMap<>();
  private static final Map<Integer, String> pyStrip = new HashMap<>();
  private static String pyVersion = "?";

  @BeforeClass
  public static void load() throws Exception {
    pyBits = new int[0x110000];
    String text = new String(Files.readAllBytes(TestPaths.repo().resolve("tests/data/unicode_classes.txt")),
        StandardCharsets.UTF_8);
    for (String line : text.split("\n")) {
      String[] f = line.split(" ");
      if (line.startsWith("unidata_version ")) {
        pyVersion = f[1];
      } else if (f[0].equals("R")) {
        int bits = Integer.parseInt(f[3], 16);
        for (int cp = Integer.parseInt(f[1], 16); cp <= Integer.parseInt(f[2], 16); cp++) {
          pyBits[cp] = bits;
        }
      } else if (f[0].equals("L") || f[0].equals("S")) {
        StringBuilder sb = new StringBuilder();
        for (int i = 2; i < f.length; i++) {
          sb.appendCodePoint(Integer.parseInt(f[i], 16));
        }
        (f[0].equals("L") ? pyLower : pyStrip).put(Integer.parseInt(f[1], 16), sb.toString());
      }
    }
    assertTrue("table looks empty", pyLower.size() > 1000 && pyStrip.size() > 1000);
  }

  /**
   * Assigned code points whose general category changed between Unicode 13 (JDK 17) and 14
   * (Python 3.11): U+1734 HANUNOO SIGN PAMUDPOD, Mn -> Mc. Found by this test; extend it only
   * with a reason.
   */
  private static final int[] CATEGORY_CHANGED = {0x1734};

  private static boolean assignedInBoth(int cp) {
    for (int changed : CATEGORY_CHANGED) {
      if (cp == changed) {
        return false;
      }
    }
    return (pyBits[cp] & ASSIGNED) != 0 && Character.getType(cp) != Character.UNASSIGNED;
  }

  private static boolean surrogate(int cp) {
    return cp >= 0xD800 && cp <= 0xDFFF;
  }

  private static String str(int cp) {
    return new String(Character.toChars(cp));
  }

  private static void report(String what, List<String> mismatches, int versionSkew) {
    System.out.println("  unicode " + what + ": " + versionSkew + " code points differ only by Unicode version "
        + "(unassigned on one side, or category changed; Python Unicode " + pyVersion + ", JVM "
        + System.getProperty("java.version") + ")");
    if (!mismatches.isEmpty()) {
      fail(mismatches.size() + " code points assigned in both differ in " + what + ", first: "
          + mismatches.subList(0, Math.min(10, mismatches.size())));
    }
  }

  @Test
  public void characterClassesMatchPython() {
    List<String> mismatches = new ArrayList<>();
    int skew = 0;
    for (int cp = 0; cp < 0x110000; cp++) {
      if (surrogate(cp)) {
        continue;
      }
      int bits = (Tokenization.isWhitespace(cp) ? WHITESPACE : 0)
          | (Tokenization.isControl(cp) ? CONTROL : 0)
          | (Tokenization.isPunctuation(cp) ? PUNCTUATION : 0)
          | (Tokenization.isChineseChar(cp) ? CJK : 0)
          | (Character.getType(cp) == Character.NON_SPACING_MARK ? MN : 0);
      if (bits != (pyBits[cp] & ~ASSIGNED)) {
        if (assignedInBoth(cp)) {
          mismatches.add(String.format("U+%04X java=%d python=%d", cp, bits, pyBits[cp] & ~ASSIGNED));
        } else {
          skew++;
        }
      }
    }
    report("classes", mismatches, skew);
  }

  @Test
  public void lowerCaseMatchesPython() {
    List<String> mismatches = new ArrayList<>();
    int skew = 0;
    for (int cp = 0; cp < 0x110000; cp++) {
      if (surrogate(cp)) {
        continue;
      }
      String expected = pyLower.getOrDefault(cp, str(cp));
      if (!Tokenization.pythonLower(str(cp)).equals(expected)) {
        if (assignedInBoth(cp)) {
          mismatches.add(String.format("U+%04X", cp));
        } else {
          skew++;
        }
      }
    }
    report("lower()", mismatches, skew);
  }

  @Test
  public void accentStripMatchesPython() {
    List<String> mismatches = new ArrayList<>();
    int skew = 0;
    for (int cp = 0; cp < 0x110000; cp++) {
      if (surrogate(cp) || (cp >= 0xAC00 && cp <= 0xD7A3)) {
        continue;
      }
      int type = Character.getType(cp);
      if (type == Character.UNASSIGNED && !pyStrip.containsKey(cp)) {
        continue; // unassigned here and unchanged in Python
      }
      String expected = pyStrip.getOrDefault(cp, str(cp));
      String actual = BasicTokenizer.runStripAccents(str(cp));
      if (!actual.equals(expected)) {
        boolean partsAssigned = assignedInBoth(cp);
        for (int i = 0; i < expected.length() && partsAssigned; i += Character.charCount(expected.codePointAt(i))) {
          partsAssigned = assignedInBoth(expected.codePointAt(i));
        }
        if (partsAssigned) {
          mismatches.add(String.format("U+%04X", cp));
        } else {
          skew++;
        }
      }
    }
    // Hangul syllables decompose algorithmically into conjoining jamo (kept: they are Lo).
    String han = BasicTokenizer.runStripAccents("한");
    if (!han.equals("\u1112\u1161\u11AB")) {
      mismatches.add("U+D55C -> " + han);
    }
    report("accent strip", mismatches, skew);
  }
}
