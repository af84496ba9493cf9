// COMPILE-CHECK STUB, NOT THE REAL API. Lets run_java_tests.sh type-check the app sources with
// javac where no android.jar / LiteRT AAR is available; declares only the members the app uses,
// written after the documented SDK signatures. Never packaged: Gradle compiles only src/test/java.
package android;
public final class R {
  public static final class layout {
    public static final int simple_spinner_item = 0x01090008;
    public static final int simple_spinner_dropdown_item = 0x01090009;
  }
}
