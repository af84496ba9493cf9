package org.albertedge.demo;

import android.app.Activity;
import android.os.Build;
import android.os.Bundle;
import android.view.View;
import android.widget.AdapterView;
import android.widget.ArrayAdapter;
import android.widget.Button;
import android.widget.EditText;
import android.widget.ProgressBar;
import android.widget.Spinner;
import android.widget.TextView;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.albertedge.core.ModelMetadata;
import org.albertedge.core.Tokenization;

/**
 * Two sentences in, "do they mean the same?" out, with the on-device latency and the accelerator
 * that ran it (CPU, GPU or NPU through LiteRT's CompiledModel API; a fallback is always shown).
 * Model loading and inference run on one background thread; the UI thread only reads fields and
 * shows results.
 *
 * <p>Written against API 23 (what {@code make test} compiles it with): {@code findViewById} is cast
 * (its generic form is API 26), and callbacks are anonymous classes rather than lambdas, so the
 * dx-dexed APK of {@code make android-check} has no {@code invoke-custom}.
 */
public class MainActivity extends Activity {
  /** Prefilled pairs (LCQMC / AFQMC style questions); the last one shows truncation. */
  private static final String[][] EXAMPLES = {
    {"花呗怎么还款", "花呗如何还钱"},
    {"怎么更改绑定的手机号码", "如何修改绑定的手机号"},
    {"这个手机多少钱", "这部手机的价格是多少"},
    {"今天天气怎么样", "明天会下雨吗"},
    {"北京有什么好玩的地方", "上海有什么好吃的"},
    {"我想学英语，有什么好方法吗？", "英语怎么学比较快"},
    {repeat("这是一个很长的句子，用来演示超过最长序列长度时的截断。", 12), "这是一个很长的句子吗"},
  };
  private static final int[] THREADS = {1, 2, 4, 8};
  private static final int RUNS = 5;

  private final ExecutorService worker = Executors.newSingleThreadExecutor();
  /** Touched only on the worker thread. */
  private SimilarityModel model;
  private String modelKey;

  private Spinner modelSpinner;
  private Spinner threadsSpinner;
  private Spinner acceleratorSpinner;
  private EditText sentenceA;
  private EditText sentenceB;
  private Button compareButton;
  private TextView errorText;
  private TextView labelText;
  private TextView probabilityText;
  private ProgressBar probabilityBar;
  private TextView detailsText;
  private TextView noteText;

  @Override
  protected void onCreate(Bundle savedInstanceState) {
    super.onCreate(savedInstanceState);
    setContentView(R.layout.activity_main);
    modelSpinner = (Spinner) findViewById(R.id.model_spinner);
    threadsSpinner = (Spinner) findViewById(R.id.threads_spinner);
    acceleratorSpinner = (Spinner) findViewById(R.id.accelerator_spinner);
    sentenceA = (EditText) findViewById(R.id.sentence_a);
    sentenceB = (EditText) findViewById(R.id.sentence_b);
    compareButton = (Button) findViewById(R.id.compare_button);
    errorText = (TextView) findViewById(R.id.error_text);
    labelText = (TextView) findViewById(R.id.label_text);
    probabilityText = (TextView) findViewById(R.id.probability_text);
    probabilityBar = (ProgressBar) findViewById(R.id.probability_bar);
    detailsText = (TextView) findViewById(R.id.details_text);
    noteText = (TextView) findViewById(R.id.note_text);

    List<String> models = new ArrayList<>();
    try {
      models = AssetModels.listModels(getAssets());
    } catch (IOException e) {
      showError("Cannot list the app's assets: " + e.getMessage());
    }
    modelSpinner.setAdapter(adapter(models));
    if (models.isEmpty()) {
      showError(getString(R.string.no_model));
      compareButton.setEnabled(false);
    }

    List<String> threads = new ArrayList<>();
    for (int t : THREADS) {
      threads.add(String.valueOf(t));
    }
    threadsSpinner.setAdapter(adapter(threads));
    threadsSpinner.setSelection(1);

    List<String> accelerators = new ArrayList<>();
    for (AcceleratorPlan.Choice c : AcceleratorPlan.Choice.values()) {
      accelerators.add(c.name());
    }
    acceleratorSpinner.setAdapter(adapter(accelerators));
    acceleratorSpinner.setSelection(AcceleratorPlan.Choice.CPU.ordinal());

    List<String> examples = new ArrayList<>();
    for (String[] pair : EXAMPLES) {
      examples.add(shorten(pair[0]) + " / " + shorten(pair[1]));
    }
    Spinner exampleSpinner = (Spinner) findViewById(R.id.example_spinner);
    exampleSpinner.setAdapter(adapter(examples));
    exampleSpinner.setOnItemSelectedListener(new AdapterView.OnItemSelectedListener() {
      @Override
      public void onItemSelected(AdapterView<?> parent, View view, int position, long id) {
        sentenceA.setText(EXAMPLES[position][0]);
        sentenceB.setText(EXAMPLES[position][1]);
      }

      @Override
      public void onNothingSelected(AdapterView<?> parent) {}
    });

    compareButton.setOnClickListener(new View.OnClickListener() {
      @Override
      public void onClick(View v) {
        onCompare();
      }
    });
  }

