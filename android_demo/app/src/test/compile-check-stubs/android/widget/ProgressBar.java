// COMPILE-CHECK STUB, NOT THE REAL API. Lets run_java_tests.sh type-check the app sources with
// javac where no android.jar / LiteRT AAR is available; declares only the members the app uses,
// written after the documented SDK signatures. Never packaged: Gradle compiles only src/test/java.
package android.widget;
public class ProgressBar extends android.view.View {
  public void setProgress(int progress) {}
}
