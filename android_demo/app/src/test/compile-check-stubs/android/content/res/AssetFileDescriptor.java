// COMPILE-CHECK STUB, NOT THE REAL API. Lets run_java_tests.sh type-check the app sources with
// javac where no android.jar / LiteRT AAR is available; declares only the members the app uses,
// written after the documented SDK signatures. Never packaged: Gradle compiles only src/test/java.
package android.content.res;
public class AssetFileDescriptor implements java.io.Closeable {
  public java.io.FileDescriptor getFileDescriptor() { return null; }
  public long getStartOffset() { return 0; }
  public long getDeclaredLength() { return 0; }
  @Override public void close() throws java.io.IOException {}
}
