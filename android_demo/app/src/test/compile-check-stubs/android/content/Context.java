// COMPILE-CHECK STUB, NOT THE REAL API. Lets run_java_tests.sh type-check the app sources with
// javac where no android.jar / LiteRT AAR is available; declares only the members the app uses,
// written after the documented SDK signatures. Never packaged: Gradle compiles only src/test/java.
package android.content;
public abstract class Context {
  public abstract android.content.res.AssetManager getAssets();
  public final String getString(int resId) { return ""; }
  public final String getString(int resId, Object... formatArgs) { return ""; }
}
