"""The one reader of ``torch.save`` files, for 2D and 3D models alike.

* :func:`safe_torch_load` reads a file on the CPU: tensors, plain Python values and the numpy
  values / ``argparse.Namespace`` that official training scripts store beside the weights, never
  code; anything else is refused with a one-line reason (``trust=True``, ``--trust-checkpoint``,
  is the explicit opt-in to unpickle fully). :func:`pickled_globals` lists what a file would
  unpickle without unpickling it.
* :func:`unwrap_state_dict` finds the state dict inside a loaded object (bare, or under
  ``state_dict`` / ``model`` / ``model_pos`` / ``net``, nested as trainers save them) and strips
  ``module.`` prefixes (``nn.DataParallel``).
* :func:`load_state_dict_strict` loads it into a model and returns a :class:`LoadReport`;
  with ``strict`` any missing, unexpected or mis-shaped key raises
  :class:`~hotdemo.core.errors.CheckpointError` naming them.

This module imports nothing from the rest of hotdemo but :mod:`hotdemo.core.errors`; torch is
imported when a function needs it.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from hotdemo.core.errors import CheckpointError, WeightsError

PathLike = Union[str, os.PathLike]

__all__ = ["safe_torch_load", "pickled_globals", "TRUST_HINT", "WRAPPER_KEYS", "unwrap_state_dict",
           "strip_prefix", "LoadReport", "compare_state_dict", "load_state_dict_strict"]


@functools.lru_cache(maxsize=1)
def _safe_extra_globals() -> Tuple[Any, ...]:
    """What ``torch.load(weights_only=True)`` may build besides tensors: numpy scalars, arrays and
    dtypes (MotionBERT / MotionAGFormer store their best error as ``numpy.float64``, mmpose its
    dataset metadata as arrays) under the numpy 1.x and 2.x module names, and
    ``argparse.Namespace``. None of them runs code; an object array still needs ``object`` and
    is refused."""
    import argparse

    import numpy as np

    try:
        from numpy._core import multiarray as ma  # numpy >= 2
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray as ma
    out: List[Any] = [np.ndarray, np.dtype, argparse.Namespace]
    for fn in (ma.scalar, ma._reconstruct):
        out += [(fn, f"numpy.core.multiarray.{fn.__name__}"), (fn, f"numpy._core.multiarray.{fn.__name__}")]
    dtypes = getattr(np, "dtypes", None)  # numpy >= 1.25 pickles dtypes as these classes
    if dtypes is not None:
        out += [c for c in vars(dtypes).values() if isinstance(c, type) and issubclass(c, np.dtype)]
    return tuple(out)


def _unreadable_reason(path: Path, err: Exception) -> str:
    """One line saying why ``torch.load`` failed on ``path``, without torch's advice to unpickle
    untrusted files."""
    import re
    import zipfile

    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as e:
        return f"cannot be read ({e.strerror or e})"
    if head.startswith(b"PK") and not zipfile.is_zipfile(path):
        return "the archive is damaged or incomplete (an interrupted download?)"
    if not head.startswith(b"PK") and not head.startswith(b"\x80"):
        return "not a PyTorch file (neither a torch.save archive nor a pickle)"
    text = str(err)
    m = re.search(r"GLOBAL ([\w.]+)", text) or re.search(r"but got <class '([\w.]+)'>", text)
    if m:
        return (f"it holds a pickled `{m.group(1)}`, which hotdemo does not unpickle (it reads "
                f"tensors, plain values and numpy values only, never code); {TRUST_HINT}")
    first = text.strip().splitlines()[0] if text.strip() else type(err).__name__
    return f"cannot read as a PyTorch checkpoint ({first})"


def pickled_globals(path: PathLike, limit: int = 100_000) -> List[str]:
    """The ``module.name`` globals a ``torch.save`` file (zip or legacy format) or a plain pickle
    refers to, read with :mod:`pickletools` without unpickling anything (so nothing in the file
    runs). Empty when the file cannot be read as either. Used to say what a refused checkpoint
    holds, e.g. an ultralytics model object."""
    import pickletools
    import zipfile

    p = Path(path)
    try:
        if zipfile.is_zipfile(p):
            with zipfile.ZipFile(p) as z:
                names = [n for n in z.namelist() if n.endswith("data.pkl")]
                if not names:
                    return []
                data = z.read(sorted(names, key=len)[0])
        else:
            with open(p, "rb") as f:
                data = f.read(64 << 20)
    except (OSError, zipfile.BadZipFile):
        return []
    out: List[str] = []
    strings: List[str] = []
    try:
        for i, (op, arg, _) in enumerate(pickletools.genops(data)):
            if i > limit:
                break
            if op.name == "GLOBAL" and isinstance(arg, str):
                out.append(arg.replace(" ", ".", 1))
            elif op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE") and isinstance(arg, str):
                strings = (strings + [arg])[-2:]
            elif op.name == "STACK_GLOBAL" and len(strings) == 2:  # protocol 4+: module and name pushed first
                out.append(f"{strings[0]}.{strings[1]}")
    except Exception:  # a truncated or non-pickle stream: what was read so far
        pass
    return list(dict.fromkeys(out))


#: what to tell a user whose checkpoint holds code objects
TRUST_HINT = ("re-save just the weights with torch.save(model.state_dict()) where you trust the file, or pass "
              "--trust-checkpoint to unpickle it fully (that runs code from the file)")


def safe_torch_load(path: PathLike, *, trust: bool = False) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU with :func:`_safe_extra_globals` allowed.

    ``trust`` (2D checkpoints, ``--trust-checkpoint``): when that refuses the file, unpickle it
    fully, as mmpose itself loads them (unpublished mmengine checkpoints hold training-state
    objects), with a warning. Off by default: no checkpoint runs code unless the user says so.
    Raises :class:`~hotdemo.core.errors.WeightsError` with a one-line reason (missing file, not a torch
    file, damaged archive, a pickled class it will not build)."""
    import torch

    p = Path(path)
    if not p.is_file():
        raise WeightsError(f"{p}: checkpoint file not found" if not p.exists() else f"{p} is not a file")
    ctx = getattr(torch.serialization, "safe_globals", None)  # torch >= 2.5
    try:
        if ctx is None:
            return torch.load(p, map_location="cpu", weights_only=True)
        with ctx(_safe_extra_globals()):
            return torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # corrupt file, not a torch file, disallowed pickled objects
        refused = WeightsError(f"{p}: {_unreadable_reason(p, e)}")
    if trust:
        try:
            obj = torch.load(p, map_location="cpu", weights_only=False)
        except Exception:
            raise refused from None
        logging.getLogger("hotdemo").warning(
            "%s: unpickled fully because --trust-checkpoint was given (it holds more than tensors; "
            "this ran code from the file)", p.name)
        return obj
    raise refused


