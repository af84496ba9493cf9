package com.google.ai.edge.litert;

import java.util.concurrent.atomic.AtomicBoolean;

/** A LiteRT object behind a native handle; {@link #close} releases it once. */
public abstract class JniHandle implements AutoCloseable {
  private final AtomicBoolean destroyed = new AtomicBoolean(false);

  JniHandle() {}

  /** Throws IllegalStateException once the handle is closed (the Kotlin class does the same). */
  protected final void assertNotDestroyed() {
    if (destroyed.get()) {
      throw new IllegalStateException("The handle has been destroyed.");
    }
  }

  protected abstract void destroy();

  @Override
  public final void close() {
    if (destroyed.compareAndSet(false, true)) {
      destroy();
    }
  }
}
