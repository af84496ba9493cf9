package org.albertedge.core;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Finds the albert_edge checkout (vocab and golden vectors live outside android_demo/). */
final class TestPaths {
  private TestPaths() {}

  /** -Dalbertedge.repo=..., else the nearest parent of the working directory holding the vocab. */
  static Path repo() {
    String prop = System.getProperty("albertedge.repo");
    if (prop != null) {
      return Paths.get(prop).toAbsolutePath();
    }
    for (Path p = Paths.get("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("albert_edge/resources/vocab.txt"))) {
        return p;
      }
    }
    throw new IllegalStateException("cannot find the albert_edge checkout above "
        + Paths.get("").toAbsolutePath() + "; pass -Dalbertedge.repo=/path/to/checkout");
  }

  static Path vocab() {
    return repo().resolve("albert_edge/resources/vocab.txt");
  }

  static Path golden() {
    return repo().resolve("tests/data/tokenizer_golden.jsonl");
  }
}
