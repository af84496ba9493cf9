package org.albertedge.demo;

import com.google.ai.edge.litert.Accelerator;
import com.google.ai.edge.litert.CompiledModel;
import com.google.ai.edge.litert.Environment;
import com.google.ai.edge.litert.LiteRtException;
import com.google.ai.edge.litert.TensorBuffer;
import com.google.ai.edge.litert.TensorType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.albertedge.core.Encoding;
import org.albertedge.core.FullTokenizer;
import org.albertedge.core.ModelMetadata;
import org.albertedge.core.Scores;
import org.albertedge.core.SeqLenPicker;

/**
 * The app's inference path, on LiteRT's CompiledModel API: encodes a sentence pair with core (the
 * Java twin of albert_edge.tokenization), picks the signature of the smallest exported length that
 * fits (L32 / L64 / L128), writes input_ids / input_mask / segment_ids into that signature's
 * tensor buffers by name, runs it and reads the probabilities. For a model of task "pairs" it
 * scores (a, b) and (b, a), each at its own length, and averages the two probability vectors, as
 * albert_edge's Python runtime does, so that both give the same number.
 *
 * <p>Accelerators are tried in {@link AcceleratorPlan}'s order; {@link #ran} names the one that
 * compiled and ran the warm-up, {@link #fallbacks} why the ones before it did not. No android.*:
 * the same class runs in the app and, over LiteRT's C API, in `similarity-jvm` and the tests. Not
 * thread-safe: the Activity uses it from one worker thread only.
 */
final class SimilarityModel implements AutoCloseable {

  /** Creates the LiteRT environment (the app passes one that knows the NPU libraries). */
  interface EnvironmentFactory {
    Environment create() throws LiteRtException;
  }

  /** The plain environment: CPU and GPU, and the NPU where the system provides its libraries. */
  static final EnvironmentFactory DEFAULT_ENVIRONMENT = new EnvironmentFactory() {
    @Override
    public Environment create() throws LiteRtException {
      return Environment.create();
    }
  };

  /** One scored pair: P per label and the signature(s) that ran. */
  static final class Scored {
    float[] probabilities;
    SeqLenPicker.Choice choice;
    String signature;
    /** The (b, a) run, for a "pairs" model; null otherwise. */
    SeqLenPicker.Choice swappedChoice;
    String swappedSignature;
  }

  /** What the screen shows for one comparison. */
  static final class Result {
    float probabilitySame;
    boolean same;
    double medianMs;
    double minMs;
    int runs;
    double tokenizeMs;
    String signature;
    boolean bothOrders;
    int numTokens;
    int seqLen;
    int neededLength;
    boolean truncated;
  }

  /** The buffers of one signature, created once at load and reused by every run. */
  private static final class SignatureBuffers {
    final Map<String, TensorBuffer> inputs = new HashMap<>();
    final Map<String, TensorBuffer> outputs = new HashMap<>();
  }

  private final Environment env;
  private final CompiledModel model;
  private final ModelMetadata metadata;
  private final FullTokenizer tokenizer;
  private final SeqLenPicker picker;
  private final Map<String, SignatureBuffers> buffers = new HashMap<>();
  private final String outputName;
  private final int positive;
  /** The accelerator that runs the model, as the screen names it, e.g. "GPU" or "CPU". */
  final String ran;
  /** Why each accelerator tried before {@link #ran} did not run (empty when the first did). */
  final List<String> fallbacks;
  final String description;
  final long loadMs;

