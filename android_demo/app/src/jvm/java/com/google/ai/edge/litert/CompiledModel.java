package com.google.ai.edge.litert;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A model compiled for a set of accelerators (LiteRtCompiledModel), with the signature-by-name
 * calls of LiteRT's Kotlin API implemented over the C API, as its JNI layer does: a signature key
 * and tensor names are looked up in the model's signature list, buffers are created from the
 * compiled model's requirements, and {@link #run(Map, Map, String)} orders the buffers the way the
 * signature lists its inputs and outputs (an albert_edge export lists them as
 * segment_ids, input_mask, input_ids: the order of a map or a list never matters to the caller).
 */
public final class CompiledModel extends JniHandle {

  /** Options to specify CPU acceleration for compiling a model (a Kotlin data class). */
  public static final class CpuOptions {
    private final Integer numThreads;
    private final Integer xnnPackFlags;
    private final String xnnPackWeightCachePath;

    public CpuOptions(Integer numThreads, Integer xnnPackFlags, String xnnPackWeightCachePath) {
      this.numThreads = numThreads;
      this.xnnPackFlags = xnnPackFlags;
      this.xnnPackWeightCachePath = xnnPackWeightCachePath;
    }

    public final Integer getNumThreads() {
      return numThreads;
    }

    public final Integer getXnnPackFlags() {
      return xnnPackFlags;
    }

    public final String getXnnPackWeightCachePath() {
      return xnnPackWeightCachePath;
    }

    @Override
    public boolean equals(Object o) {
      if (!(o instanceof CpuOptions)) {
        return false;
      }
      CpuOptions c = (CpuOptions) o;
      return Objects.equals(numThreads, c.numThreads) && Objects.equals(xnnPackFlags, c.xnnPackFlags)
          && Objects.equals(xnnPackWeightCachePath, c.xnnPackWeightCachePath);
    }

    @Override
    public int hashCode() {
      return Objects.hash(numThreads, xnnPackFlags, xnnPackWeightCachePath);
    }

    @Override
    public String toString() {
      return "CpuOptions(numThreads=" + numThreads + ", xnnPackFlags=" + xnnPackFlags
          + ", xnnPackWeightCachePath=" + xnnPackWeightCachePath + ")";
    }
  }

  /** Options to specify hardware acceleration for compiling a model. */
  public static final class Options {
    final Set<Accelerator> accelerators;
    private CpuOptions cpuOptions;

    public Options(Accelerator... accelerators) {
      this.accelerators = Collections.unmodifiableSet(new LinkedHashSet<>(Arrays.asList(accelerators)));
    }

    public final CpuOptions getCpuOptions() {
      return cpuOptions;
    }

    /**
     * Accepted as on the phone. The C API of the x86 wheel has no CPU-options setter exported, so
     * here the CPU kernels run with LiteRT's default thread count; the results do not depend on it.
     */
    public final void setCpuOptions(CpuOptions cpuOptions) {
      this.cpuOptions = cpuOptions;
    }
  }

  /** One signature of the model, read once: key, input and output names in the model's order. */
  private static final class Signature {
    final long index;
    final String key;
    final Pointer handle;
    final List<String> inputs = new ArrayList<>();
    final List<String> outputs = new ArrayList<>();

    Signature(long index, String key, Pointer handle) {
      this.index = index;
      this.key = key;
      this.handle = handle;
    }
  }

  private final Pointer handle;
  private final Pointer model;
  private final Environment env;
  private final boolean envManaged;
  private final List<Signature> signatures;

  private CompiledModel(Pointer handle, Pointer model, Environment env, boolean envManaged,
      List<Signature> signatures) {
    this.handle = handle;
    this.model = model;
    this.env = env;
    this.envManaged = envManaged;
    this.signatures = signatures;
  }

  public static CompiledModel create(String filePath) throws LiteRtException {
    return create(filePath, new Options(Accelerator.CPU), null);
  }

  public static CompiledModel create(String filePath, Options options) throws LiteRtException {
    return create(filePath, options, null);
  }

