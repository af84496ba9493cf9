package org.albertedge.demo;

import android.content.Context;
import android.content.res.AssetManager;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.albertedge.core.ModelMetadata;
import org.albertedge.core.Tokenization;

/**
 * Finds and reads what android_demo/copy_assets.sh put into app/src/main/assets/: one or more
 * {@code albert_tiny_<variant>.tflite}, each with its sidecar {@code .json}, the vocabulary, and
 * models AOT-compiled for one SoC ({@code albert_tiny_<variant>.<soc>.tflite}); and what an
 * install-time AI pack ({@code make android-aipack}) delivered: {@code model/<name>.tflite} with
 * {@code model/target.txt} naming the SoC it was compiled for ("other": the CPU fallback).
 */
final class AssetModels {
  private AssetModels() {}

  /** The .tflite files in the assets root, sorted by name. */
  static List<String> listModels(AssetManager assets) throws IOException {
    List<String> models = new ArrayList<>();
    String[] names = assets.list("");
    if (names != null) {
      for (String name : names) {
        if (name.endsWith(".tflite") && !AcceleratorPlan.isAotName(name)) {
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

  /** Folder of the AI pack's delivered model (`model#group_<target>/` in the pack, `model/` here). */
  static final String PACK_DIR = "model";

  /**
   * A file path for asset {@code assetName}: LiteRT's CompiledModel.create(path) reads a file, so
   * the asset is copied once into the app's no-backup storage (again when its size changed).
   */
  static String modelFile(Context context, String assetName) throws ModelException {
    File dir = new File(context.getNoBackupFilesDir(), "models");
    File file = new File(dir, assetName.replace('/', '_'));
    try {
      long size;
      try (android.content.res.AssetFileDescriptor fd = context.getAssets().openFd(assetName)) {
        size = fd.getLength();
      } catch (IOException compressed) {
        size = -1;  // a compressed asset has no descriptor: copy it every time
      }
      if (file.isFile() && file.length() == size) {
        return file.getPath();
      }
      if (!dir.isDirectory() && !dir.mkdirs()) {
        throw new IOException("cannot create " + dir);
      }
      File tmp = new File(dir, file.getName() + ".tmp");
      try (InputStream in = context.getAssets().open(assetName); OutputStream out = new FileOutputStream(tmp)) {
        byte[] block = new byte[1 << 16];
        for (int n = in.read(block); n >= 0; n = in.read(block)) {
          out.write(block, 0, n);
        }
      }
      if (!tmp.renameTo(file)) {
        throw new IOException("cannot rename " + tmp + " to " + file);
      }
      return file.getPath();
    } catch (IOException e) {
      throw new ModelException("Cannot copy " + assetName + " out of the APK: " + e.getMessage(), e);
    }
  }

  /**
   * The model AOT-compiled for {@code soc} ("sm8650"): {@code <name>.<soc>.tflite} in the assets,
   * else the AI pack's {@code model/<name>} when its target.txt names this SoC; null when none.
   */
  static String aotModelFile(Context context, String modelName, String soc) throws ModelException {
    AssetManager assets = context.getAssets();
    String aot = AcceleratorPlan.aotName(modelName, soc);
    if (exists(assets, aot)) {
      return modelFile(context, aot);
    }
    String target;
    try (InputStream in = assets.open(PACK_DIR + "/target.txt")) {
      target = readUtf8(in).trim();
    } catch (IOException e) {
      return null;  // no AI pack installed
    }
    String packed = PACK_DIR + "/" + modelName;
    return target.equalsIgnoreCase(soc) && exists(assets, packed) ? modelFile(context, packed) : null;
  }

  private static boolean exists(AssetManager assets, String name) {
    try {
      assets.open(name).close();
      return true;
    } catch (IOException e) {
      return false;
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
