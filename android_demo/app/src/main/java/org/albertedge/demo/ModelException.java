package org.albertedge.demo;

/** A model that is missing, unreadable or does not fit the app; the message is shown on screen. */
public final class ModelException extends Exception {
  private static final long serialVersionUID = 1L;

  public ModelException(String message) {
    super(message);
  }

  public ModelException(String message, Throwable cause) {
    super(message, cause);
  }
}
