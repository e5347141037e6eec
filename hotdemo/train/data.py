"""Human3.6M-style 3D motion data: loading, the 17-joint selection, a compact cache, clips.

The input file has the layout of the ``data_3d_h36m.npz`` that VideoPose3D, MixSTE and HoT
read (``np.load(p, allow_pickle=True)["positions_3d"].item()``: subject -> sequence ->
float32 (T, 32, 3) world metres, z up, 50 fps). Both ``../shared``'s reconstruction and a
user's own copy of the official file load the same way.

:class:`MotionData` keeps every sequence's 17 joints in one contiguous (N, 17, 3) float32
array plus a table of sequences, so that a batch of clips is gathered with one fancy index.
:func:`load_motion` caches that array beside the run (``.npz``, a few tens of MB) so that
later runs start in a second.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from hotdemo.core.errors import InputError
from hotdemo.io.files import atomic_write
from hotdemo.core.skeletons import H36M32_TO_17

TRAIN_SUBJECTS: Tuple[str, ...] = ("S1", "S5", "S6", "S7", "S8")
TEST_SUBJECTS: Tuple[str, ...] = ("S9", "S11")
FPS = 50.0

#: canonical action names (the 15 Human3.6M actions), keyed by normalised aliases
_ACTION_ALIASES = {
    "directions": "Directions", "discussion": "Discussion", "eating": "Eating",
    "greeting": "Greeting", "phoning": "Phoning", "posing": "Posing", "purchases": "Purchases",
    "sitting": "Sitting", "sittingdown": "SittingDown", "smoking": "Smoking",
    "takingphoto": "Photo", "photo": "Photo", "waiting": "Waiting", "walking": "Walking",
    "walkingdog": "WalkDog", "walkdog": "WalkDog", "walkingtogether": "WalkTogether",
    "walktogether": "WalkTogether",
}


def action_of(sequence: str) -> str:
    """Action name of a sequence: ``walkingdog_1`` / ``WalkDog 1`` / ``WalkDog`` -> ``WalkDog``.

    Unknown names are returned without their trailing take number.
    """
    base = re.sub(r"[\s_\-]*\d+$", "", sequence.strip())
    key = re.sub(r"[^a-z]", "", base.lower())
    return _ACTION_ALIASES.get(key, base)


def load_positions_3d(path: Union[str, Path]) -> Dict[str, Dict[str, np.ndarray]]:
    """Read ``positions_3d`` from a ``data_3d_h36m.npz``-style file: subject -> sequence -> (T, 32, 3)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"3D motion file not found: {path}")
    try:
        with np.load(path, allow_pickle=True) as z:
            data = z["positions_3d"].item()
    except (KeyError, ValueError, OSError, AttributeError) as e:
        raise InputError(
            f"{path} is not a data_3d_h36m.npz-style file (expected a pickled dict 'positions_3d'): {e}"
        ) from None
    if not isinstance(data, dict) or not data:
        raise InputError(f"{path}: 'positions_3d' is not a non-empty dict of subjects")
    out: Dict[str, Dict[str, np.ndarray]] = {}
    for subject, seqs in data.items():
        out[str(subject)] = {}
        for name, arr in seqs.items():
            a = np.asarray(arr, dtype=np.float32)
            if a.ndim != 3 or a.shape[2] != 3 or a.shape[1] not in (17, 32):
                raise InputError(f"{path}: {subject}/{name} has shape {a.shape}, expected (T, 32, 3)")
            out[str(subject)][str(name)] = a
    return out


def select_h36m17(positions: np.ndarray) -> np.ndarray:
    """(..., 32, 3) Human3.6M mocap joints -> (..., 17, 3) in hotdemo's H36M17 order.

    Arrays that already have 17 joints are returned unchanged.
    """
    if positions.shape[-2] == 17:
        return positions
    if positions.shape[-2] != 32:
        raise ValueError(f"expected 32 (or 17) joints, got shape {positions.shape}")
    return positions[..., list(H36M32_TO_17), :]


@dataclass(frozen=True)
class SequenceInfo:
    subject: str
    name: str
    action: str
    start: int  # first row in MotionData.positions
    length: int  # frames


@dataclass
class MotionData:
    """All sequences' 17 joints in one array. ``positions``: (N, 17, 3) float32 world metres."""

    positions: np.ndarray
    sequences: List[SequenceInfo]

    def subset(self, subjects: Sequence[str], min_length: int = 1) -> List[SequenceInfo]:
        """Sequences of the given subjects with at least ``min_length`` frames."""
        return [s for s in self.sequences if s.subject in subjects and s.length >= min_length]

    def sequence(self, info: SequenceInfo) -> np.ndarray:
        """(T, 17, 3) world positions of one sequence (a view)."""
        return self.positions[info.start:info.start + info.length]

    @property
    def subjects(self) -> List[str]:
        return sorted({s.subject for s in self.sequences})


