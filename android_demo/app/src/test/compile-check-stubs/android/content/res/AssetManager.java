// COMPILE-CHECK STUB, NOT THE REAL API. Lets run_java_tests.sh type-check the app sources with
// javac where no android.jar / LiteRT AAR is available; declares only the members the app uses,
// written after the documented SDK signatures. Never packaged: Gradle compiles only src/test/java.
package android.content.res;
public final class AssetManager implements AutoCloseable {
  public String[] list(String path) throws java.io.IOException { return null; }
  public java.io.InputStream open(String fileName) throws java.io.IOException { return null; }
  public AssetFileDescriptor openFd(String fileName) throws java.io.IOException { return null; }
  @Override public void close() {}
}
