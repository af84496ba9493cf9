package org.albertedge.demo;

import com.google.ai.edge.litert.LiteRtException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.albertedge.core.ModelMetadata;
import org.albertedge.core.Tokenization;

/**
 * {@code android_demo/app/similarity-jvm --model M.tflite < pairs.tsv}: the app's inference path
 * ({@link SimilarityModel}: tokenizer, signature choice, tensor buffers, both orders for a "pairs"
 * model) on a JVM, over LiteRT's C API. Input: one {@code a<TAB>b[<TAB>label]} pair per line;
 * output: P(same) per line, printed as {@code python -m albert_edge.similarity --pairs} prints it.
 * Exit 2 with a message (no stack trace) for a missing or unusable model, an empty line, a line
 * without a TAB, or input that is not UTF-8.
 */
public final class SimilarityJvmCli {
  private SimilarityJvmCli() {}

  static final String USAGE = "usage: similarity-jvm [-h] --model MODEL [--accelerator {cpu,gpu,npu}] "
      + "[--threads N] [--soc SOC] [--verbose]";

  /** A user mistake: message on stderr, exit 2. */
  static final class UsageError extends Exception {
    private static final long serialVersionUID = 1L;

    UsageError(String message) {
      super(message);
    }
  }

  public static void main(String[] args) {
    System.exit(run(args, System.in, System.out, System.err));
  }

