"""`Registry`: name → entry, in registration order — the one mechanism behind the kit's tables.

Tasks (`albert_edge.tasks`) and export variants (`albert_edge.export.variants`) are each one registry:
code asks it for an entry instead of testing names, so adding a task or a variant is one entry.
(Device-farm backends are a plain table, `benchmark.farm.BACKENDS`, read only by the farm CLI.) Lookups of an unknown name raise the
registry's own error type (a ValueError) listing the registered names, which the CLIs print as is.
"""
from __future__ import annotations

import re
import types
from typing import Callable, Dict, Generic, Iterator, Mapping, Optional, Tuple, Type, TypeVar

T = TypeVar("T")
# Names become file names, CLI choices and metadata values.
NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


class Registry(Generic[T]):
    """Entries of one kind (`what`: "task", "variant" …) by name."""

    def __init__(self, what: str, unknown: Type[ValueError] = ValueError):
        self.what = what
        self.unknown = unknown
        self._entries: Dict[str, T] = {}
        self.view: Mapping[str, T] = types.MappingProxyType(self._entries)   # read-only, in order

    def register(self, name: str, entry: T) -> T:
        """Add `entry`; a second entry under one name, or a name unfit for a file name, is a ValueError."""
        if not NAME.fullmatch(name):
            raise ValueError(f"{self.what} name {name!r}: use lower-case letters, digits, _ and - "
                             "(it names files and CLI choices)")
        if name in self._entries:
            raise ValueError(f"{self.what} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> None:
        """Remove an entry (tests that register a temporary one)."""
        self._entries.pop(name, None)

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise self.unknown(f"unknown {self.what} {name!r}; choose one of {', '.join(self._entries)}") from None

    def names(self, keep: Optional[Callable[[T], bool]] = None) -> Tuple[str, ...]:
        return tuple(n for n, e in self._entries.items() if keep is None or keep(e))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def values(self):
        return self._entries.values()
