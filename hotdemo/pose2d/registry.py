"""The 2D families and the built-in ``--pose2d`` names.

:data:`FAMILIES` lists the 2D model families, one line each, in the order they are asked
whether they read a checkpoint (the most specific first): a family is one file in
``hotdemo/pose2d/families/`` that defines its :class:`~hotdemo.pose2d.spec.Pose2DFamily` as
``FAMILY`` (model, checkpoint matcher, built-in presets), imported the first time it is asked
for. :data:`POSE2D_SPECS` is every family's presets by name. A new family::

    FAMILIES.add("mine", "mypackage.my_family:FAMILY")

(docs/adding_a_family.md has a complete example.) Reading checkpoints is in
:mod:`hotdemo.pose2d.checkpoints`, ``--pose2d NAME|FILE`` resolution in
:mod:`hotdemo.pose2d.resolve`.
"""

from __future__ import annotations

from typing import Iterator, List, Mapping

from hotdemo.core.registry import Registry
from hotdemo.pose2d.spec import (DEFAULT_POSE2D, POSE2D_EXPECTED, CheckpointInfo, Pose2DFamily, Pose2DSpec,
                                 make_head)

__all__ = ["FAMILIES", "POSE2D_SPECS", "DEFAULT_POSE2D", "POSE2D_EXPECTED", "Pose2DSpec", "Pose2DFamily",
           "CheckpointInfo", "make_head", "supported_layouts", "spec_names"]

#: the 2D families, asked in this order; the first whose ``match`` accepts a state dict wins
FAMILIES: Registry[Pose2DFamily] = Registry("2D family")
FAMILIES.add("simdr", "hotdemo.pose2d.families.simdr:FAMILY")
FAMILIES.add("tokenpose", "hotdemo.pose2d.families.tokenpose:FAMILY")
FAMILIES.add("hrnet", "hotdemo.pose2d.families.hrnet:FAMILY")
FAMILIES.add("rtmpose", "hotdemo.pose2d.families.rtmpose:FAMILY")


class _Presets(Mapping):
    """Name -> :class:`Pose2DSpec` over the presets of every family in :data:`FAMILIES`, in
    their order (read on each access, so a family added later is included)."""

    def _all(self) -> dict:
        return {s.name: s for fam in FAMILIES.values() for s in fam.presets}

    def __getitem__(self, name: str) -> Pose2DSpec:
        return self._all()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __repr__(self) -> str:
        return f"POSE2D_SPECS({', '.join(self)})"


#: built-in names for ``--pose2d``: the families' presets
POSE2D_SPECS: Mapping[str, Pose2DSpec] = _Presets()


def supported_layouts() -> str:
    """The checkpoint layouts the families read, for error messages."""
    return "; ".join(f"{f.name}: {f.layout}" for f in FAMILIES.values())


def spec_names() -> List[str]:
    return list(POSE2D_SPECS)


_MOVED = {"build_pose2d": "hotdemo.pose2d.resolve", "manifest_name": "hotdemo.pose2d.resolve",
          "_spec_from_json": "hotdemo.pose2d.resolve", "load_pose2d_model": "hotdemo.pose2d.checkpoints",
          "inspect_pose2d_checkpoint": "hotdemo.pose2d.checkpoints", "RTMPOSE_MEAN": "hotdemo.pose2d.families.rtmpose",
          "RTMPOSE_STD": "hotdemo.pose2d.families.rtmpose"}


def __getattr__(name: str):
    """The names this module held before it was split (``build_pose2d``, ``manifest_name``,
    ``load_pose2d_model``, ...), from their new modules on first use: those modules import this
    one, so importing them here would be a cycle."""
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