# ----------------------------------------------------------------------------- state dicts
#: the keys under which checkpoints hold their state dict (hotdemo and mmpose: ``state_dict``; a
#: trainer's last.pt: ``model``; MotionBERT: ``model_pos``; some 2D repositories: ``net``)
WRAPPER_KEYS = ("state_dict", "model", "model_pos", "net")


def _is_tensor(v: Any) -> bool:
    import torch

    return isinstance(v, torch.Tensor)


def _holds_tensors(obj: Any, depth: int = 3) -> bool:
    if not isinstance(obj, Mapping) or depth == 0:
        return False
    return any(_is_tensor(v) or _holds_tensors(v, depth - 1) for v in obj.values())


def strip_prefix(sd: Mapping[str, Any], prefix: str = "module.") -> Dict[str, Any]:
    """``sd`` with every leading ``prefix`` (repeated ones too) removed from its keys."""
    pat = re.compile("^(" + re.escape(prefix) + ")+")
    return {pat.sub("", str(k)): v for k, v in sd.items()}


def unwrap_state_dict(obj: Any, *, keys: Sequence[str] = WRAPPER_KEYS, where: str = "") -> Dict[str, Any]:
    """The state dict inside a loaded checkpoint object, ``module.`` prefixes stripped.

    While ``obj`` is a mapping that is not itself a state dict (a non-empty mapping of tensors),
    descend into the first of ``keys`` whose value is a mapping holding tensors (at any of its
    first levels: a trainer's ``{'model': {'state_dict': ...}}``). Entries that are not
    tensors are dropped. :class:`CheckpointError` (prefixed by ``where``) when no tensors are
    found."""
    while isinstance(obj, Mapping) and not (obj and all(_is_tensor(v) for v in obj.values())):
        inner = next((obj[k] for k in keys if _holds_tensors(obj.get(k))), None)
        if inner is None:
            break
        obj = inner
    sd = {k: v for k, v in obj.items() if _is_tensor(v)} if isinstance(obj, Mapping) else {}
    if not sd:
        raise CheckpointError(f"{where}checkpoint holds no state dict (expected a dict of tensors, or one under "
                              + "/".join(repr(k) for k in keys) + ")")
    return strip_prefix(sd)


