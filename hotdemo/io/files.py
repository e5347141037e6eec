"""Atomic writing, with one home (output folders: :mod:`hotdemo.io.outdir`).

* :func:`atomic_write` is the one way hotdemo writes a file that a reader may look at: the
  content goes to a hidden temporary file beside the target (``.<name>.<random>.tmp``), which is
  renamed onto the target only when the writer returned without error. A reader therefore sees
  the old file or the whole new one, never half a file; on any error (Ctrl-C included) the
  temporary file is removed and the target is left as it was. :func:`atomic_write_text`,
  :func:`atomic_write_json` and :func:`atomic_torch_save` are thin wrappers.
* :func:`safe_torch_load` is the one way hotdemo reads a ``torch.save`` file: tensors, plain
  Python values and the numpy values / ``argparse.Namespace`` that official training scripts
  store beside the weights, never code; anything else is refused with a one-line reason.

This module imports nothing from the rest of hotdemo but :mod:`hotdemo.core.errors`, so every module
(exporters, BVH, checkpoints, the trainer, batch) can use it without import cycles.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple, Union

from hotdemo.core.errors import OutputError, WeightsError

PathLike = Union[str, os.PathLike]

_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic_write(path: PathLike, write: Callable[[io.IOBase], None], *, binary: bool = True,
                 mkdir: bool = False, check: Optional[Callable[[Path], None]] = None) -> Path:
    """Call ``write(f)`` on a temporary file beside ``path``, then rename it onto ``path``.

    ``binary``: the file is opened ``"wb"``; otherwise ``"w"`` in UTF-8 with ``newline=""``.
    ``mkdir``: create the parent folder first. ``check(tmp)``: called with the temporary file's
    path once it is written and closed, before the rename (e.g. to verify what was written); if it
    raises, ``path`` is left as it was. The file gets the usual permissions (0666 minus the umask).
    An :class:`OSError` becomes :class:`~hotdemo.core.errors.OutputError` naming ``path``; any
    other exception from ``write`` or ``check`` propagates unchanged. Either way nothing is left
    behind.
    """
    path = Path(path)
    try:
        if mkdir:
            path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
    try:
        kw = {} if binary else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(fd, "wb" if binary else "w", **kw) as f:
            write(f)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600
        if check is not None:
            check(Path(tmp))
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(e, OSError):
            raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
        raise
    return path


def atomic_write_text(path: PathLike, text: str, *, mkdir: bool = False) -> Path:
    """Write ``text`` (UTF-8) atomically."""
    data = text.encode("utf-8")
    return atomic_write(path, lambda f: f.write(data), mkdir=mkdir)


def atomic_write_json(path: PathLike, data: Any, *, indent: int = 2, mkdir: bool = False) -> Path:
    """Write ``data`` as JSON (``indent`` spaces, a final newline, non-JSON values via ``str``) atomically."""
    return atomic_write_text(path, json.dumps(data, indent=indent, default=str) + "\n", mkdir=mkdir)


def atomic_torch_save(obj: Any, path: PathLike, *, mkdir: bool = True) -> Path:
    """``torch.save(obj)`` atomically (checkpoints: a crash mid-save keeps the previous file)."""
    import torch

    return atomic_write(path, lambda f: torch.save(obj, f), mkdir=mkdir)



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