def motion_from_positions(pos3d: Dict[str, Dict[str, np.ndarray]]) -> MotionData:
    """Build :class:`MotionData` from ``subject -> sequence -> (T, 32 or 17, 3)``."""
    arrays, infos, start = [], [], 0
    for subject in sorted(pos3d):
        for name in sorted(pos3d[subject]):
            a = select_h36m17(np.asarray(pos3d[subject][name], dtype=np.float32))
            arrays.append(a)
            infos.append(SequenceInfo(subject, name, action_of(name), start, len(a)))
            start += len(a)
    if not arrays:
        raise InputError("the motion data holds no sequences")
    return MotionData(np.ascontiguousarray(np.concatenate(arrays, axis=0)), infos)


def _cache_key(path: Path) -> str:
    st = path.stat()
    h = hashlib.sha1(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|v1".encode()).hexdigest()[:12]
    return f"h36m17_{path.stem}_{h}.npz"


COMPACT_FORMAT = "hotdemo-h36m17-f16-v1"


def save_compact(data: MotionData, path: Union[str, Path]) -> Path:
    """Write ``data`` as a small, self-contained float16 file (for carrying to a GPU machine).

    Layout (``np.savez_compressed``): ``format`` = :data:`COMPACT_FORMAT`; ``root`` float32
    (N, 3) pelvis positions, metres; ``rel`` uint8 (2, 16, 3, N): the other 16 joints relative
    to the pelvis as little-endian float16, stored time-major and split into low / high byte
    planes (which roughly halves the compressed size); ``table`` str (S, 4): subject, sequence,
    first row, length. Rounding error of the relative joints: at most 0.5 mm (float16 has 11
    significant bits and no joint is more than 1.1 m from the pelvis). Written atomically.
    """
    path = Path(path)
    pos = np.asarray(data.positions, dtype=np.float32)
    root = pos[:, 0]
    rel = (pos[:, 1:] - pos[:, :1]).astype("<f2")  # (N, 16, 3)
    planes = np.ascontiguousarray(
        np.ascontiguousarray(rel.transpose(1, 2, 0)).view(np.uint8).reshape(16, 3, -1, 2).transpose(3, 0, 1, 2))
    table = np.array([(s.subject, s.name, s.start, s.length) for s in data.sequences], dtype=object).astype(str)
    return atomic_write(path, lambda f: np.savez_compressed(f, format=np.array(COMPACT_FORMAT), root=root,
                                                          rel=planes, table=table), mkdir=True)


def _load_compact(z) -> MotionData:
    root = np.asarray(z["root"], dtype=np.float32)
    planes = z["rel"]
    if planes.dtype != np.uint8 or planes.shape != (2, 16, 3, len(root)):
        raise InputError(f"compact motion file: 'rel' has shape {planes.shape}, expected (2, 16, 3, {len(root)})")
    rel = np.ascontiguousarray(planes.transpose(1, 2, 3, 0)).view("<f2")[..., 0]  # (16, 3, N)
    pos = np.empty((len(root), 17, 3), np.float32)
    pos[:, 0] = root
    pos[:, 1:] = rel.transpose(2, 0, 1).astype(np.float32) + root[:, None]
    infos = [SequenceInfo(str(s), str(n), action_of(str(n)), int(a), int(b)) for s, n, a, b in z["table"]]
    return MotionData(pos, infos)


def load_motion(path: Union[str, Path], cache_dir: Optional[Union[str, Path]] = None) -> MotionData:
    """Load a ``data_3d_h36m.npz``-style file, or a compact file from :func:`save_compact`, as
    :class:`MotionData`, through a 17-joint cache.

    ``cache_dir``: where the 17-joint cache (float32 positions + sequence table) is kept; None
    disables the cache. The cache is keyed by the source's path, size and mtime. Compact files
    are read directly (they are already small).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"3D motion file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            if "format" in z.files and str(z["format"]) == COMPACT_FORMAT:
                return _load_compact(z)
    except ValueError:
        pass  # a pickled data_3d_h36m.npz: read below
    except (OSError, KeyError) as e:
        raise InputError(f"{path}: cannot read the motion file ({e})") from None
    cache = Path(cache_dir) / _cache_key(path) if cache_dir is not None else None
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as z:
            table = z["table"]
            infos = [SequenceInfo(str(s), str(n), action_of(str(n)), int(a), int(b)) for s, n, a, b in table]
            return MotionData(z["positions"], infos)
    data = motion_from_positions(load_positions_3d(path))
    if cache is not None:
        table = np.array([(s.subject, s.name, s.start, s.length) for s in data.sequences], dtype=object).astype(str)
        atomic_write(cache, lambda f: np.savez(f, positions=data.positions, table=table), mkdir=True)
    return data


def clip_starts(length: int, frames: int, stride: int) -> np.ndarray:
    """Start frames of windows of ``frames`` covering a sequence of ``length`` frames.

    Windows advance by ``stride``; the last window ends at the last frame (so it may overlap the
    previous one). A sequence shorter than ``frames`` gives one window starting at 0 (the caller
    pads).
    """
    if length <= frames:
        return np.zeros(1, dtype=np.int64)
    starts = np.arange(0, length - frames + 1, stride, dtype=np.int64)
    if starts[-1] != length - frames:
        starts = np.append(starts, length - frames)
    return starts