  private void onCompare() {
    final String a = sentenceA.getText().toString();
    final String b = sentenceB.getText().toString();
    if (Tokenization.pythonStrip(a).isEmpty() || Tokenization.pythonStrip(b).isEmpty()) {
      String which = Tokenization.pythonStrip(a).isEmpty() ? getString(R.string.sentence_a)
          : getString(R.string.sentence_b);
      showError(getString(R.string.empty_fields, which));
      return;
    }
    final String modelName = (String) modelSpinner.getSelectedItem();
    final int threads = THREADS[threadsSpinner.getSelectedItemPosition()];
    final AcceleratorPlan.Choice accelerator =
        AcceleratorPlan.Choice.values()[acceleratorSpinner.getSelectedItemPosition()];
    if (modelName == null) {
      showError(getString(R.string.no_model));
      return;
    }
    compareButton.setEnabled(false);
    errorText.setVisibility(View.GONE);
    labelText.setText(R.string.running);
    worker.execute(new Runnable() {
      @Override
      public void run() {
        try {
          final SimilarityModel m = ensureModel(modelName, threads, accelerator);
          final SimilarityModel.Result r = m.compare(a, b, RUNS);
          runOnUiThread(new Runnable() {
            @Override
            public void run() {
              showResult(r, m, threads);
            }
          });
        } catch (ModelException e) {
          showErrorOnUiThread(e.getMessage());
        } catch (Exception e) {
          // LiteRtException from a run (caught as Exception: an APK without LiteRT has no such
          // class, and a handler naming it must not be what fails) or a RuntimeException
          showErrorOnUiThread("Inference failed: " + e.getMessage());
        } catch (LinkageError e) {
          // Model load already turns these into a ModelException; this is the last line of
          // defence for native code failing later (an Error would otherwise kill the worker).
          showErrorOnUiThread("LiteRT's native code failed: " + e);
        }
      }
    });
  }

  private void showErrorOnUiThread(final String message) {
    runOnUiThread(new Runnable() {
      @Override
      public void run() {
        showError(message);
      }
    });
  }

  /**
   * This phone's SoC as the export names per-SoC models ("sm8650"): Build.SOC_MODEL, API 31+
   * (read by reflection: the app compiles against API 23), null before that or when unknown.
   */
  static String socModel() {
    if (Build.VERSION.SDK_INT < 31) {
      return null;
    }
    try {
      Object soc = Build.class.getField("SOC_MODEL").get(null);
      String s = soc == null ? "" : soc.toString().trim();
      return s.isEmpty() || s.equalsIgnoreCase("unknown") ? null : s.toLowerCase(Locale.ROOT);
    } catch (ReflectiveOperationException e) {
      return null;
    }
  }

