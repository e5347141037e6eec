"""The export formats: one module each, and this registry of them.

A format is its module (a writer ``export_<name>(job) -> [paths]`` that writes into
``job.out_dir`` through :func:`hotdemo.io.files.atomic_write`, and optionally a check) plus one
:class:`ExportFormat` line in :data:`EXPORT_FORMATS`. The CLI's ``--export`` choices, its help
and error message and :func:`write_exports` all come from the registry. The writers are named
as ``"module:function"`` and imported on first use, so importing the registry imports no format
module (and a format module may import anything here without a cycle).

The modules: :mod:`~hotdemo.io.formats.json_file`, :mod:`~hotdemo.io.formats.npz_file`,
:mod:`~hotdemo.io.formats.csv_file`, :mod:`~hotdemo.io.formats.bvh`,
:mod:`~hotdemo.io.formats.viewer` (html), :mod:`hotdemo.post.angles`,
:mod:`~hotdemo.io.formats.gltf`, :mod:`~hotdemo.io.formats.trc`; what JSON, NPZ and CSV share:
:mod:`~hotdemo.io.formats.schema`; reading exports and the input of ``hotdemo lift`` back:
:mod:`~hotdemo.io.formats.keypoints`. Every field, unit and coordinate frame: ``docs/formats.md``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from hotdemo.core.errors import InputError, OutputError
from hotdemo.core.types import Track2D, Track3D, VideoInfo
from hotdemo.io.formats.schema import PathLike, _effective_fps


@dataclass(frozen=True)
class ExportJob:
    """What every exporter gets: where to write, and the poses with their video metadata.

    ``fps`` is the effective frame rate (``fps`` given to :func:`write_exports`, else the
    video's), 0.0 when unknown.
    """

    out_dir: Path
    stem: str
    info: VideoInfo
    tracks2d: Sequence[Track2D]
    tracks3d: Sequence[Track3D]
    fps: float
    #: the fitted camera (:class:`hotdemo.post.trajectory.SceneCamera`), or None (people in place)
    scene: Optional[object] = None


@dataclass(frozen=True)
class ExportFormat:
    """One export format: its ``--export`` name, a one-line description, and its writer.

    ``write(job) -> [paths]`` writes its file(s) into ``job.out_dir`` through
    :func:`hotdemo.io.files.atomic_write`. ``check(job)`` (optional) raises
    :class:`~hotdemo.core.errors.HotdemoError` for data this format cannot hold; :func:`write_exports`
    runs every chosen format's check before it writes anything, so a failing format never leaves
    the others written. Callables may be given as ``"module:function"`` (imported on first use,
    so a format in another module adds no import at start-up and no cycle).
    """

    name: str
    description: str
    write: Union[Callable[[ExportJob], List[Path]], str]
    #: a few words for ``--export``'s help (optional)
    short: str = ""
    #: ``require()`` raises a one-line HotdemoError when an optional dependency is missing; run
    #: when the format is chosen (before any model is loaded) and again before writing
    require: Union[Callable[[], None], str, None] = None
    check: Union[Callable[[ExportJob], None], str, None] = None

    def writer(self) -> Callable[[ExportJob], List[Path]]:
        return _resolve(self.write)

    def checker(self) -> Optional[Callable[[ExportJob], None]]:
        return None if self.check is None else _resolve(self.check)


def _resolve(fn):
    if callable(fn):
        return fn
    module, _, name = fn.partition(":")
    return getattr(importlib.import_module(module), name)


_F = "hotdemo.io.formats."
#: every ``--export`` format, in the order they are listed and written; a new format is one entry
EXPORT_FORMATS: Dict[str, ExportFormat] = {f.name: f for f in (
    ExportFormat("json", "all tracks, 2D and 3D, with metadata: <stem>.json", _F + "json_file:export_json"),
    ExportFormat("npz", "the same as NumPy arrays: <stem>.npz", _F + "npz_file:export_npz"),
    ExportFormat("csv", "one row per frame, person and joint: <stem>.csv", _F + "csv_file:export_csv"),
    ExportFormat("bvh", "one Blender-ready skeleton animation per person: <stem>_track<ID>.bvh",
                 _F + "bvh:export_bvh", check=_F + "bvh:check_bvh"),
    ExportFormat("html", "a 3D viewer in one self-contained page: <stem>.html", _F + "viewer:export_html",
                 short="3D viewer"),
    ExportFormat("angles", "joint angles per frame as CSV, with plots", "hotdemo.post.angles:export_angles",
                 short="joint angles CSV + plots", require="hotdemo.post.angles:require_matplotlib"),
    ExportFormat("gltf", "skinned, animated skeletons of everybody in one binary glTF: <stem>.glb",
                 _F + "gltf:export_gltf", short="glTF for Blender / Unity / Unreal / the web",
                 check=_F + "bvh:check_bvh"),
    ExportFormat("trc", "OpenSim TRC markers per person", _F + "trc:export_trc", short="OpenSim markers"),
)}
#: what ``run``, ``batch`` and ``lift`` write without ``--export``
DEFAULT_FORMATS: Tuple[str, ...] = ("json", "npz")
#: the registry's names (kept for callers that only need them)
FORMATS: Tuple[str, ...] = tuple(EXPORT_FORMATS)


def check_formats(formats: Sequence[str]) -> Tuple[str, ...]:
    """``formats`` without repeats, in the given order; :class:`InputError` naming any unknown one."""
    bad = [f for f in formats if f not in EXPORT_FORMATS]
    if bad:
        raise InputError(f"unknown export format {', '.join(bad)!r}; choose from {', '.join(EXPORT_FORMATS)} "
                         "(comma-separated, or 'none')")
    formats = tuple(dict.fromkeys(formats))
    for name in formats:  # optional dependencies, before any model is loaded or anything is written
        require = EXPORT_FORMATS[name].require
        if require is not None:
            _resolve(require)()
    return formats


def parse_formats(value: str) -> Tuple[str, ...]:
    """The ``--export`` value: comma-separated names (any case, spaces ignored); "" or "none": no exports."""
    items = tuple(x.strip().lower() for x in value.split(",") if x.strip())
    if items in ((), ("none",)):
        return ()
    return check_formats(items)


# ------------------------------------------------------------------ entry point
def _check_job(job: ExportJob) -> None:
    """What every format writes: the video's size and frame rate must be finite numbers."""
    i = job.info
    for name, v in (("width", i.width), ("height", i.height), ("fps", i.fps)):
        if not np.isfinite(float(v)):
            raise InputError(f"cannot export: the video {name} is {v}")


def write_exports(out_dir: PathLike, stem: str, info: VideoInfo, tracks2d: Sequence[Track2D],
                  tracks3d: Sequence[Track3D], formats: Sequence[str] = DEFAULT_FORMATS,
                  fps: Optional[float] = None, scene=None) -> List[Path]:
    """Write the chosen formats into ``out_dir``; returns the written paths.

    ``fps`` overrides ``info.fps`` (e.g. for 2D input files without a frame rate); BVH falls
    back to 30 fps when neither is known (its frame time must be positive).
    """
    out_dir = Path(out_dir)
    formats = check_formats(formats)
    if not out_dir.is_dir():
        raise OutputError(f"output folder {out_dir} does not exist")
    job = ExportJob(out_dir, stem, info, tracks2d, tracks3d, _effective_fps(info, fps), scene)
    _check_job(job)
    for name in formats:  # every check before any write: nothing is half-written
        check = EXPORT_FORMATS[name].checker()
        if check is not None:
            check(job)
    paths: List[Path] = []
    for name in formats:
        paths.extend(EXPORT_FORMATS[name].writer()(job))
    return paths
