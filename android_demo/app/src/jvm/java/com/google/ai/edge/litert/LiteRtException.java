package com.google.ai.edge.litert;

/** Exception for LiteRT API errors: the C API's status and a message. */
public final class LiteRtException extends Exception {
  private static final long serialVersionUID = 1L;
  private final Status status;

  public LiteRtException(Status status, String message) {
    super(message);
    this.status = status;
  }

  public LiteRtException(int code, String message) {
    this(fromCode(code), message);
  }

  private static Status fromCode(int code) {
    Status s = Status.lookup(code);
    if (s == null) {
      throw new IllegalArgumentException("Unknown status code: " + code);
    }
    return s;
  }

  /** For the JVM implementation's own use (the Kotlin property is private). */
  Status status() {
    return status;
  }
}
