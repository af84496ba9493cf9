package org.albertedge.demo;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.albertedge.core.Encoding;
import org.albertedge.core.FullTokenizer;
import org.albertedge.core.ModelMetadata;
import org.albertedge.core.Scores;
import org.albertedge.core.SeqLenPicker;
import org.tensorflow.lite.DataType;
import org.tensorflow.lite.Interpreter;
import org.tensorflow.lite.Tensor;
import org.tensorflow.lite.gpu.CompatibilityList;
import org.tensorflow.lite.gpu.GpuDelegate;
import org.tensorflow.lite.nnapi.NnApiDelegate;

/**
 * One loaded .tflite with its tokenizer: encodes a sentence pair with core (the Java twin of
 * albert_edge.tokenization), runs the signature of the smallest exported length that fits
 * (L32 / L64 / L128) through the LiteRT Interpreter API, and times it. Not thread-safe: the
 * Activity uses it from one worker thread only.
 */
final class SimilarityModel implements AutoCloseable {

  /** How the Interpreter executes: reference CPU kernels, XNNPACK, or a hardware delegate. */
  enum Delegate {
    CPU,
    XNNPACK,
    GPU,
    NNAPI
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
    int numTokens;
    int seqLen;
    int neededLength;
    boolean truncated;
  }

  private final Interpreter interpreter;
  private final AutoCloseable delegateInstance;
  private final ModelMetadata metadata;
  private final FullTokenizer tokenizer;
  private final SeqLenPicker picker;
  private final String outputName;
  private final int positive;
  final String description;
  final long loadMs;

  SimilarityModel(ByteBuffer model, ModelMetadata metadata, Map<String, Integer> vocab,
      String modelName, int threads, Delegate delegate) throws ModelException {
    long start = System.nanoTime();
    this.metadata = metadata;
    this.tokenizer = new FullTokenizer(vocab, metadata.doLowerCase);
    this.picker = metadata.seqLenPicker();
    try {
      this.positive = metadata.positiveLabelIndex();
    } catch (IllegalArgumentException e) {
      throw new ModelException(e.getMessage(), e);
    }
    AutoCloseable[] created = new AutoCloseable[1];
    try {
      this.interpreter = createInterpreter(model, threads, delegate, created);
    } catch (LinkageError e) {
      // UnsatisfiedLinkError (no LiteRT .so for this phone's ABI, a broken install),
      // NoClassDefFoundError (an APK built without LiteRT), ExceptionInInitializerError: all Errors
      // that a RuntimeException handler misses, and that would otherwise crash the app.
      closeQuietly(created[0]);
      throw new ModelException(nativeRuntimeMissing(e), e);
    } catch (RuntimeException e) {
      closeQuietly(created[0]);
      throw new ModelException("LiteRT cannot run " + modelName + " with " + delegate + ": "
          + e.getMessage() + (delegate == Delegate.CPU || delegate == Delegate.XNNPACK ? ""
          : "\nThis delegate may not support the model's ops; try XNNPACK."), e);
    }
    this.delegateInstance = created[0];
    try {
      this.outputName = checkSignatures();
      warmUp();
    } catch (ModelException | RuntimeException e) {
      close();
      if (e instanceof ModelException) {
        throw (ModelException) e;
      }
      throw new ModelException("Running " + modelName + " failed: " + e.getMessage(), e);
    }
    this.description = modelName + " · " + delegate;
    this.loadMs = (System.nanoTime() - start) / 1_000_000;
  }

  /**
   * The first LiteRT calls of a load: this is where a missing or unloadable native runtime shows.
   * A delegate it creates is handed back in {@code created[0]} so the caller can close it on failure.
   */
  private static Interpreter createInterpreter(ByteBuffer model, int threads, Delegate delegate,
      AutoCloseable[] created) throws ModelException {
    Interpreter.Options options = new Interpreter.Options();
    options.setNumThreads(threads);
    switch (delegate) {
      case CPU:
        options.setUseXNNPACK(false);
        break;
      case XNNPACK:
        options.setUseXNNPACK(true);
        break;
      case GPU:
        try (CompatibilityList compat = new CompatibilityList()) {
          if (!compat.isDelegateSupportedOnThisDevice()) {
            throw new ModelException("The GPU delegate is not supported on this device; choose CPU or XNNPACK.");
          }
        }
        GpuDelegate gpu = new GpuDelegate();
        created[0] = gpu;
        options.addDelegate(gpu);
        break;
      case NNAPI:
        NnApiDelegate nnapi = new NnApiDelegate();
        created[0] = nnapi;
        options.addDelegate(nnapi);
        break;
    }
    return new Interpreter(model, options);
  }

