package org.albertedge.demo;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import org.albertedge.core.ModelMetadata;
import org.junit.After;
import org.junit.Test;

/**
 * A phone without LiteRT's native library for its ABI (or a broken install) makes the first
 * LiteRT call throw UnsatisfiedLinkError, an Error; an APK without LiteRT's classes throws
 * NoClassDefFoundError. Model loading must turn both into a ModelException, whose message the
 * Activity shows on screen, instead of letting them crash the app. The stub Interpreter throws
 * them on request (-Dalbertedge.stub.litert=...); see compile-check-stubs/README.md.
 */
public class MissingNativeRuntimeTest {
  private static final String PROPERTY = "albertedge.stub.litert";

  @After
  public void clearHook() {
    System.clearProperty(PROPERTY);
  }

  private static ModelException loadWith(String failure, SimilarityModel.Delegate delegate) {
    System.setProperty(PROPERTY, failure);
    Map<String, Integer> vocab = new HashMap<>();
    String[] tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "好"};
    for (int i = 0; i < tokens.length; i++) {
      vocab.put(tokens[i], i);
    }
    ModelMetadata metadata = ModelMetadata.parse(
        "{\"seq_lens\": [32, 64], \"labels\": [\"different\", \"same\"]}");
    try {
      new SimilarityModel(ByteBuffer.allocateDirect(64), metadata, vocab,
          "albert_tiny_int8.tflite", 2, delegate);
    } catch (ModelException e) {
      return e;
    } catch (LinkageError e) {
      fail("the " + e.getClass().getSimpleName() + " escaped model loading: the app would crash");
    }
    fail("loading succeeded although LiteRT's runtime is missing");
    return null;
  }

  @Test
  public void unsatisfiedLinkErrorBecomesAMessage() {
    for (SimilarityModel.Delegate d : SimilarityModel.Delegate.values()) {
      if (d == SimilarityModel.Delegate.GPU) {
        continue;  // the stub CompatibilityList reports "unsupported" before any native call
      }
      ModelException e = loadWith("UnsatisfiedLinkError", d);
      assertTrue(e.getCause() instanceof UnsatisfiedLinkError);
      assertTrue(e.getMessage(), e.getMessage().contains("LiteRT's runtime could not be loaded"));
      assertTrue(e.getMessage(), e.getMessage().contains("libtensorflowlite_jni.so"));
      assertTrue(e.getMessage(), e.getMessage().contains("ABI"));
    }
  }

  @Test
  public void noClassDefFoundErrorBecomesAMessage() {
    ModelException e = loadWith("NoClassDefFoundError", SimilarityModel.Delegate.XNNPACK);
    assertTrue(e.getCause() instanceof NoClassDefFoundError);
    assertEquals(SimilarityModel.nativeRuntimeMissing((LinkageError) e.getCause()), e.getMessage());
  }

  @Test
  public void withTheRuntimePresentLoadingGetsPastTheInterpreter() {
    // Control: without the hook the stub Interpreter is created and the failure (the stub has no
    // signatures) is the ordinary "Running ... failed" one, not the missing-runtime message.
    ModelException e = loadWith("", SimilarityModel.Delegate.XNNPACK);
    assertTrue(e.getMessage(), e.getMessage().startsWith("Running albert_tiny_int8.tflite failed"));
  }
}
