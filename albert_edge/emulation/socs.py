"""The Snapdragon SoCs the kit compiles for: a registry of target chips.

Why a registry: the compiler (LiteRT's Qualcomm plugin, ``--soc_model``), the HTP emulator
(QNN's ``soc_model`` number and ``htp_arch``) and the phones a user owns all name the same chip
differently; one entry per chip holds every name, and adding a chip is one ``register`` call.
The SoC numbers and Hexagon versions are QNN's (``QnnTypes.h`` ``QNN_SOC_MODEL_*``; the HTP
architecture of each chip); the marketing names are Qualcomm's.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

from albert_edge.emulation.errors import NpuEnvironmentError
from albert_edge.registry import Registry


class UnknownSocError(NpuEnvironmentError, ValueError):
    """A SoC name nothing registered; the message lists the registered ones (exit 2)."""


@dataclasses.dataclass(frozen=True)
class Soc:
    name: str              # lower-case registry key: sm8650
    model: str             # LiteRT's SocModel / apply_plugin_main --soc_model: SM8650
    marketing: str         # Snapdragon 8 Gen 3
    hexagon: str           # HTP architecture: v75
    qnn_soc_model: int     # QNN's soc_model number (HTP emulator option)
    phones: str = ""       # the device-farm phones with this chip (benchmark/devices), for --npu list

    @property
    def htp_arch(self) -> str:
        """The emulator's ``htp_arch`` option: ``75`` for v75."""
        return self.hexagon.lstrip("v")


_REGISTRY: Registry[Soc] = Registry("SoC", UnknownSocError)


def register(soc: Soc) -> Soc:
    return _REGISTRY.register(soc.name, soc)


def get(name: str) -> Soc:
    return _REGISTRY.get(name.strip().lower())


def names() -> tuple[str, ...]:
    return _REGISTRY.names()


def parse_list(text: str | Sequence[str]) -> list[Soc]:
    """``"sm8550,SM8650"`` → their entries, in order, without repeats; an unknown one is UnknownSocError."""
    items = [x.strip().lower() for x in (text.split(",") if isinstance(text, str) else text) if x.strip()]
    if not items:
        raise UnknownSocError(f"no SoC named; choose from {', '.join(names())} (or 'list')")
    seen: dict[str, Soc] = {}
    for item in items:
        seen.setdefault(item, get(item))
    return list(seen.values())


def list_table() -> str:
    """What ``--npu list`` prints."""
    rows = [("SoC", "marketing name", "Hexagon", "QNN soc_model", "phones")]
    rows += [(s.name, s.marketing, s.hexagon, str(s.qnn_soc_model), s.phones) for s in map(get, names())]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows) + "\n"


register(Soc("sm8450", "SM8450", "Snapdragon 8 Gen 1", "v69", 36))
register(Soc("sm8475", "SM8475", "Snapdragon 8+ Gen 1", "v69", 42))
register(Soc("sm8550", "SM8550", "Snapdragon 8 Gen 2", "v73", 43, "Galaxy S23"))
register(Soc("sm8650", "SM8650", "Snapdragon 8 Gen 3", "v75", 57, "Galaxy S24 Ultra"))
register(Soc("sm8750", "SM8750", "Snapdragon 8 Elite", "v79", 69, "Galaxy S25"))
register(Soc("sm8850", "SM8850", "Snapdragon 8 Elite Gen 5", "v81", 87))