  /**
   * Loads {@code filePath} and compiles it for {@code options}' accelerators; with
   * {@code optionalEnv} null an environment is created and closed with the model. As in the
   * Kotlin API, NPU alone also enables the CPU, for ops an AOT-compiled model leaves to it.
   */
  public static CompiledModel create(String filePath, Options options, Environment optionalEnv)
      throws LiteRtException {
    Environment env = optionalEnv != null ? optionalEnv : Environment.create();
    boolean envManaged = optionalEnv == null;
    Pointer model = null;
    try {
      Memory out = LiteRtC.out();
      LiteRtC.check(LiteRtC.LiteRtCreateModelFromFile(env.handle, filePath, out),
          "LiteRtCreateModelFromFile(" + filePath + ")");
      model = out.getPointer(0);
      List<Signature> signatures = readSignatures(model);
      Set<Accelerator> accelerators = EnumSet.noneOf(Accelerator.class);
      accelerators.addAll(options.accelerators);
      if (accelerators.size() == 1 && accelerators.contains(Accelerator.NPU)) {
        accelerators.add(Accelerator.CPU);
      }
      int bits = 0;
      for (Accelerator a : accelerators) {
        bits |= a.hwBit();
      }
      Memory opts = LiteRtC.out();
      LiteRtC.check(LiteRtC.LiteRtCreateOptions(opts), "LiteRtCreateOptions");
      Pointer compilationOptions = opts.getPointer(0);
      Memory compiled = LiteRtC.out();
      try {
        LiteRtC.check(LiteRtC.LiteRtSetOptionsHardwareAccelerators(compilationOptions, bits),
            "LiteRtSetOptionsHardwareAccelerators");
        LiteRtC.check(LiteRtC.LiteRtCreateCompiledModel(env.handle, model, compilationOptions, compiled),
            "LiteRtCreateCompiledModel(" + accelerators + ")");
      } finally {
        LiteRtC.LiteRtDestroyOptions(compilationOptions);
      }
      return new CompiledModel(compiled.getPointer(0), model, env, envManaged, signatures);
    } catch (LiteRtException | RuntimeException e) {
      if (model != null) {
        LiteRtC.LiteRtDestroyModel(model);
      }
      if (envManaged) {
        env.close();
      }
      throw e;
    }
  }

  private static String string(Pointer charPointer) {
    return charPointer.getString(0, "UTF-8");
  }

  private static List<Signature> readSignatures(Pointer model) throws LiteRtException {
    Memory count = LiteRtC.out();
    LiteRtC.check(LiteRtC.LiteRtGetNumModelSignatures(model, count), "LiteRtGetNumModelSignatures");
    List<Signature> out = new ArrayList<>();
    for (long i = 0; i < count.getLong(0); i++) {
      Memory sig = LiteRtC.out();
      LiteRtC.check(LiteRtC.LiteRtGetModelSignature(model, i, sig), "LiteRtGetModelSignature");
      Pointer s = sig.getPointer(0);
      Memory key = LiteRtC.out();
      LiteRtC.check(LiteRtC.LiteRtGetSignatureKey(s, key), "LiteRtGetSignatureKey");
      Signature signature = new Signature(i, string(key.getPointer(0)), s);
      Memory n = LiteRtC.out();
      LiteRtC.check(LiteRtC.LiteRtGetNumSignatureInputs(s, n), "LiteRtGetNumSignatureInputs");
      for (long k = 0; k < n.getLong(0); k++) {
        Memory name = LiteRtC.out();
        LiteRtC.check(LiteRtC.LiteRtGetSignatureInputName(s, k, name), "LiteRtGetSignatureInputName");
        signature.inputs.add(string(name.getPointer(0)));
      }
      LiteRtC.check(LiteRtC.LiteRtGetNumSignatureOutputs(s, n), "LiteRtGetNumSignatureOutputs");
      for (long k = 0; k < n.getLong(0); k++) {
        Memory name = LiteRtC.out();
        LiteRtC.check(LiteRtC.LiteRtGetSignatureOutputName(s, k, name), "LiteRtGetSignatureOutputName");
        signature.outputs.add(string(name.getPointer(0)));
      }
      out.add(signature);
    }
    return out;
  }

  /** The signature named {@code key}; "" means the first (the Kotlin default argument). */
  private Signature signature(String key) throws LiteRtException {
    if (key.isEmpty() && !signatures.isEmpty()) {
      return signatures.get(0);
    }
    for (Signature s : signatures) {
      if (s.key.equals(key)) {
        return s;
      }
    }
    throw new LiteRtException(Status.ErrorNotFound, "Signature " + key + " not found");
  }

  private static int index(List<String> names, String name, String what, Signature s)
      throws LiteRtException {
    int i = names.indexOf(name);
    if (i < 0) {
      throw new LiteRtException(Status.ErrorNotFound,
          what + " " + name + " not found in signature " + s.key + " " + names);
    }
    return i;
  }

  /** The ranked tensor type (72 bytes, LiteRtRankedTensorType) of a signature tensor. */
  private static Memory rankedType(Signature s, String name, boolean input) throws LiteRtException {
    Memory tensor = LiteRtC.out();
    if (input) {
      LiteRtC.check(LiteRtC.LiteRtGetSignatureInputTensor(s.handle, name, tensor), "LiteRtGetSignatureInputTensor");
    } else {
      LiteRtC.check(LiteRtC.LiteRtGetSignatureOutputTensor(s.handle, name, tensor), "LiteRtGetSignatureOutputTensor");
    }
    Memory type = new Memory(LiteRtC.RANKED_TENSOR_TYPE_SIZE);
    type.clear();
    LiteRtC.check(LiteRtC.LiteRtGetRankedTensorType(tensor.getPointer(0), type), "LiteRtGetRankedTensorType");
    return type;
  }

