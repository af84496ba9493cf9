// COMPILE-CHECK STUB, NOT THE REAL API. Lets run_java_tests.sh type-check the app sources with
// javac where no android.jar / LiteRT AAR is available; declares only the members the app uses,
// written after the documented SDK signatures. Never packaged: Gradle compiles only src/test/java.
package android.widget;
public abstract class AdapterView<T extends Adapter> extends android.view.View {
  public interface OnItemSelectedListener {
    void onItemSelected(AdapterView<?> parent, android.view.View view, int position, long id);
    void onNothingSelected(AdapterView<?> parent);
  }
  public void setOnItemSelectedListener(OnItemSelectedListener listener) {}
  public Object getSelectedItem() { return null; }
  public int getSelectedItemPosition() { return 0; }
  public int getCount() { return 0; }
  public void setSelection(int position) {}
  public abstract void setAdapter(T adapter);
}
