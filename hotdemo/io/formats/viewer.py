"""``--export html``: one self-contained HTML file to look at the 3D poses in a browser.

The page (``viewer_template.html``, package data) holds hotdemo's own JavaScript (Canvas 2D, no
library, no network access) and the poses as one compact JSON document in a
``<script type="application/json" id="hotdemo-data">`` element. It shows the world-frame 3D
skeletons of every person on a floor grid, with the rendered video's colours (the subject's left
side blue, right red, centre grey; each track's own colour for its ring and ID label), orbit /
pan / zoom with the mouse, play / pause, a frame scrubber, speed, per-person show/hide, and the
frame number and time. The JSON fields are documented in ``docs/formats.md``.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from hotdemo.render import CENTER_RGB, LEFT_RGB, RIGHT_RGB, track_color
from hotdemo.core.skeletons import H36M17
from hotdemo.core.types import Track3D, VideoInfo

#: integer units per metre of the stored joints (1 mm)
SCALE = 1000
VIEWER_FORMAT = "hotdemo-viewer"
VIEWER_VERSION = 1
_DATA_MARK = "__DATA__"


def _hex(rgb) -> str:
    return "#%02x%02x%02x" % tuple(int(c) for c in rgb)


def _runs(frames: np.ndarray) -> List[List[int]]:
    """Consecutive frame indices as ``[[start, length], ...]``."""
    frames = np.asarray(frames, np.int64)
    if len(frames) == 0:
        return []
    cut = np.flatnonzero(np.diff(frames) != 1) + 1
    starts = np.concatenate([[0], cut])
    ends = np.concatenate([cut, [len(frames)]])
    return [[int(frames[s]), int(e - s)] for s, e in zip(starts, ends)]


def viewer_data(info: VideoInfo, tracks3d: Sequence[Track3D], fps: Optional[float] = None,
                title: str = "") -> Dict:
    """The JSON document embedded in the page (see docs/formats.md, "HTML viewer")."""
    sk = H36M17
    side = {"left": LEFT_RGB, "right": RIGHT_RGB, "center": CENTER_RGB}
    joint_rgb = [CENTER_RGB] * sk.num_joints
    for j in sk.left:
        joint_rgb[j] = LEFT_RGB
    for j in sk.right:
        joint_rgb[j] = RIGHT_RGB
    people = []
    last = int(info.frame_count or 0)
    for t in tracks3d:
        if t.joints_world is None or len(t) == 0:
            continue
        jw = np.asarray(t.joints_world, np.float64)
        bad = ~np.isfinite(jw).all(axis=(1, 2))
        q = np.round(np.where(np.isfinite(jw), jw, 0.0) * SCALE).astype(np.int64)
        people.append({
            "id": int(t.track_id),
            "color": _hex(track_color(t.track_id)),
            "frames": _runs(t.frames),
            "joints": q.reshape(-1).tolist(),
            "missing": np.flatnonzero(bad).tolist(),
        })
        last = max(last, int(t.frames.max()) + 1)
    return {
        "format": VIEWER_FORMAT,
        "version": VIEWER_VERSION,
        "title": title,
        "fps": float(fps if fps else (info.fps or 0.0)),
        "n_frames": last,
        "scale": SCALE,
        "units": "millimetres (integers; divide by scale for metres)",
        "frame": "world: z up, floor z = 0 (as joints_world in the JSON/NPZ exports)",
        "joint_names": list(sk.joint_names),
        "edges": [list(e) for e in sk.edges],
        "edge_colors": [_hex(side[sk.edge_side(e)]) for e in sk.edges],
        "joint_colors": [_hex(c) for c in joint_rgb],
        "head": sk.index("head"),
        "ankles": [sk.index("left_ankle"), sk.index("right_ankle")],
        "people": people,
    }


def viewer_html(info: VideoInfo, tracks3d: Sequence[Track3D], fps: Optional[float] = None,
                title: str = "") -> str:
    """The whole page as text: the template with the data inlined."""
    template = resources.files("hotdemo.io.formats").joinpath("viewer_template.html").read_text(encoding="utf-8")
    data = json.dumps(viewer_data(info, tracks3d, fps, title), separators=(",", ":"), allow_nan=False)
    data = data.replace("</", "<\\/")  # never closes the <script> element early
    safe_title = (title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    head, tail = template.split(_DATA_MARK, 1)
    return head.replace("__TITLE__", safe_title) + data + tail


def read_viewer_data(path) -> Dict:
    """The JSON document of a viewer page written by :func:`write_html` (for tests and tools)."""
    import re

    text = Path(path).read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="hotdemo-data">(.*?)</script>', text, re.S)
    if m is None:
        raise ValueError(f"{path}: not a hotdemo viewer page")
    return json.loads(m.group(1))


def write_html(path, info: VideoInfo, tracks3d: Sequence[Track3D], fps: Optional[float] = None) -> Path:
    """Write the viewer page atomically; returns its path."""
    from hotdemo.io.files import atomic_write

    path = Path(path)
    text = viewer_html(info, tracks3d, fps, title=path.stem)
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def export_html(job) -> List[Path]:
    """Export-registry writer (``job``: ``out_dir``, ``stem``, ``info``, ``tracks3d``, ``fps``): ``<stem>.html``."""
    return [write_html(Path(job.out_dir) / f"{job.stem}.html", job.info, job.tracks3d, job.fps)]