  /** Worker thread: (re)loads the model when the model, thread count or accelerator changed. */
  private SimilarityModel ensureModel(final String name, final int threads,
      final AcceleratorPlan.Choice accelerator) throws ModelException {
    String key = name + "|" + threads + "|" + accelerator;
    if (model != null && key.equals(modelKey)) {
      return model;
    }
    if (model != null) {
      model.close();
      model = null;
      modelKey = null;
    }
    runOnUiThread(new Runnable() {
      @Override
      public void run() {
        labelText.setText(getString(R.string.loading_model, name, accelerator.name(), threads));
      }
    });
    ModelMetadata metadata = AssetModels.readMetadata(getAssets(), name);
    Map<String, Integer> vocab = AssetModels.readVocab(getAssets(), metadata);
    String soc = socModel();
    String path = AssetModels.modelFile(this, name);
    String aot = accelerator == AcceleratorPlan.Choice.NPU && soc != null
        ? AssetModels.aotModelFile(this, name, soc) : null;
    model = new SimilarityModel(AcceleratorPlan.steps(accelerator, path, aot, soc), metadata, vocab,
        name, threads, SimilarityModel.DEFAULT_ENVIRONMENT);
    modelKey = key;
    return model;
  }

  private void showResult(SimilarityModel.Result r, SimilarityModel m, int threads) {
    compareButton.setEnabled(true);
    errorText.setVisibility(View.GONE);
    labelText.setText(r.same ? R.string.label_same : R.string.label_different);
    labelText.setTextColor(r.same ? 0xFF2E7D32 : 0xFF6A1B9A);
    probabilityText.setText(getString(R.string.probability, 100f * r.probabilitySame));
    probabilityBar.setProgress(Math.round(1000f * r.probabilitySame));
    detailsText.setText(getString(R.string.details, r.medianMs, r.runs, r.minMs, r.tokenizeMs,
        r.signature, r.numTokens, r.seqLen, m.description, threads, m.loadMs)
        + (r.bothOrders ? "\n" + getString(R.string.both_orders) : "")
        + "\n" + getString(R.string.ran_on, m.ran));
    StringBuilder note = new StringBuilder();
    for (String fallback : m.fallbacks) {
      note.append(getString(R.string.fallback_note, fallback)).append('\n');
    }
    if (r.truncated) {
      note.append(getString(R.string.truncated_note, r.neededLength, r.seqLen));
    }
    if (note.length() > 0) {
      noteText.setText(note.toString().trim());
      noteText.setVisibility(View.VISIBLE);
    } else {
      noteText.setVisibility(View.GONE);
    }
  }

  private void showError(String message) {
    if (compareButton != null) {
      compareButton.setEnabled(modelSpinner.getCount() > 0);
    }
    errorText.setText(message);
    errorText.setVisibility(View.VISIBLE);
    labelText.setText("");
    probabilityText.setText("");
    probabilityBar.setProgress(0);
    detailsText.setText("");
    noteText.setVisibility(View.GONE);
  }

  private ArrayAdapter<String> adapter(List<String> items) {
    ArrayAdapter<String> a = new ArrayAdapter<>(this, android.R.layout.simple_spinner_item, items);
    a.setDropDownViewResource(android.R.layout.simple_spinner_dropdown_item);
    return a;
  }

  private static String shorten(String s) {
    return s.length() <= 14 ? s : s.substring(0, 13) + "…";
  }

  private static String repeat(String s, int n) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < n; i++) {
      sb.append(s);
    }
    return sb.toString();
  }

  @Override
  protected void onDestroy() {
    worker.execute(new Runnable() {
      @Override
      public void run() {
        if (model != null) {
          model.close();
          model = null;
        }
      }
    });
    worker.shutdown();
    super.onDestroy();
  }
}
