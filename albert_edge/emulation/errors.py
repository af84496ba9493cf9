"""How emulation says no. Every one of these is exit 2 at the CLI: the message says what is missing
or unusable and how to fix it (a *gate* failure is a result, not an exception)."""
from __future__ import annotations


class EmulationError(RuntimeError):
    """Base of the errors below."""


class EmulationInputError(EmulationError):
    """An input file or model cannot be used for an emulated run."""


class ArmEnvironmentError(EmulationError):
    """Something the qemu emulation needs is missing; the message names it and how to install it."""


class ArmRunError(EmulationError):
    """A model could not be run under qemu (bad model, crash, time limit)."""


class NpuEnvironmentError(EmulationError):
    """The Qualcomm libraries (compiler plugin's QNN SDK, HTP emulator) are missing, or a SoC is unknown."""


class NpuRunError(EmulationError):
    """A compiled model could not be read or loaded by the HTP emulator (not a numerics result)."""
