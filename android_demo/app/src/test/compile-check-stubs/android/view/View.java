// COMPILE-CHECK STUB, NOT THE REAL API. Lets run_java_tests.sh type-check the app sources with
// javac where no android.jar / LiteRT AAR is available; declares only the members the app uses,
// written after the documented SDK signatures. Never packaged: Gradle compiles only src/test/java.
package android.view;
public class View {
  public static final int VISIBLE = 0;
  public static final int GONE = 8;
  public interface OnClickListener { void onClick(View v); }
  public void setVisibility(int visibility) {}
  public void setEnabled(boolean enabled) {}
  public void setOnClickListener(OnClickListener l) {}
}
