"""Side-by-side renderer: the input frame with 2D skeletons | the 3D skeletons on a floor grid.

Everything is drawn with OpenCV into preallocated buffers, one frame in, one frame out; the
3D panel uses its own pinhole projection of a view camera that orbits the scene centre.
Nothing grows with the clip length except the per-frame lookup tables built once in
:class:`Renderer` (a few bytes per frame and person).

Layout: ``[ input + 2D | 3D (HoT) ]``. The left panel is the input frame at its own size
(scaled down above ``max_height``, up below ``min_height``), the right panel has the same height;
both widths and the height are even (H.264 yuv420p needs that).

This module lays the two panels out and composes the frame; the drawing is in
:mod:`hotdemo.render.overlay` (left panel), :mod:`hotdemo.render.panel3d` (right panel) and
:mod:`hotdemo.render.style` (colours, labels).
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

from hotdemo.core.types import Track2D, Track3D, VideoInfo
from hotdemo.render.overlay import Overlay2D
from hotdemo.render.panel3d import MAIN_FILL, TRAIL_SECONDS, VIEWS, Panel3D, main_track_index, ranked_tracks
from hotdemo.render.style import CENTER_RGB, LEFT_RGB, RIGHT_RGB, TRACK_PALETTE, _even, track_color

#: this module's own class, and the public names it held before the split (now in .panel3d, .style)
__all__ = ["Renderer", "VIEWS", "MAIN_FILL", "TRAIL_SECONDS", "main_track_index", "ranked_tracks",
           "LEFT_RGB", "RIGHT_RGB", "CENTER_RGB", "TRACK_PALETTE", "track_color"]


def _row_table(frames_list: Sequence[np.ndarray], n_frames: int) -> np.ndarray:
    """(P, n_frames) int32: row of track p at frame i, or -1."""
    table = np.full((len(frames_list), n_frames), -1, np.int32)
    for p, fr in enumerate(frames_list):
        fr = np.asarray(fr, np.int64)
        ok = (fr >= 0) & (fr < n_frames)
        table[p, fr[ok]] = np.flatnonzero(ok).astype(np.int32)
    return table


class Renderer(Overlay2D, Panel3D):
    """Draw one output frame per input frame (see module docstring).

    ``tracks2d``: pixel keypoints of the input video (any joint format, COCO-17 normally).
    ``tracks3d``: Human3.6M-17 tracks in the world frame, ``joints_world`` set (z up, floor
    z = 0), as :func:`hotdemo.pipeline.lift_to_world` / :func:`hotdemo.post.world.to_world` give them;
    the renderer draws them as they are (one alignment, shared with the exports).
    ``deg_per_s``: orbit speed of the 3D view (0: fixed view); ``azimuth_deg`` 0 looks along
    world +y, i.e. from where the input camera stood; ``elevation_deg`` looks down onto the floor.
    """

    def __init__(self, info: VideoInfo, tracks2d: Sequence[Track2D], tracks3d: Sequence[Track3D], *,
                 deg_per_s: float = 10.0, elevation_deg: float = 15.0, azimuth_deg: float = 0.0,
                 fps: Optional[float] = None, max_height: int = 1080, min_height: int = 360,
                 score_threshold: float = 0.3, fov_deg: float = 40.0,
                 titles: Tuple[str, str] = ("input + 2D", "3D (HoT)"), grid_step: float = 0.5,
                 view: str = "main"):
        if view not in VIEWS:
            raise ValueError(f"view must be one of {', '.join(VIEWS)}, got {view!r}")
        self.view_mode = view
        self.grid_step = float(grid_step)
        self.info = info
        self.fps = float(fps or info.fps or 25.0)
        self.deg_per_s = float(deg_per_s)
        self.elevation = math.radians(elevation_deg)
        self.azimuth0 = math.radians(azimuth_deg)
        self.score_threshold = float(score_threshold)
        self.titles = titles

        # ---- layout
        in_w, in_h = max(int(info.width), 2), max(int(info.height), 2)
        s = 1.0
        if in_h > max_height:
            s = max_height / in_h
        elif in_h < min_height:
            s = min_height / in_h
        self.left_w, self.h = _even(in_w * s), _even(in_h * s)
        self.right_w = self.left_w if self.left_w >= 0.75 * self.h else _even(0.75 * self.h)
        self.sx, self.sy = self.left_w / in_w, self.h / in_h
        self.output_size = (self.left_w + self.right_w, self.h)
        u = self.h / 720.0  # size unit: 1 at 720p
        self.u = u
        self.title_scale = max(0.45, 0.9 * u)
        self.title_thick = max(1, int(round(1.6 * u)))
        self.label_scale = max(0.4, 0.6 * u)

        # ---- per-frame lookups
        tracks3d = list(tracks3d)
        if any(t.joints_world is None for t in tracks3d):
            raise ValueError("Renderer needs world-frame 3D tracks (joints_world); align them first with "
                             "hotdemo.post.world.to_world, as hotdemo.pipeline.lift_to_world does")
        last = [int(t.frames.max()) + 1 for t in list(tracks2d) + tracks3d if len(t)]
        self.n_frames = max([int(info.frame_count)] + last + [0])
        self.t2 = [t for t in tracks2d if len(t)]
        self.t3 = [t for t in tracks3d if len(t)]
        self.rows2d = _row_table([t.frames for t in self.t2], self.n_frames)
        self.rows3d = _row_table([t.frames for t in self.t3], self.n_frames)
        self._setup_2d()
        self._setup_3d(view, fov_deg)

        # ---- preallocated buffers
        Wt = self.output_size[0]
        self.out = np.zeros((self.h, Wt, 3), np.uint8)
        yy = np.linspace(0, 1, self.h)[:, None, None]
        top_c, bot_c = np.array([22, 24, 30.0]), np.array([44, 48, 58.0])
        self.bg = np.ascontiguousarray(np.broadcast_to(top_c + (bot_c - top_c) * yy, (self.h, self.right_w, 3)), np.uint8)
        for v in self.views:
            v.static = None  # background + floor for a fixed camera

    # ------------------------------------------------------------------ frame
    def render(self, frame_rgb: np.ndarray, frame_index: int) -> np.ndarray:
        """The output frame (H, W, 3) RGB uint8 for input frame ``frame_index``, drawn into a
        buffer of the renderer's own that the next call reuses: copy it to keep it."""
        out = self.out
        left = out[:, : self.left_w]
        right = out[:, self.left_w:]
        if frame_rgb.shape[:2] == (self.h, self.left_w):
            np.copyto(left, frame_rgb)
        else:
            interp = cv2.INTER_AREA if frame_rgb.shape[0] > self.h else cv2.INTER_LINEAR
            left[:] = cv2.resize(frame_rgb, (self.left_w, self.h), interpolation=interp)
        self.render_2d(left, frame_index)
        self.render_3d(right, frame_index)
        return out
