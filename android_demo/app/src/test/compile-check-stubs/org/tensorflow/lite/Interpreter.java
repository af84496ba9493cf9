// COMPILE-CHECK STUB, NOT THE REAL API. Lets run_java_tests.sh type-check the app sources with
// javac where no android.jar / LiteRT AAR is available; declares only the members the app uses,
// written after the documented SDK signatures. Never packaged: Gradle compiles only src/test/java.
package org.tensorflow.lite;
public final class Interpreter implements AutoCloseable {
  public static class Options {
    public Options setNumThreads(int numThreads) { return this; }
    public Options setUseXNNPACK(boolean useXNNPACK) { return this; }
    public Options addDelegate(Delegate delegate) { return this; }
  }
  public Interpreter(java.nio.ByteBuffer byteBuffer, Options options) {}
  public String[] getSignatureKeys() { return null; }
  public String[] getSignatureInputs(String signatureKey) { return null; }
  public String[] getSignatureOutputs(String signatureKey) { return null; }
  public Tensor getInputTensorFromSignature(String inputName, String signatureKey) { return null; }
  public Tensor getOutputTensorFromSignature(String outputName, String signatureKey) { return null; }
  public void runSignature(java.util.Map<String, Object> inputs, java.util.Map<String, Object> outputs, String signatureKey) {}
  @Override public void close() {}
}