  SimilarityModel(List<AcceleratorPlan.Step> steps, ModelMetadata metadata, Map<String, Integer> vocab,
      String modelName, int threads, EnvironmentFactory environments) throws ModelException {
    long start = System.nanoTime();
    this.metadata = metadata;
    this.tokenizer = new FullTokenizer(vocab, metadata.doLowerCase);
    this.picker = metadata.seqLenPicker();
    try {
      this.positive = metadata.positiveLabelIndex();
    } catch (IllegalArgumentException e) {
      throw new ModelException(e.getMessage(), e);
    }
    Set<Accelerator> available;
    try {
      this.env = environments.create();
    } catch (LinkageError e) {
      // UnsatisfiedLinkError (no LiteRT .so for this phone's ABI, a broken install),
      // NoClassDefFoundError (an APK built without LiteRT), ExceptionInInitializerError: all Errors
      // that a RuntimeException handler misses, and that would otherwise crash the app.
      throw new ModelException(nativeRuntimeMissing(e), e);
    } catch (LiteRtException | RuntimeException e) {
      throw new ModelException("LiteRT could not create its environment: " + e.getMessage(), e);
    }
    try {
      available = env.getAvailableAccelerators();
    } catch (LiteRtException | RuntimeException e) {
      env.close();
      throw new ModelException("LiteRT could not list its accelerators: " + e.getMessage(), e);
    }
    List<String> notes = new ArrayList<>();
    CompiledModel compiled = null;
    String output = null;
    String label = null;
    for (AcceleratorPlan.Step step : steps) {
      Accelerator accelerator = Accelerator.valueOf(step.accelerator.name());
      if (!available.contains(accelerator)) {
        // Never compile for an accelerator LiteRT does not have: with the NPU asked for alone,
        // LiteRT adds the CPU and would run everything there without saying so.
        notes.add(step.label + ": not available on this device (LiteRT has " + available + ")");
        continue;
      }
      CompiledModel candidate = null;
      try {
        candidate = CompiledModel.create(step.modelPath, options(accelerator, threads), env);
        output = checkSignatures(candidate);
        createBuffers(candidate, output);
        warmUp(candidate, output);
        compiled = candidate;
        label = step.label;
        break;
      } catch (ModelException e) {
        closeBuffers();
        closeQuietly(candidate);
        env.close();
        throw e;
      } catch (LinkageError e) {
        closeBuffers();
        closeQuietly(candidate);
        env.close();
        throw new ModelException(nativeRuntimeMissing(e), e);
      } catch (LiteRtException | RuntimeException e) {
        closeBuffers();
        closeQuietly(candidate);
        notes.add(step.label + ": " + e.getMessage());
      }
    }
    if (compiled == null) {
      env.close();
      throw new ModelException("LiteRT could not load or run " + modelName + " on any accelerator "
          + "(a truncated or corrupt .tflite fails this way on every one: re-export it and re-run "
          + "make android-assets):\n" + String.join("\n", notes));
    }
    this.model = compiled;
    this.outputName = output;
    this.ran = label;
    this.fallbacks = Collections.unmodifiableList(notes);
    this.description = modelName + " · " + label;
    this.loadMs = (System.nanoTime() - start) / 1_000_000;
  }

  private static CompiledModel.Options options(Accelerator accelerator, int threads) {
    CompiledModel.Options options = new CompiledModel.Options(accelerator);
    options.setCpuOptions(new CompiledModel.CpuOptions(threads, null, null));
    return options;
  }

  /** What the screen says when LiteRT's Java or native code cannot be loaded at all. */
  static String nativeRuntimeMissing(LinkageError e) {
    return "LiteRT's runtime could not be loaded on this device (" + e.getClass().getSimpleName()
        + ": " + e.getMessage() + "). The app was built without LiteRT's native library for this "
        + "phone's CPU (ABI), or the install is damaged: build and install it with Android Studio / "
        + "./gradlew installDebug, which packages com.google.ai.edge.litert.";
  }

  /**
   * Every length in the metadata needs its signature with the three int32 [1, L] inputs and a
   * [1, num_labels] float output "probabilities" (or "logits"); returns that output's name.
   */
  private String checkSignatures(CompiledModel m) throws ModelException {
    String output = null;
    for (int len : metadata.seqLens) {
      String key = metadata.signatureKey(len);
      for (String name : ModelMetadata.INPUT_NAMES) {
        TensorType t;
        try {
          t = m.getInputTensorType(name, key);
        } catch (Exception e) {  // LiteRtException: Kotlin declares none, its JNI throws it
          throw new ModelException("Incompatible model: signature " + key + " has no input " + name
              + " (" + e.getMessage() + "). The .tflite and its .json do not belong together; "
              + "re-run make android-assets.", e);
        }
        List<Integer> dims = t.getLayout() == null ? null : t.getLayout().getDimensions();
        if (t.getElementType() != TensorType.ElementType.INT || !Arrays.asList(1, len).equals(dims)) {
          throw new ModelException("Incompatible model: input " + name + " of " + key + " is "
              + t.getElementType() + dims + ", expected INT[1, " + len + "].");
        }
      }
      String found = null;
      TensorType t = null;
      for (String candidate : new String[] {"probabilities", "logits"}) {
        try {
          t = m.getOutputTensorType(candidate, key);
          found = candidate;
          break;
        } catch (Exception e) {
          // not this name; try the next
        }
      }
      if (found == null) {
        throw new ModelException("Incompatible model: signature " + key
            + " has no output probabilities or logits.");
      }
      List<Integer> dims = t.getLayout() == null ? null : t.getLayout().getDimensions();
      if (t.getElementType() != TensorType.ElementType.FLOAT
          || !Arrays.asList(1, metadata.labels.size()).equals(dims)) {
        throw new ModelException("Incompatible model: output " + found + " of " + key + " is "
            + t.getElementType() + dims + " but the metadata lists " + metadata.labels.size() + " labels.");
      }
      output = found;
    }
    return output;
  }