  /** What the screen says when LiteRT's Java or native code cannot be loaded at all. */
  static String nativeRuntimeMissing(LinkageError e) {
    return "LiteRT's runtime could not be loaded on this device (" + e.getClass().getSimpleName()
        + ": " + e.getMessage() + "). The app was built without LiteRT's native library for this "
        + "phone's CPU (ABI), or the install is damaged: build and install it with Android Studio / "
        + "./gradlew installDebug, which packages com.google.ai.edge.litert.";
  }

  /** Every length in the metadata needs its signature, with the three int32 [1, L] inputs. */
  private String checkSignatures() throws ModelException {
    Set<String> keys = new HashSet<>(Arrays.asList(interpreter.getSignatureKeys()));
    String output = null;
    for (int len : metadata.seqLens) {
      String key = metadata.signatureKey(len);
      if (!keys.contains(key)) {
        throw new ModelException("Incompatible model: no signature " + key + " (it has " + keys
            + "). The .tflite and its .json do not belong together; re-run make android-assets.");
      }
      List<String> inputs = Arrays.asList(interpreter.getSignatureInputs(key));
      if (!inputs.containsAll(ModelMetadata.INPUT_NAMES)) {
        throw new ModelException("Incompatible model: signature " + key + " has inputs " + inputs
            + ", expected " + ModelMetadata.INPUT_NAMES + ".");
      }
      for (String name : ModelMetadata.INPUT_NAMES) {
        Tensor t = interpreter.getInputTensorFromSignature(name, key);
        if (t.dataType() != DataType.INT32 || !Arrays.equals(t.shape(), new int[] {1, len})) {
          throw new ModelException("Incompatible model: input " + name + " of " + key + " is "
              + t.dataType() + Arrays.toString(t.shape()) + ", expected INT32[1, " + len + "].");
        }
      }
      List<String> outputs = Arrays.asList(interpreter.getSignatureOutputs(key));
      output = outputs.contains("probabilities") ? "probabilities"
          : outputs.contains("logits") ? "logits" : null;
      if (output == null) {
        throw new ModelException("Incompatible model: signature " + key + " has outputs " + outputs
            + ", expected probabilities or logits.");
      }
      int[] shape = interpreter.getOutputTensorFromSignature(output, key).shape();
      if (shape.length != 2 || shape[1] != metadata.labels.size()) {
        throw new ModelException("Incompatible model: output " + output + " of " + key + " has shape "
            + Arrays.toString(shape) + " but the metadata lists " + metadata.labels.size() + " labels.");
      }
    }
    return output;
  }

  /** First runs allocate and (with delegates) compile: keep them out of the reported latency. */
  private void warmUp() {
    for (int len : metadata.seqLens) {
      Encoding e = tokenizer.encode("", "", len);
      run(e, metadata.signatureKey(len), new float[1][metadata.labels.size()]);
    }
  }

  private void run(Encoding e, String key, float[][] out) {
    Map<String, Object> inputs = new HashMap<>();
    inputs.put("input_ids", new int[][] {e.inputIds});
    inputs.put("input_mask", new int[][] {e.inputMask});
    inputs.put("segment_ids", new int[][] {e.segmentIds});
    Map<String, Object> outputs = new HashMap<>();
    outputs.put(outputName, out);
    interpreter.runSignature(inputs, outputs, key);
  }

  /** Encodes, runs {@code runs} times (latency = median), returns P(same) and timings. */
  Result compare(String textA, String textB, int runs) {
    long t0 = System.nanoTime();
    SeqLenPicker.Choice choice = picker.encode(tokenizer, textA, textB);
    long t1 = System.nanoTime();
    String key = metadata.signatureKey(choice.seqLen);
    float[][] out = new float[1][metadata.labels.size()];
    double[] ms = new double[runs];
    for (int i = 0; i < runs; i++) {
      long s = System.nanoTime();
      run(choice.encoding, key, out);
      ms[i] = (System.nanoTime() - s) / 1e6;
    }
    Arrays.sort(ms);
    float[] probs = outputName.equals("probabilities") ? out[0] : Scores.softmax(out[0]);
    Result r = new Result();
    r.probabilitySame = probs[positive];
    r.same = Scores.argmax(probs) == positive;
    r.medianMs = ms[runs / 2];
    r.minMs = ms[0];
    r.runs = runs;
    r.tokenizeMs = (t1 - t0) / 1e6;
    r.signature = key;
    r.numTokens = choice.encoding.numTokens;
    r.seqLen = choice.seqLen;
    r.neededLength = choice.neededLength;
    r.truncated = choice.encoding.truncated;
    return r;
  }

  @Override
  public void close() {
    interpreter.close();
    closeQuietly(delegateInstance);
  }

  private static void closeQuietly(AutoCloseable c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (Exception ignored) {
      // closing a delegate cannot fail in a way the user can act on
    }
  }
}