  private static TensorType toTensorType(Memory type) throws LiteRtException {
    int code = type.getInt(0);
    TensorType.ElementType element = TensorType.ElementType.fromC(code);
    if (element == null) {
      throw new LiteRtException(Status.ErrorUnsupported, "Unsupported element type " + code);
    }
    int rank = type.getInt(4) & 0x7f;  // `unsigned int rank : 7`, then has_strides : 1
    boolean hasStrides = (type.getInt(4) & 0x80) != 0;
    List<Integer> dims = new ArrayList<>();
    List<Integer> strides = new ArrayList<>();
    for (int i = 0; i < Math.min(rank, LiteRtC.MAX_RANK); i++) {
      dims.add(type.getInt(8 + 4L * i));
      if (hasStrides) {
        strides.add(type.getInt(8 + 4L * LiteRtC.MAX_RANK + 4L * i));
      }
    }
    return new TensorType(element, new TensorType.Layout(dims, strides));
  }

  private TensorBuffer createBuffer(String name, String signatureKey, boolean input)
      throws LiteRtException {
    assertNotDestroyed();
    Signature s = signature(signatureKey);
    int i = index(input ? s.inputs : s.outputs, name, input ? "Input" : "Output", s);
    Memory requirements = LiteRtC.out();
    if (input) {
      LiteRtC.check(LiteRtC.LiteRtGetCompiledModelInputBufferRequirements(handle, s.index, i, requirements),
          "LiteRtGetCompiledModelInputBufferRequirements");
    } else {
      LiteRtC.check(LiteRtC.LiteRtGetCompiledModelOutputBufferRequirements(handle, s.index, i, requirements),
          "LiteRtGetCompiledModelOutputBufferRequirements");
    }
    Memory type = rankedType(s, name, input);
    Memory buffer = LiteRtC.out();
    LiteRtC.check(LiteRtC.LiteRtCreateManagedTensorBufferFromRequirements(env.handle, type,
        requirements.getPointer(0), buffer), "LiteRtCreateManagedTensorBufferFromRequirements");
    return new TensorBuffer(buffer.getPointer(0));
  }

  public TensorBuffer createInputBuffer(String inputName, String signature) throws LiteRtException {
    return createBuffer(inputName, signature, true);
  }

  public TensorBuffer createOutputBuffer(String outputName, String signature) throws LiteRtException {
    return createBuffer(outputName, signature, false);
  }

  /**
   * Runs {@code signature} with buffers given by tensor name. Every input and output the
   * signature lists must be given (ErrorMissingInputTensor / ErrorNotFound otherwise).
   */
  public void run(Map<String, TensorBuffer> inputs, Map<String, TensorBuffer> outputs, String signature)
      throws LiteRtException {
    assertNotDestroyed();
    Signature s = signature(signature);
    for (String name : inputs.keySet()) {
      index(s.inputs, name, "Input", s);
    }
    for (String name : outputs.keySet()) {
      index(s.outputs, name, "Output", s);
    }
    Memory in = new Memory(8L * Math.max(1, s.inputs.size()));
    for (int i = 0; i < s.inputs.size(); i++) {
      TensorBuffer b = inputs.get(s.inputs.get(i));
      if (b == null) {
        throw new LiteRtException(Status.ErrorMissingInputTensor,
            "Input " + s.inputs.get(i) + " of signature " + s.key + " not given");
      }
      in.setPointer(8L * i, b.handle);
    }
    Memory out = new Memory(8L * Math.max(1, s.outputs.size()));
    for (int i = 0; i < s.outputs.size(); i++) {
      TensorBuffer b = outputs.get(s.outputs.get(i));
      if (b == null) {
        throw new LiteRtException(Status.ErrorNotFound,
            "Output " + s.outputs.get(i) + " of signature " + s.key + " not given");
      }
      out.setPointer(8L * i, b.handle);
    }
    LiteRtC.check(LiteRtC.LiteRtRunCompiledModel(handle, s.index, s.inputs.size(), in, s.outputs.size(), out),
        "LiteRtRunCompiledModel(" + s.key + ")");
  }

  /** Type of input {@code inputName} of {@code signature}; a LiteRtException when there is none. */
  public TensorType getInputTensorType(String inputName, String signature) {
    return tensorType(inputName, signature, true);
  }

  public TensorType getOutputTensorType(String outputName, String signature) {
    return tensorType(outputName, signature, false);
  }

  private TensorType tensorType(String name, String signatureKey, boolean input) {
    assertNotDestroyed();
    try {
      Signature s = signature(signatureKey);
      index(input ? s.inputs : s.outputs, name, input ? "Input" : "Output", s);
      return toTensorType(rankedType(s, name, input));
    } catch (LiteRtException e) {
      // Kotlin declares no exception here, yet its JNI throws LiteRtException: so does this.
      throw CompiledModel.<RuntimeException>sneaky(e);
    }
  }

  @SuppressWarnings("unchecked")
  private static <E extends Throwable> E sneaky(Throwable e) throws E {
    throw (E) e;
  }

  @Override
  protected void destroy() {
    LiteRtC.LiteRtDestroyCompiledModel(handle);
    LiteRtC.LiteRtDestroyModel(model);
    if (envManaged) {
      env.close();
    }
  }
}
