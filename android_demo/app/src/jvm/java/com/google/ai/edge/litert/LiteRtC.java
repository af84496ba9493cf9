package com.google.ai.edge.litert;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.io.File;

/**
 * LiteRT's C API ({@code litert/c/litert_*.h}) as exported by {@code libLiteRt.so}, bound with
 * JNA direct mapping: the functions the JVM implementation of the Kotlin API needs, nothing more.
 * Handles are opaque pointers; every {@code out} parameter is an 8-byte {@link Memory}.
 *
 * <p>Which library: {@code -Dalbertedge.litert.library=/path/libLiteRt.so}, else the
 * {@code LITERT_LIBRARY} environment variable, else "LiteRt" on JNA's search path. A missing or
 * unloadable library throws {@link UnsatisfiedLinkError} from the first LiteRT call, as
 * {@code System.loadLibrary("litert_jni")} does on a phone.
 */
final class LiteRtC {
  private LiteRtC() {}

  static final int HW_CPU = 1;  // kLiteRtHwAcceleratorCpu
  static final int HW_GPU = 1 << 1;
  static final int HW_NPU = 1 << 2;
  static final int LOCK_READ = 0;  // kLiteRtTensorBufferLockModeRead
  static final int LOCK_WRITE = 1;
  static final int ELEMENT_FLOAT32 = 1;  // kLiteRtElementTypeFloat32 (= kTfLiteFloat32)
  static final int ELEMENT_INT32 = 2;
  static final int ELEMENT_INT64 = 4;
  static final int ELEMENT_BOOL = 6;
  static final int ELEMENT_INT8 = 9;
  /** sizeof(LiteRtRankedTensorType): element_type, rank bit-field, int32 dims[8], uint32 strides[8]. */
  static final int RANKED_TENSOR_TYPE_SIZE = 4 + 4 + 8 * 4 + 8 * 4;
  static final int MAX_RANK = 8;

  static String libraryPath() {
    String path = System.getProperty("albertedge.litert.library");
    if (path == null || path.isEmpty()) {
      path = System.getenv("LITERT_LIBRARY");
    }
    return path == null || path.isEmpty() ? "LiteRt" : path;
  }

  static {
    String path = libraryPath();
    if (path.contains("/") && !new File(path).isFile()) {
      throw new UnsatisfiedLinkError("LiteRT's native library not found: " + path);
    }
    try {
      Native.register(LiteRtC.class, NativeLibrary.getInstance(path));
    } catch (UnsatisfiedLinkError e) {
      throw e;
    } catch (RuntimeException e) {
      UnsatisfiedLinkError error = new UnsatisfiedLinkError("cannot load " + path + ": " + e.getMessage());
      error.initCause(e);
      throw error;
    }
  }

  // litert_environment.h
  static native int LiteRtCreateEnvironment(int numOptions, Pointer options, Pointer environment);

  static native void LiteRtDestroyEnvironment(Pointer environment);

  // litert/c/internal/litert_accelerator.h
  static native int LiteRtGetNumAccelerators(Pointer environment, Pointer numAccelerators);

  static native int LiteRtGetAccelerator(Pointer environment, long index, Pointer accelerator);

  static native int LiteRtGetAcceleratorHardwareSupport(Pointer accelerator, Pointer supported);

  // litert_model.h
  static native int LiteRtCreateModelFromFile(Pointer environment, String filename, Pointer model);

  static native void LiteRtDestroyModel(Pointer model);

  static native int LiteRtGetNumModelSignatures(Pointer model, Pointer numSignatures);

  static native int LiteRtGetModelSignature(Pointer model, long index, Pointer signature);

  static native int LiteRtGetSignatureKey(Pointer signature, Pointer key);

  static native int LiteRtGetNumSignatureInputs(Pointer signature, Pointer numInputs);

  static native int LiteRtGetSignatureInputName(Pointer signature, long index, Pointer name);

  static native int LiteRtGetNumSignatureOutputs(Pointer signature, Pointer numOutputs);

  static native int LiteRtGetSignatureOutputName(Pointer signature, long index, Pointer name);

  static native int LiteRtGetSignatureInputTensor(Pointer signature, String name, Pointer tensor);

  static native int LiteRtGetSignatureOutputTensor(Pointer signature, String name, Pointer tensor);

  static native int LiteRtGetRankedTensorType(Pointer tensor, Pointer rankedTensorType);

  // litert_options.h
  static native int LiteRtCreateOptions(Pointer options);

  static native void LiteRtDestroyOptions(Pointer options);

  static native int LiteRtSetOptionsHardwareAccelerators(Pointer options, int accelerators);

  // litert_compiled_model.h
  static native int LiteRtCreateCompiledModel(Pointer environment, Pointer model, Pointer options,
      Pointer compiledModel);

  static native void LiteRtDestroyCompiledModel(Pointer compiledModel);

  static native int LiteRtGetCompiledModelInputBufferRequirements(Pointer compiledModel,
      long signatureIndex, long inputIndex, Pointer requirements);

  static native int LiteRtGetCompiledModelOutputBufferRequirements(Pointer compiledModel,
      long signatureIndex, long outputIndex, Pointer requirements);

  static native int LiteRtRunCompiledModel(Pointer compiledModel, long signatureIndex,
      long numInputs, Pointer inputs, long numOutputs, Pointer outputs);

  // litert_tensor_buffer.h
  static native int LiteRtCreateManagedTensorBufferFromRequirements(Pointer environment,
      Pointer rankedTensorType, Pointer requirements, Pointer buffer);

  static native int LiteRtGetTensorBufferPackedSize(Pointer buffer, Pointer size);

  static native int LiteRtLockTensorBuffer(Pointer buffer, Pointer hostAddress, int lockMode);

  static native int LiteRtUnlockTensorBuffer(Pointer buffer);

  static native void LiteRtDestroyTensorBuffer(Pointer buffer);

  /** An 8-byte out parameter (a pointer or a size_t). */
  static Memory out() {
    Memory m = new Memory(8);
    m.setLong(0, 0);
    return m;
  }

  /** Throws the LiteRtException the Kotlin API would for a failed call. */
  static void check(int status, String what) throws LiteRtException {
    if (status != 0) {
      Status s = Status.lookup(status);
      throw new LiteRtException(status, what + " failed: " + (s == null ? "status " + status : s.name()));
    }
  }
}