@dataclass
class LoadReport:
    """Keys that did not line up when loading (empty lists after a strict load)."""

    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[Tuple[str, tuple, tuple]] = field(default_factory=list)  # key, checkpoint, model shape
    resampled: List[str] = field(default_factory=list)  # keys stretched to the model's token count (resample=True)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def describe(self, limit: int = 12) -> str:
        def short(items: List[str]) -> str:
            more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
            return ", ".join(items[:limit]) + more

        parts = []
        if self.missing:
            parts.append(f"missing keys: {short(self.missing)}")
        if self.unexpected:
            parts.append(f"unexpected keys: {short(self.unexpected)}")
        if self.mismatched:
            parts.append("shape mismatches: " + short(
                [f"{k} {list(a)} in checkpoint vs {list(b)} in model" for k, a, b in self.mismatched]))
        return "; ".join(parts)


def compare_state_dict(model: Any, sd: Mapping[str, Any], *,
                       optional: Callable[[str], bool] = lambda k: False) -> LoadReport:
    """Missing / unexpected / mis-shaped keys of ``sd`` relative to ``model.state_dict()``;
    ``optional(key)`` marks model keys that may be absent (e.g. BatchNorm counters)."""
    own = model.state_dict()
    return LoadReport(
        missing=sorted(k for k in own if k not in sd and not optional(k)),
        unexpected=sorted(k for k in sd if k not in own),
        mismatched=sorted((k, tuple(sd[k].shape), tuple(own[k].shape))
                          for k in own if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)),
    )


def load_state_dict_strict(model: Any, sd: Mapping[str, Any], *, strict: bool = True, where: str = "",
                           what: Optional[str] = None, allow_unexpected: bool = False,
                           optional: Callable[[str], bool] = lambda k: False) -> LoadReport:
    """Load ``sd`` into ``model`` (in place) and return the :class:`LoadReport`.

    ``strict``: every key must match by name and shape, else :class:`CheckpointError`
    ``"{where}checkpoint does not match {what}: missing keys: ...; shape mismatches: ..."``
    (``what``: default the model's class name; the report is the error's ``report``) and nothing
    is loaded. ``allow_unexpected``: keys the model does not have are not an error (2D files keep
    auxiliary heads); ``optional(key)``: model keys that may be absent. Not strict: the matching
    keys are loaded and the others reported."""
    report = compare_state_dict(model, sd, optional=optional)
    bad = report.missing or report.mismatched or (report.unexpected and not allow_unexpected)
    if strict and bad:
        shown = report if not allow_unexpected else LoadReport(report.missing, [], report.mismatched)
        err = CheckpointError(f"{where}checkpoint does not match {what or type(model).__name__}: {shown.describe()}")
        err.report = report  # type: ignore[attr-defined]
        raise err
    skip = {k for k, _, _ in report.mismatched} | set(report.unexpected)
    model.load_state_dict({k: v for k, v in sd.items() if k not in skip}, strict=False)
    return report
