package com.google.ai.edge.litert;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.util.EnumSet;
import java.util.Set;

/** A LiteRT environment (LiteRtEnvironment): which accelerators are registered, shared state. */
public final class Environment extends JniHandle {

  final Pointer handle;

  private Environment(Pointer handle) {
    this.handle = handle;
  }

  /** An environment with no options (the NPU library folders are phone-side settings). */
  public static Environment create() throws LiteRtException {
    Memory out = LiteRtC.out();
    LiteRtC.check(LiteRtC.LiteRtCreateEnvironment(0, null, out), "LiteRtCreateEnvironment");
    return new Environment(out.getPointer(0));
  }

  /** The accelerators registered in the environment (CPU always; GPU/NPU when their libraries load). */
  public Set<Accelerator> getAvailableAccelerators() throws LiteRtException {
    assertNotDestroyed();
    Memory count = LiteRtC.out();
    LiteRtC.check(LiteRtC.LiteRtGetNumAccelerators(handle, count), "LiteRtGetNumAccelerators");
    Set<Accelerator> out = EnumSet.noneOf(Accelerator.class);
    for (long i = 0; i < count.getLong(0); i++) {
      Memory accelerator = LiteRtC.out();
      LiteRtC.check(LiteRtC.LiteRtGetAccelerator(handle, i, accelerator), "LiteRtGetAccelerator");
      Memory support = LiteRtC.out();
      LiteRtC.check(LiteRtC.LiteRtGetAcceleratorHardwareSupport(accelerator.getPointer(0), support),
          "LiteRtGetAcceleratorHardwareSupport");
      int bits = support.getInt(0);
      for (Accelerator a : Accelerator.values()) {
        if (a != Accelerator.NONE && (bits & a.hwBit()) != 0) {
          out.add(a);
        }
      }
    }
    return out;
  }

  @Override
  protected void destroy() {
    LiteRtC.LiteRtDestroyEnvironment(handle);
  }
}