  /** The three inputs and every output the signature has (LiteRT runs a signature with all of them). */
  private void createBuffers(CompiledModel m, String output) throws LiteRtException {
    for (int len : metadata.seqLens) {
      String key = metadata.signatureKey(len);
      SignatureBuffers b = new SignatureBuffers();
      buffers.put(key, b);
      for (String name : ModelMetadata.INPUT_NAMES) {
        b.inputs.put(name, m.createInputBuffer(name, key));
      }
      b.outputs.put(output, m.createOutputBuffer(output, key));
      String other = output.equals("probabilities") ? "logits" : "probabilities";
      try {
        m.getOutputTensorType(other, key);
      } catch (Exception e) {
        continue;  // the signature has only the one output
      }
      b.outputs.put(other, m.createOutputBuffer(other, key));
    }
  }

  /** First runs allocate and (on GPU/NPU) compile: keep them out of the reported latency. */
  private void warmUp(CompiledModel m, String output) throws LiteRtException {
    for (int len : metadata.seqLens) {
      run(m, output, tokenizer.encode("", "", len), metadata.signatureKey(len));
    }
  }

  private float[] run(CompiledModel m, String output, Encoding e, String key) throws LiteRtException {
    SignatureBuffers b = buffers.get(key);
    b.inputs.get("input_ids").writeInt(e.inputIds);
    b.inputs.get("input_mask").writeInt(e.inputMask);
    b.inputs.get("segment_ids").writeInt(e.segmentIds);
    m.run(b.inputs, b.outputs, key);
    float[] values = b.outputs.get(output).readFloat();
    return output.equals("probabilities") ? values : Scores.softmax(values);
  }

  /** Whether a pair is scored in both orders (a model of task "pairs"). */
  boolean scoresBothOrders() {
    return metadata.scoresBothOrders();
  }

  /** Tokenizes the pair (and, for a "pairs" model, the swapped pair) at their smallest lengths. */
  Scored encode(String textA, String textB) {
    Scored s = new Scored();
    s.choice = picker.encode(tokenizer, textA, textB);
    s.signature = metadata.signatureKey(s.choice.seqLen);
    if (scoresBothOrders()) {
      s.swappedChoice = picker.encode(tokenizer, textB, textA);
      s.swappedSignature = metadata.signatureKey(s.swappedChoice.seqLen);
    }
    return s;
  }

  /** Runs an encoded pair: P per label (for a "pairs" model the mean of both orders). */
  float[] run(Scored s) throws LiteRtException {
    float[] p = run(model, outputName, s.choice.encoding, s.signature);
    if (s.swappedChoice != null) {
      float[] q = run(model, outputName, s.swappedChoice.encoding, s.swappedSignature);
      float[] mean = new float[p.length];
      for (int i = 0; i < p.length; i++) {
        mean[i] = (p[i] + q[i]) / 2f;
      }
      p = mean;
    }
    s.probabilities = p;
    return p;
  }

  /** The probability of the label "same" (what similarity-jvm prints). */
  float probabilitySame(Scored s) {
    return s.probabilities[positive];
  }

  /** Encodes, runs {@code runs} times (latency = median), returns P(same) and timings. */
  Result compare(String textA, String textB, int runs) throws LiteRtException {
    long t0 = System.nanoTime();
    Scored s = encode(textA, textB);
    long t1 = System.nanoTime();
    double[] ms = new double[runs];
    for (int i = 0; i < runs; i++) {
      long start = System.nanoTime();
      run(s);
      ms[i] = (System.nanoTime() - start) / 1e6;
    }
    Arrays.sort(ms);
    Result r = new Result();
    r.probabilitySame = s.probabilities[positive];
    r.same = Scores.argmax(s.probabilities) == positive;
    r.medianMs = ms[runs / 2];
    r.minMs = ms[0];
    r.runs = runs;
    r.tokenizeMs = (t1 - t0) / 1e6;
    r.signature = s.signature;
    r.bothOrders = s.swappedChoice != null;
    r.numTokens = s.choice.encoding.numTokens;
    r.seqLen = s.choice.seqLen;
    r.neededLength = s.choice.neededLength;
    r.truncated = s.choice.encoding.truncated;
    return r;
  }

  private void closeBuffers() {
    for (SignatureBuffers b : buffers.values()) {
      for (TensorBuffer t : b.inputs.values()) {
        t.close();
      }
      for (TensorBuffer t : b.outputs.values()) {
        t.close();
      }
    }
    buffers.clear();
  }

  @Override
  public void close() {
    closeBuffers();
    model.close();
    env.close();
  }

  private static void closeQuietly(AutoCloseable c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (Exception ignored) {
      // closing cannot fail in a way the user can act on
    }
  }
}
