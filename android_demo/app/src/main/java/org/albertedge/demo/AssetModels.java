package org.albertedge.demo;

import android.content.res.AssetFileDescriptor;
import android.content.res.AssetManager;
import java.io.FileInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.ByteArrayOutputStream;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.albertedge.core.ModelMetadata;
import org.albertedge.core.Tokenization;

/**
 * Finds and reads what android_demo/copy_assets.sh put into app/src/main/assets/: one or more
 * {@code albert_tiny_<variant>.tflite}, each with its sidecar {@code .json}, and the vocabulary.
 */
final class AssetModels {
  private AssetModels() {}

  /** The .tflite files in the assets root, sorted by name. */
  static List<String> listModels(AssetManager assets) throws IOException {
    List<String> models = new ArrayList<>();
    String[] names = assets.list("");
    if (names != null) {
      for (String name : names) {
        if (name.endsWith(".tflite")) {
          models.add(name);
        }
      }
    }
    Collections.sort(models);
    return models;
  }

  /** The sidecar metadata {@code <model>.json} next to {@code <model>.tflite}. */
  static ModelMetadata readMetadata(AssetManager assets, String modelName) throws ModelException {
    String jsonName = modelName.substring(0, modelName.length() - ".tflite".length()) + ".json";
    String json;
    try (InputStream in = assets.open(jsonName)) {
      json = readUtf8(in);
    } catch (IOException e) {
      throw new ModelException("Missing " + jsonName + " in assets: the exporter writes it next to "
          + modelName + "; re-run make android-assets.", e);
    }
    try {
      return ModelMetadata.parse(json);
    } catch (IllegalArgumentException e) {
      throw new ModelException(jsonName + " is not usable model metadata: " + e.getMessage(), e);
    }
  }

  /** The vocabulary the metadata names (vocab_file), from the assets root. */
  static Map<String, Integer> readVocab(AssetManager assets, ModelMetadata metadata) throws ModelException {
    try (InputStream in = assets.open(metadata.vocabFile)) {
      return Tokenization.loadVocab(in, metadata.vocabFile);
    } catch (IOException e) {
      throw new ModelException("Missing " + metadata.vocabFile + " in assets (named by the model's "
          + "metadata); re-run make android-assets.", e);
    } catch (IllegalArgumentException e) {
      throw new ModelException(e.getMessage(), e);
    }
  }

  /** Memory-maps the model from the APK; needs `noCompress "tflite"` (app/build.gradle). */
  static MappedByteBuffer mapModel(AssetManager assets, String modelName) throws ModelException {
    try (AssetFileDescriptor fd = assets.openFd(modelName);
        FileInputStream in = new FileInputStream(fd.getFileDescriptor());
        FileChannel channel = in.getChannel()) {
      return channel.map(FileChannel.MapMode.READ_ONLY, fd.getStartOffset(), fd.getDeclaredLength());
    } catch (FileNotFoundException e) {
      throw new ModelException(modelName + " cannot be memory-mapped (" + e.getMessage() + "); it is "
          + "probably compressed in the APK: keep androidResources { noCompress \"tflite\" }.", e);
    } catch (IOException e) {
      throw new ModelException("Cannot read " + modelName + ": " + e.getMessage(), e);
    }
  }

  private static String readUtf8(InputStream in) throws IOException {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    byte[] block = new byte[8192];
    for (int n = in.read(block); n >= 0; n = in.read(block)) {
      buf.write(block, 0, n);
    }
    return new String(buf.toByteArray(), StandardCharsets.UTF_8);
  }
}
