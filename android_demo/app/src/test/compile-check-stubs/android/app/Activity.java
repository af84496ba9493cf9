// COMPILE-CHECK STUB, NOT THE REAL API. Lets run_java_tests.sh type-check the app sources with
// javac where no android.jar / LiteRT AAR is available; declares only the members the app uses,
// written after the documented SDK signatures. Never packaged: Gradle compiles only src/test/java.
package android.app;
public class Activity extends android.content.Context {
  protected void onCreate(android.os.Bundle savedInstanceState) {}
  protected void onDestroy() {}
  public void setContentView(int layoutResID) {}
  public <T extends android.view.View> T findViewById(int id) { return null; }
  public final void runOnUiThread(Runnable action) {}
  @Override public android.content.res.AssetManager getAssets() { return null; }
}
