// COMPILE-CHECK STUB, NOT LiteRT. Lets run_java_tests.sh compile the app against the real Debian
// android.jar (API 23) where the LiteRT AAR cannot be fetched; declares only the members the app
// uses, each checked against litert_java_api.txt by LiteRtStubApiTest. Never packaged, not in Gradle.
package org.tensorflow.lite.gpu;
public class GpuDelegate implements org.tensorflow.lite.Delegate, java.io.Closeable {
  public GpuDelegate() {}
  @Override public long getNativeHandle() { return 0; }
  @Override public void close() {}
}
