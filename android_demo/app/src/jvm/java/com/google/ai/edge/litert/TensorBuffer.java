package com.google.ai.edge.litert;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;

/** The memory a tensor's data lives in (a LiteRtTensorBuffer), read and written from the host. */
public final class TensorBuffer extends JniHandle {
  final Pointer handle;

  TensorBuffer(Pointer handle) {
    this.handle = handle;
  }

  private long packedSize() throws LiteRtException {
    Memory size = LiteRtC.out();
    LiteRtC.check(LiteRtC.LiteRtGetTensorBufferPackedSize(handle, size), "LiteRtGetTensorBufferPackedSize");
    return size.getLong(0);
  }

  /**
   * Copies {@code data} to the start of the buffer. As LiteRT's TensorBuffer::Write: more data
   * than the buffer holds is an error (ErrorInvalidArgument), less leaves the rest as it was.
   */
  public void writeInt(int[] data) throws LiteRtException {
    assertNotDestroyed();
    long size = packedSize();
    if ((long) data.length * Integer.BYTES > size) {
      throw new LiteRtException(Status.ErrorInvalidArgument, "Failed to write tensor buffer: "
          + data.length + " ints do not fit in " + size + " bytes");
    }
    Memory host = LiteRtC.out();
    LiteRtC.check(LiteRtC.LiteRtLockTensorBuffer(handle, host, LiteRtC.LOCK_WRITE), "LiteRtLockTensorBuffer");
    try {
      host.getPointer(0).write(0, data, 0, data.length);
    } finally {
      LiteRtC.check(LiteRtC.LiteRtUnlockTensorBuffer(handle), "LiteRtUnlockTensorBuffer");
    }
  }

  /** The whole buffer as floats (its packed size / 4 values). */
  public float[] readFloat() throws LiteRtException {
    assertNotDestroyed();
    long size = packedSize();
    Memory host = LiteRtC.out();
    LiteRtC.check(LiteRtC.LiteRtLockTensorBuffer(handle, host, LiteRtC.LOCK_READ), "LiteRtLockTensorBuffer");
    try {
      return host.getPointer(0).getFloatArray(0, (int) (size / Float.BYTES));
    } finally {
      LiteRtC.check(LiteRtC.LiteRtUnlockTensorBuffer(handle), "LiteRtUnlockTensorBuffer");
    }
  }

  @Override
  protected void destroy() {
    LiteRtC.LiteRtDestroyTensorBuffer(handle);
  }
}