  static int run(String[] args, InputStream in, PrintStream out, PrintStream err) {
    String model = null;
    String accelerator = "cpu";
    String soc = null;
    int threads = 1;
    boolean verbose = false;
    try {
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        if (a.equals("-h") || a.equals("--help")) {
          out.println(USAGE);
          out.println();
          out.println("P(same) for each TAB-separated sentence pair on stdin, one per line, through the");
          out.println("Android app's inference code (SimilarityModel) on LiteRT's C API (libLiteRt.so).");
          out.println();
          out.println("  --model MODEL        an albert_edge .tflite export (metadata embedded or beside it)");
          out.println("  --accelerator ACC    cpu (default), gpu or npu: tried in the app's fallback order");
          out.println("  --threads N          CPU threads asked for (default 1)");
          out.println("  --soc SOC            use MODEL's AOT-compiled twin <name>.<soc>.tflite for npu");
          out.println("  --verbose            stderr: the accelerator that ran, each pair's signature(s)");
          return 0;
        } else if (a.equals("--verbose")) {
          verbose = true;
        } else if (a.equals("--model") || a.equals("--accelerator") || a.equals("--threads") || a.equals("--soc")) {
          if (i + 1 >= args.length) {
            throw new UsageError("argument " + a + ": expected one argument");
          }
          String v = args[++i];
          if (a.equals("--model")) {
            model = v;
          } else if (a.equals("--accelerator")) {
            accelerator = v;
          } else if (a.equals("--soc")) {
            soc = v.trim().toLowerCase(Locale.ROOT);
            if (!soc.matches("[a-z0-9]+")) {
              throw new UsageError("argument --soc: expected a SoC model such as sm8650, got '" + v + "'");
            }
          } else {
            threads = parseThreads(v);
          }
        } else {
          throw new UsageError("unrecognized argument: " + a);
        }
      }
      if (model == null) {
        throw new UsageError("the following arguments are required: --model");
      }
      AcceleratorPlan.Choice choice;
      try {
        choice = AcceleratorPlan.Choice.valueOf(accelerator.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new UsageError("argument --accelerator: invalid choice: '" + accelerator + "' (choose from cpu, gpu, npu)");
      }
      Path modelPath = Paths.get(model);
      checkModelFile(modelPath);
      ModelMetadata metadata = readMetadata(modelPath);
      Map<String, Integer> vocab = readVocab(modelPath, metadata);
      List<String[]> pairs = readPairs(in);
      String aot = null;
      if (soc != null) {
        Path p = modelPath.resolveSibling(AcceleratorPlan.aotName(modelPath.getFileName().toString(), soc));
        aot = Files.isRegularFile(p) ? p.toString() : null;
      }
      List<AcceleratorPlan.Step> steps = AcceleratorPlan.steps(choice, modelPath.toString(), aot, soc);
      PrintWriter w = new PrintWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8));
      try (SimilarityModel m = new SimilarityModel(steps, metadata, vocab,
          modelPath.getFileName().toString(), threads, SimilarityModel.DEFAULT_ENVIRONMENT)) {
        if (verbose) {
          err.println("accelerator: " + m.ran);
          for (String note : m.fallbacks) {
            err.println("fallback: " + note);
          }
        }
        for (String[] pair : pairs) {
          SimilarityModel.Scored s = m.encode(pair[0], pair[1]);
          m.run(s);
          w.println(String.format(Locale.ROOT, "%.6f", (double) m.probabilitySame(s)));
          if (verbose) {
            err.println("signature: " + s.signature + (s.swappedSignature == null ? "" : " " + s.swappedSignature));
          }
        }
      }
      w.flush();
      return 0;
    } catch (UsageError e) {
      err.println(USAGE);
      err.println("similarity-jvm: error: " + e.getMessage());
      return 2;
    } catch (ModelException e) {
      err.println("error: " + model + ": " + e.getMessage());
      return 2;
    } catch (LiteRtException e) {
      err.println("error: " + model + ": LiteRT failed to run the model: " + e.getMessage());
      return 2;
    }
  }

  static int parseThreads(String v) throws UsageError {
    try {
      int n = Integer.parseInt(v.trim());
      if (n >= 1 && n <= 64) {
        return n;
      }
    } catch (NumberFormatException e) {
      // below
    }
    throw new UsageError("argument --threads: expected an integer from 1 to 64, got '" + v + "'");
  }

  static void checkModelFile(Path p) throws ModelException {
    if (Files.isDirectory(p)) {
      throw new ModelException("is a folder; give the .tflite file inside it");
    }
    if (!Files.isRegularFile(p)) {
      throw new ModelException("model file not found");
    }
    byte[] head = new byte[8];
    int n;
    try (InputStream in = Files.newInputStream(p)) {
      n = in.readNBytes(head, 0, 8);
    } catch (IOException e) {
      throw new ModelException("cannot read the model: " + e.getMessage(), e);
    }
    if (n < 8 || head[4] != 'T' || head[5] != 'F' || head[6] != 'L' || head[7] != '3') {
      throw new ModelException("not a TFLite model (no 'TFL3' identifier): is it truncated or "
          + "another format? Re-export it with `python -m albert_edge.export`");
    }
  }

  /** The zip the exporter appends to the .tflite (albert_edge.json, vocab.txt), or null. */
  static byte[] associatedFile(Path model, String name) {
    try (ZipFile zip = new ZipFile(model.toFile())) {
      ZipEntry e = zip.getEntry(name);
      if (e == null) {
        return null;
      }
      try (InputStream in = zip.getInputStream(e)) {
        return in.readAllBytes();
      }
    } catch (IOException e) {
      return null;
    }
  }

  /** As albert_edge.runtime.read_metadata: the embedded albert_edge.json, else the sidecar .json. */
  static ModelMetadata readMetadata(Path model) throws ModelException {
    byte[] embedded = associatedFile(model, "albert_edge.json");
    String name = model.getFileName().toString();
    Path sidecar = model.resolveSibling(name.replaceAll("\\.tflite$", "") + ".json");
    try {
      if (embedded != null) {
        return ModelMetadata.parse(new String(embedded, StandardCharsets.UTF_8));
      }
      if (Files.isRegularFile(sidecar)) {
        return ModelMetadata.fromFile(sidecar);
      }
    } catch (IllegalArgumentException | IOException e) {
      throw new ModelException("its albert_edge metadata is not usable: " + e.getMessage(), e);
    }
    throw new ModelException("no albert_edge metadata (neither albert_edge.json inside it nor "
        + sidecar.getFileName() + " beside it): is this an albert_edge export?");
  }

  /** The embedded vocab.txt, else the metadata's vocab_file beside the model, else the bundled one. */
  static Map<String, Integer> readVocab(Path model, ModelMetadata metadata) throws ModelException {
    try {
      byte[] embedded = associatedFile(model, "vocab.txt");
      if (embedded != null) {
        return Tokenization.loadVocab(new java.io.ByteArrayInputStream(embedded), model + "!vocab.txt");
      }
      Path beside = model.resolveSibling(metadata.vocabFile);
      if (Files.isRegularFile(beside)) {
        return Tokenization.loadVocab(beside);
      }
      String bundled = System.getProperty("albertedge.default.vocab");
      if (bundled != null && Files.isRegularFile(Paths.get(bundled))) {
        return Tokenization.loadVocab(Paths.get(bundled));
      }
    } catch (IOException | IllegalArgumentException e) {
      throw new ModelException("cannot read its vocabulary: " + e.getMessage(), e);
    }
    throw new ModelException("no vocabulary: neither vocab.txt inside the model nor "
        + metadata.vocabFile + " beside it");
  }

  /** Lines end at \n (a trailing \r is dropped); each must be a<TAB>b or a<TAB>b<TAB>label. */
  static List<String[]> readPairs(InputStream in) throws UsageError {
    byte[] all;
    try {
      ByteArrayOutputStream buf = new ByteArrayOutputStream();
      in.transferTo(buf);
      all = buf.toByteArray();
    } catch (IOException e) {
      throw new UsageError("cannot read stdin: " + e.getMessage());
    }
    List<String[]> pairs = new ArrayList<>();
    int start = 0;
    int lineNo = 0;
    while (start < all.length) {
      int end = start;
      while (end < all.length && all[end] != '\n') {
        end++;
      }
      lineNo++;
      int stop = end > start && all[end - 1] == '\r' ? end - 1 : end;
      String line;
      try {
        line = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT)
            .decode(ByteBuffer.wrap(all, start, stop - start)).toString();
      } catch (CharacterCodingException e) {
        throw new UsageError("stdin line " + lineNo + ": not valid UTF-8; re-encode the input as UTF-8");
      }
      pairs.add(parsePair(line, lineNo));
      start = end + 1;
    }
    if (pairs.isEmpty()) {
      throw new UsageError("no pairs on stdin: give one sentence_a<TAB>sentence_b per line");
    }
    return pairs;
  }

  static String[] parsePair(String line, int lineNo) throws UsageError {
    if (Tokenization.pythonStrip(line).isEmpty()) {
      throw new UsageError("stdin line " + lineNo + " is empty: every line must be sentence_a<TAB>sentence_b "
          + "(one probability is printed per line)");
    }
    String[] fields = line.split("\t", -1);
    if (fields.length == 1) {
      throw new UsageError("stdin line " + lineNo + " has no TAB: expected sentence_a<TAB>sentence_b[<TAB>label]");
    }
    if (fields.length > 3) {
      throw new UsageError("stdin line " + lineNo + ": " + fields.length + " TAB-separated fields; expected 2 or 3 "
          + "(sentence_a, sentence_b[, label])");
    }
    String a = Tokenization.pythonStrip(fields[0]);
    String b = Tokenization.pythonStrip(fields[1]);
    if (a.isEmpty() || b.isEmpty()) {
      throw new UsageError("stdin line " + lineNo + ": empty text in column " + (a.isEmpty() ? 1 : 2));
    }
    return new String[] {a, b};
  }

}
