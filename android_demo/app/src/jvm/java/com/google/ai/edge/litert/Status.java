package com.google.ai.edge.litert;

/** Status codes of LiteRT's C API (litert_common.h), as the Kotlin enum names them. */
public enum Status {
  Ok(0),
  ErrorInvalidArgument(1),
  ErrorMemoryAllocationFailure(2),
  ErrorRuntimeFailure(3),
  ErrorMissingInputTensor(4),
  ErrorUnsupported(5),
  ErrorNotFound(6),
  ErrorTimeoutExpired(7),
  ErrorWrongVersion(8),
  ErrorUnknown(9),
  ErrorAlreadyExists(10),
  ErrorCancelled(11),
  ErrorFileIO(500),
  ErrorInvalidFlatbuffer(501),
  ErrorDynamicLoading(502),
  ErrorSerialization(503),
  ErrorCompilation(504),
  ErrorIndexOOB(1000),
  ErrorInvalidIrType(1001),
  ErrorInvalidGraphInvariant(1002),
  ErrorGraphModification(1003),
  ErrorInvalidToolConfig(1500),
  LegalizeNoMatch(2000),
  ErrorInvalidLegalization(2001),
  PatternNoMatch(3000),
  ErrorInvalidTransformation(3001),
  ErrorUnsupportedRuntimeVersion(4000),
  ErrorUnsupportedCompilerVersion(4001),
  ErrorIncompatibleByteCodeVersion(4002);

  private final int code;

  Status(int code) {
    this.code = code;
  }

  public final int getCode() {
    return code;
  }

  /** The constant with {@code code}, or null (the Kotlin companion's fromCode throws instead). */
  static Status lookup(int code) {
    for (Status s : values()) {
      if (s.code == code) {
        return s;
      }
    }
    return null;
  }
}
