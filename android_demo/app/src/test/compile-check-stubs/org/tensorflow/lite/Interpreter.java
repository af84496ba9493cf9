// COMPILE-CHECK STUB, NOT LiteRT. Lets run_java_tests.sh compile the app against the real Debian
// android.jar (API 23) where the LiteRT AAR cannot be fetched; declares only the members the app
// uses, each checked against litert_java_api.txt by LiteRtStubApiTest. Never packaged, not in Gradle.
package org.tensorflow.lite;
public final class Interpreter implements AutoCloseable {
  public static class Options {
    public Options setNumThreads(int numThreads) { return this; }
    public Options setUseXNNPACK(boolean useXNNPACK) { return this; }
    public Options addDelegate(Delegate delegate) { return this; }
  }
  /** Test hook: -Dalbertedge.stub.litert=UnsatisfiedLinkError|NoClassDefFoundError fails like a phone would. */
  public Interpreter(java.nio.ByteBuffer byteBuffer, Options options) {
    String fail = System.getProperty("albertedge.stub.litert", "");
    if (fail.equals("UnsatisfiedLinkError")) {  // what LiteRT throws when libtensorflowlite_jni.so is missing
      throw new UnsatisfiedLinkError("Failed to load native TensorFlow Lite methods: dlopen failed: "
          + "library \"libtensorflowlite_jni.so\" not found");
    }
    if (fail.equals("NoClassDefFoundError")) {  // an APK without LiteRT's classes (make android-check)
      throw new NoClassDefFoundError("org/tensorflow/lite/NativeInterpreterWrapperExperimental");
    }
  }
  public String[] getSignatureKeys() { return null; }
  public String[] getSignatureInputs(String signatureKey) { return null; }
  public String[] getSignatureOutputs(String signatureKey) { return null; }
  public Tensor getInputTensorFromSignature(String inputName, String signatureKey) { return null; }
  public Tensor getOutputTensorFromSignature(String outputName, String signatureKey) { return null; }
  public void runSignature(java.util.Map<String, Object> inputs, java.util.Map<String, Object> outputs, String signatureKey) {}
  @Override public void close() {}
}
