package org.albertedge.demo;

import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.albertedge.core.ModelMetadata;
import org.junit.Test;

/**
 * A phone without LiteRT's native library for its ABI (or a broken install) makes the first
 * LiteRT call throw UnsatisfiedLinkError, an Error; every later one NoClassDefFoundError (the
 * class failed to initialize). Model loading must turn both into a ModelException, whose message
 * the Activity shows on screen, instead of letting them crash the app.
 *
 * <p>run_java_tests.sh runs this JVM with -Dalbertedge.litert.library pointing at a file that
 * does not exist, so the real JVM implementation of LiteRT's API fails to load its library, the
 * way System.loadLibrary fails on a phone. (The runtime-present path is tested through
 * similarity-jvm, tests/test_android_jvm.py.)
 */
public class MissingNativeRuntimeTest {

  private static ModelException load(AcceleratorPlan.Choice choice) {
    Map<String, Integer> vocab = new HashMap<>();
    String[] tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "好"};
    for (int i = 0; i < tokens.length; i++) {
      vocab.put(tokens[i], i);
    }
    ModelMetadata metadata = ModelMetadata.parse(
        "{\"seq_lens\": [32, 64], \"labels\": [\"different\", \"same\"], \"task\": \"pairs\"}");
    List<AcceleratorPlan.Step> steps = AcceleratorPlan.steps(choice, "/nonexistent/albert_tiny_int8.tflite",
        null, null);
    try {
      new SimilarityModel(steps, metadata, vocab, "albert_tiny_int8.tflite", 2,
          SimilarityModel.DEFAULT_ENVIRONMENT).close();
    } catch (ModelException e) {
      return e;
    } catch (LinkageError e) {
      fail("the " + e.getClass().getSimpleName() + " escaped model loading: the app would crash");
    }
    fail("loading succeeded although LiteRT's runtime is missing");
    return null;
  }

  @Test
  public void aMissingRuntimeIsAMessageEveryTime() {
    String library = System.getProperty("albertedge.litert.library", "");
    assertTrue("run with -Dalbertedge.litert.library=<a path that does not exist>, got '" + library + "'",
        library.startsWith("/") && !new java.io.File(library).exists());
    ModelException first = load(AcceleratorPlan.Choice.CPU);
    assertTrue(String.valueOf(first.getCause()), first.getCause() instanceof UnsatisfiedLinkError);
    assertTrue(first.getMessage(), first.getMessage().startsWith("LiteRT's runtime could not be loaded"));
    assertTrue(first.getMessage(), first.getMessage().contains(library));
    assertTrue(first.getMessage(), first.getMessage().contains("ABI"));
    for (AcceleratorPlan.Choice choice : AcceleratorPlan.Choice.values()) {
      ModelException again = load(choice);
      assertTrue(String.valueOf(again.getCause()), again.getCause() instanceof NoClassDefFoundError);
      assertTrue(again.getMessage(), again.getMessage().equals(
          SimilarityModel.nativeRuntimeMissing((LinkageError) again.getCause())));
    }
  }
}
