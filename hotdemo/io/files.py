"""Atomic writing, with one home (output folders: :mod:`hotdemo.io.outdir`).

* :func:`atomic_write` is the one way hotdemo writes a file that a reader may look at: the
  content goes to a hidden temporary file beside the target (``.<name>.<random>.tmp``), which is
  renamed onto the target only when the writer returned without error. A reader therefore sees
  the old file or the whole new one, never half a file; on any error (Ctrl-C included) the
  temporary file is removed and the target is left as it was. :func:`atomic_write_text`,
  :func:`atomic_write_json` and :func:`atomic_torch_save` are thin wrappers.
* reading ``torch.save`` files lives in :mod:`hotdemo.io.torchfile` (:func:`safe_torch_load`
  and :func:`pickled_globals` are re-exported here for older imports).

This module imports nothing from the rest of hotdemo but :mod:`hotdemo.core.errors` and
:mod:`hotdemo.io.torchfile`, so every module
(exporters, BVH, checkpoints, the trainer, batch) can use it without import cycles.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple, Union

from hotdemo.core.errors import OutputError
from hotdemo.io.torchfile import TRUST_HINT, pickled_globals, safe_torch_load  # noqa: F401  (re-exported)

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
