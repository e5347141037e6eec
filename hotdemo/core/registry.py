"""Named entries in registration order: the one registry mechanism of hotdemo's model families.

>>> reg = Registry("colour")
>>> reg.add("red", "hotdemo.core.errors:InputError")   # a lazy entry: imported on first use
>>> "red" in reg, list(reg)
(True, ['red'])
>>> reg.lookup("blue")
Traceback (most recent call last):
...
ValueError: unknown colour 'blue'; known: red

A :class:`Registry` is a read-only mapping ``name -> entry`` (iteration in registration order)
with :meth:`add` / :meth:`remove`. An entry is either the object itself or a reference
``"package.module:attribute"``, imported the first time the entry is looked up, so that listing
the names (``name in reg``, ``list(reg)``, error messages) imports no model code. Entries that
have a ``name`` attribute must carry the name they are registered under.

The lifter families (:data:`hotdemo.lift.registry.LIFTERS`) and the 2D families
(:data:`hotdemo.pose2d.registry.FAMILIES`) are registries: a family is one file defining its
spec, plus one ``add`` line.

This module imports nothing from hotdemo.
"""

from __future__ import annotations

import importlib
from typing import Any, Dict, Generic, Iterator, Mapping, Optional, TypeVar

T = TypeVar("T")

__all__ = ["Registry", "resolve_reference"]


def resolve_reference(ref: str) -> Any:
    """The object a ``"package.module:attribute"`` reference names (the attribute may be dotted)."""
    module, sep, attr = ref.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"{ref!r} is not a 'package.module:attribute' reference")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class Registry(Mapping[str, T], Generic[T]):
    """Named entries of one kind (``kind`` words the error messages: "unknown {kind} 'x'; known: ...")."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: Dict[str, Any] = {}

    # ------------------------------------------------------------------ changing it
    def add(self, name_or_entry: Any, entry: Any = None, *, replace: bool = False) -> None:
        """Register ``entry`` under ``name`` (``add(name, entry)``), or an object under its own
        ``name`` attribute (``add(spec)``). ``entry`` may be a ``"module:attribute"`` reference.
        A name already registered raises ValueError unless ``replace``."""
        if entry is None:
            entry = name_or_entry
            name = getattr(entry, "name", None)
            if not isinstance(name, str):
                raise TypeError(f"add(entry) needs an entry with a name; use add(name, entry) for {entry!r}")
        else:
            name = name_or_entry
        if not isinstance(name, str) or not name:
            raise TypeError(f"{self.kind} names are non-empty strings, got {name!r}")
        if name in self._entries and not replace:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        if not isinstance(entry, str):
            self._check(name, entry)
        self._entries[name] = entry

    def remove(self, name: str) -> None:
        """Unregister ``name`` (KeyError if it is not registered)."""
        del self._entries[name]

    # ------------------------------------------------------------------ reading it
    def lookup(self, name: str) -> T:
        """The entry ``name``; ValueError with one line listing the known names otherwise."""
        if name not in self._entries:
            raise ValueError(f"unknown {self.kind} {name!r}; known: {', '.join(self._entries) or '(none)'}")
        return self[name]

    def get(self, name: str, default: Optional[T] = None) -> Optional[T]:  # type: ignore[override]
        return self[name] if name in self._entries else default

    def __getitem__(self, name: str) -> T:
        entry = self._entries[name]
        if isinstance(entry, str):
            entry = resolve_reference(entry)
            self._check(name, entry)
            self._entries[name] = entry
        return entry

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._entries)})"

    def _check(self, name: str, entry: Any) -> None:
        own = getattr(entry, "name", name)
        if isinstance(own, str) and own != name:
            raise ValueError(f"{self.kind} registered as {name!r} calls itself {own!r}")
