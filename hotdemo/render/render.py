"""Side-by-side renderer: the input frame with 2D skeletons | the 3D skeletons on a floor grid.

Everything is drawn with OpenCV into preallocated buffers, one frame in, one frame out; the
3D panel uses its own pinhole projection of a view camera that orbits the scene centre.
Nothing grows with the clip length except the per-frame lookup tables built once in
:class:`Renderer` (a few bytes per frame and person).

Layout: ``[ input + 2D | 3D (HoT) ]``. The left panel is the input frame at its own size
(scaled down above ``max_height``, up below ``min_height``), the right panel has the same height;
both widths and the height are even (H.264 yuv420p needs that).

Colours (RGB): the subject's left side blue, right side red, centre line light grey, in both
panels; each track also has its own colour for its box, ID label and floor ring.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from hotdemo.core.skeletons import H36M17, Skeleton, get_skeleton
from hotdemo.core.types import Track2D, Track3D, VideoInfo

LEFT_RGB = (40, 140, 255)
RIGHT_RGB = (255, 70, 60)
CENTER_RGB = (235, 235, 235)
#: distinct colours for track IDs (RGB)
TRACK_PALETTE = np.array([
    (255, 196, 0), (0, 220, 140), (200, 90, 255), (255, 120, 190), (120, 220, 255),
    (170, 255, 80), (255, 150, 60), (110, 140, 255), (240, 240, 120), (80, 255, 230),
], dtype=np.uint8)
_FONT = cv2.FONT_HERSHEY_DUPLEX
_SHIFT = 4  # fixed-point bits for sub-pixel line endpoints
_ONE = 1 << _SHIFT


#: seconds of path behind each moving person in the 3D panel
TRAIL_SECONDS = 2.0


def _even(x: float) -> int:
    return max(2, int(round(x / 2.0)) * 2)


def track_color(track_id: int) -> Tuple[int, int, int]:
    return tuple(int(c) for c in TRACK_PALETTE[int(track_id) % len(TRACK_PALETTE)])


def _side_colors(sk: Skeleton) -> np.ndarray:
    lut = {"left": LEFT_RGB, "right": RIGHT_RGB, "center": CENTER_RGB}
    return np.array([lut[sk.edge_side(e)] for e in sk.edges], dtype=np.float64)


def _joint_colors(sk: Skeleton) -> np.ndarray:
    c = np.tile(np.array(CENTER_RGB, np.float64), (sk.num_joints, 1))
    c[list(sk.left)] = LEFT_RGB
    c[list(sk.right)] = RIGHT_RGB
    return c


def _row_table(frames_list: Sequence[np.ndarray], n_frames: int) -> np.ndarray:
    """(P, n_frames) int32: row of track p at frame i, or -1."""
    table = np.full((len(frames_list), n_frames), -1, np.int32)
    for p, fr in enumerate(frames_list):
        fr = np.asarray(fr, np.int64)
        ok = (fr >= 0) & (fr < n_frames)
        table[p, fr[ok]] = np.flatnonzero(ok).astype(np.int32)
    return table


@functools.lru_cache(maxsize=512)
def _label_image(text: str, scale: float, fg: tuple, bg: tuple, thick: int) -> np.ndarray:
    """A label (text on a filled box) drawn once and reused: putText is the costliest call per frame."""
    (tw, th), base = cv2.getTextSize(text, _FONT, scale, thick)
    pad = max(2, int(round(th * 0.3)))
    img = np.empty((th + base + 2 * pad + 1, tw + 2 * pad + 1, 3), np.uint8)
    img[:] = bg
    cv2.putText(img, text, (pad, th + pad), _FONT, scale, fg, thick, cv2.LINE_AA)
    img.setflags(write=False)
    return img


def _label(img: np.ndarray, text: str, org: Tuple[int, int], scale: float, fg, bg, thick: int = 1) -> None:
    """Text with a filled background box; ``org`` is the box's bottom-left corner (kept inside ``img``)."""
    lab = _label_image(text, float(scale), tuple(int(c) for c in fg), tuple(int(c) for c in bg), int(thick))
    h, w = lab.shape[:2]
    H, W = img.shape[:2]
    x = min(max(int(org[0]), 0), max(W - w + 1, 0))
    y = min(max(int(org[1]), h - 1), H) - (h - 1)  # top row
    y0, x0 = max(y, 0), max(x, 0)
    y1, x1 = min(y + h, H), min(x + w, W)
    if y1 > y0 and x1 > x0:
        np.copyto(img[y0:y1, x0:x1], lab[y0 - y: y1 - y, x0 - x: x1 - x])


@functools.lru_cache(maxsize=16)
def _title_image(text: str, scale: float, thick: int) -> np.ndarray:
    (tw, th), base = cv2.getTextSize(text, _FONT, scale, thick)
    pad = int(round(th * 0.6))
    img = np.zeros((th + base + 2 * pad, tw + 3 * pad, 3), np.uint8)
    cv2.putText(img, text, (int(1.5 * pad), th + pad), _FONT, scale, (255, 255, 255), thick, cv2.LINE_AA)
    img.setflags(write=False)
    return img


def _title(img: np.ndarray, text: str, scale: float, thick: int) -> None:
    """Title at the top-left corner on a darkened band (halves the pixels under it); the white
    text is drawn once and laid over the band with a per-pixel maximum."""
    t = _title_image(text, float(scale), int(thick))
    roi = img[: t.shape[0], : t.shape[1]]
    roi >>= 1
    np.maximum(roi, t[: roi.shape[0], : roi.shape[1]], out=roi)


#: the 3D panel's modes (``--view``): see :class:`Renderer`
VIEWS = ("main", "scene", "grid")
#: fraction of a person-view panel's height that the followed person's standing height fills
MAIN_FILL = 0.72


@dataclass
class _View3D:
    """One 3D panel: its place in the right panel, and its camera (centre per frame, distance)."""

    x0: int
    y0: int
    w: int
    h: int
    centre: np.ndarray  # (n_frames, 3) or (1, 3): the point the camera looks at and orbits
    dist: float  # metres from the camera to ``centre``; constant over the clip (steady scale)
    focal: float  # pixels
    radius: float  # metres, depth range for the near-brighter shading
    only: Optional[np.ndarray]  # indices of the tracks drawn in this panel (None: all)
    grid_a: np.ndarray
    grid_b: np.ndarray
    floor: np.ndarray
    static: Optional[np.ndarray] = None


def _person_height(jw: np.ndarray) -> float:
    """Standing height (metres) of world joints (T, 17, 3): 90th percentile of head - lowest joint."""
    h = jw[:, H36M17.index("head"), 2] - jw[:, :, 2].min(axis=1)
    h = h[np.isfinite(h)]
    return float(np.clip(np.percentile(h, 90), 0.5, 2.5)) if len(h) else 1.7


def ranked_tracks(tracks3d: Sequence[Track3D], tracks2d: Sequence[Track2D] = ()) -> List[int]:
    """Indices of ``tracks3d`` from the main person down: by frames x median 2D box height (the
    longest / largest track; the 3D height stands in for the box without a 2D track), ties by ID."""
    boxes = {t.track_id: t for t in tracks2d if len(t)}

    def size(i: int) -> float:
        t = tracks3d[i]
        t2 = boxes.get(t.track_id)
        if t2 is not None:
            return float(np.median(t2.boxes[:, 3] - t2.boxes[:, 1]))
        return 100.0 * _person_height(np.asarray(t.joints_world)) if t.joints_world is not None else 1.0

    return sorted(range(len(tracks3d)), key=lambda i: (-len(tracks3d[i]) * size(i), tracks3d[i].track_id))


def main_track_index(tracks3d: Sequence[Track3D], tracks2d: Sequence[Track2D] = ()) -> int:
    """Index in ``tracks3d`` of the main person (see :func:`ranked_tracks`); 0 when empty."""
    r = ranked_tracks(tracks3d, tracks2d)
    return r[0] if r else 0


def _follow(xy: np.ndarray, frames: np.ndarray, n_frames: int, sigma: float) -> np.ndarray:
    """(n_frames, 2) a track's floor position at every frame of the clip: interpolated inside the
    track, held before and after it, then Gaussian-smoothed over time (``sigma`` frames)."""
    from scipy.ndimage import gaussian_filter1d

    ok = np.isfinite(xy).all(axis=1)
    if not ok.any():
        return np.zeros((max(n_frames, 1), 2))
    f, xy = np.asarray(frames)[ok], xy[ok]
    t = np.arange(max(n_frames, 1))
    out = np.stack([np.interp(t, f, xy[:, 0]), np.interp(t, f, xy[:, 1])], 1)
    return gaussian_filter1d(out, sigma, axis=0, mode="nearest") if sigma > 0 and len(out) > 1 else out


def _clip_near(q: np.ndarray, near: float) -> np.ndarray:
    """Clip a convex polygon (N, 3) in camera coordinates to the half-space z >= near."""
    out = []
    n = len(q)
    for i in range(n):
        a, b = q[i], q[(i + 1) % n]
        ina, inb = a[2] >= near, b[2] >= near
        if ina:
            out.append(a)
        if ina != inb:
            t = (near - a[2]) / (b[2] - a[2])
            out.append(a + t * (b - a))
    return np.array(out).reshape(-1, 3)


def _on_panel(uv: np.ndarray, w: int, h: int) -> bool:
    """Whether any of the points (N, 2) lies inside a w x h panel."""
    return bool(((uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)).any())


class Renderer:
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
        self.kp2d = [t.keypoints.astype(np.float32) * np.float32([self.sx, self.sy]) for t in self.t2]
        self.box2d = [t.boxes.astype(np.float32) * np.float32([self.sx, self.sy, self.sx, self.sy]) for t in self.t2]
        self.sk2d = [get_skeleton(t.joint_format) for t in self.t2]
        self.col2d = [(_side_colors(sk), _joint_colors(sk)) for sk in self.sk2d]
        self.jw = [np.asarray(t.joints_world, np.float64) for t in self.t3]
        #: people with a root trajectory (``--trajectory camera``) get a fading trail on the floor
        self.trail_frames = max(2, int(round(TRAIL_SECONDS * self.fps)))
        self.moves = [t.root_cam is not None for t in self.t3]
        self.contacts = [None if t.contacts is None else np.asarray(t.contacts, bool) for t in self.t3]

        # ---- 2D drawing constants
        self.line2d = max(1, int(round(3 * u)))
        self.dot2d = max(2, int(round(4 * u)))

        # ---- 3D panel(s): one steady scale per panel for the whole clip
        self.sk3 = H36M17
        self.edges3 = np.array(H36M17.edges, np.int64)
        self.edge_rgb3 = _side_colors(H36M17)
        self.joint_rgb3 = _joint_colors(H36M17)
        self.half_fov = math.radians(fov_deg) / 2
        self.line3d = 3.2 * u
        self.dot3d = 3.6 * u
        ang = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        self.ring = np.stack([0.28 * np.cos(ang), 0.28 * np.sin(ang), np.zeros_like(ang)], 1)
        allj = np.concatenate([j.reshape(-1, 3) for j in self.jw]) if self.jw else np.zeros((0, 3))
        allj = allj[np.isfinite(allj).all(axis=1)]
        self.main_index = main_track_index(self.t3, self.t2)
        if view == "scene" or not self.t3:
            self.views = [self._scene_view(allj, self.right_w, self.h)]
        elif view == "main":
            self.views = [self._person_view([self.main_index], None, self.right_w, self.h, allj)]
        else:  # grid: the (up to) 4 main people, one panel each, one common scale
            order = ranked_tracks(self.t3, self.t2)[:4]
            n = len(order)
            cols, rows = (1, 1) if n == 1 else (2, 1) if n == 2 else (2, 2)
            cw, ch = self.right_w // cols, self.h // rows
            height = max(_person_height(self.jw[p]) for p in order)
            self.views = []
            for k, p in enumerate(order):
                v = self._person_view([p], [p], cw, ch, allj, height=height)
                v.x0, v.y0 = (k % cols) * cw, (k // cols) * ch
                self.views.append(v)
        # legacy names (view 0): steady scale = one distance and focal length for the clip
        self.focal, self.dist = self.views[0].focal, self.views[0].dist
        self.scene_radius = self.views[0].radius

        # ---- preallocated buffers
        Wt = self.output_size[0]
        self.out = np.zeros((self.h, Wt, 3), np.uint8)
        yy = np.linspace(0, 1, self.h)[:, None, None]
        top_c, bot_c = np.array([22, 24, 30.0]), np.array([44, 48, 58.0])
        self.bg = np.ascontiguousarray(np.broadcast_to(top_c + (bot_c - top_c) * yy, (self.h, self.right_w, 3)), np.uint8)
        for v in self.views:
            v.static = None  # background + floor for a fixed camera

    # ------------------------------------------------------------------ 3D views
    def _floor_grid(self, cxy: np.ndarray, g: float, grid_step: float = 0.5) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        ticks = np.arange(-g, g + 1e-9, grid_step)
        a = np.stack([np.stack([ticks, np.full_like(ticks, -g)], 1), np.stack([np.full_like(ticks, -g), ticks], 1)])
        b = np.stack([np.stack([ticks, np.full_like(ticks, g)], 1), np.stack([np.full_like(ticks, g), ticks], 1)])
        ga = np.concatenate([a.reshape(-1, 2) + cxy, np.zeros((a.size // 2, 1))], 1)
        gb = np.concatenate([b.reshape(-1, 2) + cxy, np.zeros((b.size // 2, 1))], 1)
        floor = np.array([[-g, -g, 0], [g, -g, 0], [g, g, 0], [-g, g, 0]], np.float64) + [cxy[0], cxy[1], 0]
        return ga, gb, floor

    def _scene_view(self, allj: np.ndarray, w: int, h: int) -> "_View3D":
        """Today's whole-scene view: every person in the panel at every frame and view angle."""
        if len(allj):
            lo, hi = np.percentile(allj, 0.2, axis=0), np.percentile(allj, 99.8, axis=0)
            cxy = 0.5 * (lo[:2] + hi[:2])
            top = max(float(hi[2]), 1.0)
            radius = float(np.percentile(np.linalg.norm(allj[:, :2] - cxy, axis=1), 99.8))
        else:
            cxy, top, radius = np.zeros(2), 1.8, 0.5
        top += 0.3  # room for the ID labels above the heads
        scene_radius = math.sqrt(max(radius, 0.4) ** 2 + (0.5 * top) ** 2)
        focal = 0.5 * h / math.tan(self.half_fov)
        dist = 1.05 * scene_radius / math.sin(self.half_fov)
        g = self.grid_step * math.ceil((max(radius, 0.5) + 0.75) / self.grid_step)
        ga, gb, floor = self._floor_grid(cxy, g, self.grid_step)
        centre = np.array([[cxy[0], cxy[1], 0.5 * top]])
        return _View3D(0, 0, w, h, centre, dist, focal, scene_radius, None, ga, gb, floor)

    def _person_view(self, people: List[int], only: Optional[List[int]], w: int, h: int, allj: np.ndarray,
                     height: Optional[float] = None) -> "_View3D":
        """A camera that follows ``people[0]`` (its pelvis, smoothed over ~1 s) at a fixed distance
        chosen so that this person's standing height fills :data:`MAIN_FILL` of the panel height."""
        p = people[0]
        height = height or _person_height(self.jw[p])
        focal = 0.5 * h / math.tan(self.half_fov)
        dist = focal * height / (MAIN_FILL * h)
        cxy = _follow(self.jw[p][:, 0, :2], self.t3[p].frames, self.n_frames, sigma=self.fps)
        top = height + 0.3  # room for the ID label above the head
        centre = np.concatenate([cxy, np.full((len(cxy), 1), 0.5 * top)], 1)
        if len(allj):  # floor under the whole scene and around the followed person
            lo = np.minimum(allj[:, :2].min(0), cxy.min(0)) - 1.5
            hi = np.maximum(allj[:, :2].max(0), cxy.max(0)) + 1.5
        else:
            lo, hi = cxy.min(0) - 1.5, cxy.max(0) + 1.5
        step = self.grid_step
        while float(np.max(hi - lo)) / step > 48:  # a wide scene: coarser lines, not hundreds
            step *= 2
        mid = np.round(0.5 * (lo + hi) / step) * step
        g = step * math.ceil(float(np.max(hi - lo)) / 2 / step)
        ga, gb, floor = self._floor_grid(mid, g, step)
        return _View3D(0, 0, w, h, centre, dist, focal, max(height, 1.0),
                       None if only is None else np.array(only, np.int64), ga, gb, floor)

    def view(self, frame_index: int, k: int = 0) -> Tuple[np.ndarray, np.ndarray]:
        """(camera centre (3,), rotation (3, 3) with rows right, down, forward) of 3D panel ``k`` at a frame."""
        v = self.views[k]
        az = self.azimuth0 + math.radians(self.deg_per_s) * frame_index / self.fps
        el = self.elevation
        fwd = np.array([math.sin(az) * math.cos(el), math.cos(az) * math.cos(el), -math.sin(el)])
        right = np.array([math.cos(az), -math.sin(az), 0.0])  # fwd x z, normalised
        down = np.cross(fwd, right)
        centre = v.centre[min(max(frame_index, 0), len(v.centre) - 1)]
        return centre - v.dist * fwd, np.stack([right, down, fwd])

    def project(self, pts: np.ndarray, cam: np.ndarray, M: np.ndarray, k: int = 0) -> Tuple[np.ndarray, np.ndarray]:
        """World points (..., 3) -> pixels (..., 2) of 3D panel ``k`` and depth (...)."""
        v = self.views[k]
        q = (pts - cam) @ M.T
        z = np.maximum(q[..., 2], 1e-3)
        uv = v.focal * q[..., :2] / z[..., None] + np.array([v.w / 2.0, v.h / 2.0])
        return uv, q[..., 2]

    def _draw_floor(self, panel: np.ndarray, cam: np.ndarray, M: np.ndarray, k: int) -> None:
        v = self.views[k]
        near = 0.05
        c = np.array([v.w / 2.0, v.h / 2.0])
        poly = _clip_near((v.floor - cam) @ M.T, near)
        if len(poly) >= 3:
            fuv = v.focal * poly[:, :2] / poly[:, 2:] + c
            cv2.fillPoly(panel, [np.round(fuv * _ONE).astype(np.int32)], (52, 56, 66), cv2.LINE_AA, _SHIFT)
        qa = (v.grid_a - cam) @ M.T
        qb = (v.grid_b - cam) @ M.T
        za, zb = qa[:, 2], qb[:, 2]
        ok = (za > near) | (zb > near)
        # clip segments that cross the near plane at their crossing point
        dz = zb - za
        t = (near - za) / np.where(np.abs(dz) < 1e-9, 1e-9, dz)
        cross = qa + t[:, None] * (qb - qa)
        qa_c = np.where((za < near)[:, None], cross, qa)
        qb_c = np.where((zb < near)[:, None], cross, qb)
        pa = v.focal * qa_c[:, :2] / np.maximum(qa_c[:, 2:], near) + c
        pb = v.focal * qb_c[:, :2] / np.maximum(qb_c[:, 2:], near) + c
        pa = np.round(np.clip(pa, -1e6, 1e6) * _ONE).astype(np.int64)[ok]
        pb = np.round(np.clip(pb, -1e6, 1e6) * _ONE).astype(np.int64)[ok]
        thick = max(1, int(round(self.u * min(1.0, v.h / self.h * 1.5))))
        for (x1, y1), (x2, y2) in zip(pa.tolist(), pb.tolist()):
            cv2.line(panel, (x1, y1), (x2, y2), (84, 90, 104), thick, cv2.LINE_AA, _SHIFT)

    def _draw_people3d(self, panel: np.ndarray, frame_index: int, cam: np.ndarray, M: np.ndarray, k: int) -> None:
        if frame_index >= self.n_frames or not self.t3:
            return
        v = self.views[k]
        rows = self.rows3d[:, frame_index]
        people = np.flatnonzero(rows >= 0)
        if v.only is not None:
            people = np.intersect1d(people, v.only)
        if len(people) == 0:
            return
        J = np.stack([self.jw[p][rows[p]] for p in people])  # (P, 17, 3)
        ok = np.isfinite(J).all(axis=(1, 2))
        J, people = J[ok], people[ok]
        if len(J) == 0:
            return
        near = 0.05
        scale = v.h / self.h  # line widths and labels shrink with a sub-panel
        W, H = v.w, v.h
        # the last TRAIL_SECONDS of each moving person's path on the floor, fading with age
        for p in people:
            if self.moves[p]:
                self._draw_trail(panel, p, frame_index, cam, M, k, scale)
        # floor rings (shadows) under each person's feet, in the track's colour
        feet = J[:, [self.sk3.index("left_ankle"), self.sk3.index("right_ankle")], :2].mean(axis=1)
        for i, p in enumerate(people):
            ring = self.ring + [feet[i, 0], feet[i, 1], 0.0]
            ruv, rz = self.project(ring, cam, M, k)
            if (rz > near).all() and _on_panel(ruv, W, H):
                pts = np.round(ruv * _ONE).astype(np.int32)
                cv2.fillPoly(panel, [pts], (30, 32, 38), cv2.LINE_AA, _SHIFT)
                cv2.polylines(panel, [pts], True, track_color(self.t3[p].track_id),
                              max(1, int(round(1.5 * self.u * scale))), cv2.LINE_AA, _SHIFT)
        # a foot on the floor (a contact) gets a small filled mark under it
        ankles = (self.sk3.index("left_ankle"), self.sk3.index("right_ankle"))
        for i, p in enumerate(people):
            c = self.contacts[p]
            if c is None:
                continue
            for side, a_ in enumerate(ankles):
                if c[rows[p], side]:
                    foot = np.array([J[i, a_, 0], J[i, a_, 1], 0.0])
                    fuv, fz = self.project(foot, cam, M, k)
                    if fz > near:
                        r_px = max(2, int(round(0.04 * v.focal / fz)))
                        cv2.circle(panel, (int(round(float(fuv[0]) * _ONE)), int(round(float(fuv[1]) * _ONE))),
                                   r_px * _ONE, track_color(self.t3[p].track_id), -1, cv2.LINE_AA, _SHIFT)
        uv, z = self.project(J, cam, M, k)  # (P, 17, 2), (P, 17)
        zmid = v.dist
        shade = np.clip(1.15 - 0.35 * (z - zmid) / v.radius, 0.6, 1.15)  # nearer = brighter
        a, b = self.edges3[:, 0], self.edges3[:, 1]
        seg_z = 0.5 * (z[:, a] + z[:, b])  # (P, E)
        seg_front = np.minimum(z[:, a], z[:, b]) > near
        seg_col = np.clip(self.edge_rgb3[None] * (0.5 * (shade[:, a] + shade[:, b]))[..., None], 0, 255)
        seg_w = np.clip(self.line3d * scale * zmid / np.maximum(seg_z, 0.1), 1, 12)
        jcol = np.clip(self.joint_rgb3[None] * shade[..., None], 0, 255)
        jrad = np.clip(self.dot3d * scale * zmid / np.maximum(z, 0.1), 1.5, 14)
        ui = np.round(np.clip(uv, -1e6, 1e6) * _ONE).astype(np.int64).tolist()  # Python ints for OpenCV
        P, E = seg_z.shape
        # painter's order over bones and joints of everybody: far first
        items_z = np.concatenate([seg_z.ravel(), z.ravel() - 1e-3])
        order = np.argsort(-items_z, kind="stable")
        nE = P * E
        for kk in order.tolist():
            if kk < nE:
                p, e = divmod(kk, E)
                if not seg_front[p, e]:
                    continue
                cv2.line(panel, ui[p][a[e]], ui[p][b[e]], seg_col[p, e].tolist(),
                         int(round(float(seg_w[p, e]))), cv2.LINE_AA, _SHIFT)
            else:
                p, j = divmod(kk - nE, 17)
                if z[p, j] <= near:
                    continue
                cv2.circle(panel, ui[p][j], int(round(float(jrad[p, j]) * _ONE)), jcol[p, j].tolist(), -1,
                           cv2.LINE_AA, _SHIFT)
        # ID labels above the heads (only for heads inside the panel)
        head = self.sk3.index("head")
        lscale = max(0.35, self.label_scale * min(1.0, 1.3 * scale))
        for i, p in enumerate(people):
            top = J[i, head] + [0, 0, 0.22]
            tuv, tz = self.project(top, cam, M, k)
            if tz > near and 0 <= tuv[0] < W and 0 <= tuv[1] < H + 20:
                text = f"ID {self.t3[p].track_id}"
                (tw, _), _ = cv2.getTextSize(text, _FONT, lscale, 1)
                _label(panel, text, (tuv[0] - tw / 2, tuv[1]), lscale, (20, 20, 20),
                       track_color(self.t3[p].track_id), max(1, int(round(self.u * scale))))

    def _draw_trail(self, panel: np.ndarray, p: int, frame_index: int, cam: np.ndarray, M: np.ndarray, k: int,
                    scale: float) -> None:
        fr = self.t3[p].frames
        hi = int(np.searchsorted(fr, frame_index, side="right"))
        lo = int(np.searchsorted(fr, frame_index - self.trail_frames, side="left"))
        if hi - lo < 2:
            return
        pts = self.jw[p][lo:hi, 0].copy()
        pts[:, 2] = 0.0  # on the floor, below the pelvis
        uv, z = self.project(pts, cam, M, k)
        colour = np.asarray(track_color(self.t3[p].track_id), np.float64)
        bg = np.array([40.0, 44.0, 52.0])
        width = max(1, int(round(2.0 * self.u * scale)))
        age = (frame_index - fr[lo:hi]) / float(self.trail_frames)  # 0 now, 1 oldest
        ui = np.round(np.clip(uv, -1e6, 1e6) * _ONE).astype(np.int64).tolist()
        for i in range(len(pts) - 1):
            if z[i] > 0.05 and z[i + 1] > 0.05:
                a = float(1.0 - age[i + 1])
                cv2.line(panel, ui[i], ui[i + 1], (bg + (colour - bg) * a).tolist(), width, cv2.LINE_AA, _SHIFT)

    def render_3d(self, panel: np.ndarray, frame_index: int) -> None:
        """Draw the 3D panel(s) into ``panel`` (the right part of the output frame)."""
        if len(self.views) > 1:
            panel[:] = self.bg
        for k, v in enumerate(self.views):
            sub = panel[v.y0: v.y0 + v.h, v.x0: v.x0 + v.w]
            cam, M = self.view(frame_index, k)
            fixed = self.deg_per_s == 0 and len(v.centre) == 1
            if fixed:
                if v.static is None:
                    v.static = self.bg[v.y0: v.y0 + v.h, : v.w].copy()
                    self._draw_floor(v.static, cam, M, k)
                np.copyto(sub, v.static)
            else:
                np.copyto(sub, self.bg[v.y0: v.y0 + v.h, : v.w])
                self._draw_floor(sub, cam, M, k)
            self._draw_people3d(sub, frame_index, cam, M, k)
            if len(self.views) > 1:  # thin frame between the grid's panels
                cv2.rectangle(sub, (0, 0), (v.w - 1, v.h - 1), (70, 74, 86), 1)
        if self.titles and self.titles[1]:
            _title(panel, self.titles[1], self.title_scale, self.title_thick)

    # ------------------------------------------------------------------ 2D overlay
    def render_2d(self, img: np.ndarray, frame_index: int) -> None:
        if frame_index < self.n_frames and self.t2:
            rows = self.rows2d[:, frame_index]
            for p in np.flatnonzero(rows >= 0).tolist():
                self._draw_person2d(img, p, int(rows[p]))
        if self.titles and self.titles[0]:
            _title(img, self.titles[0], self.title_scale, self.title_thick)

    def _draw_person2d(self, img: np.ndarray, p: int, r: int) -> None:
        sk = self.sk2d[p]
        kp, sc, box = self.kp2d[p][r], self.t2[p].scores[r], self.box2d[p][r]
        if not np.isfinite(kp).all():
            return
        H, W = img.shape[:2]
        col = track_color(self.t2[p].track_id)
        x1, y1, x2, y2 = (int(round(v)) for v in box.tolist())
        cv2.rectangle(img, (x1, y1), (x2, y2), col, max(1, int(round(1.2 * self.u))), cv2.LINE_AA)
        _label(img, f"ID {self.t2[p].track_id}", (x1, y1), self.label_scale, (20, 20, 20), col,
               max(1, int(round(self.u))))
        edges = np.array(sk.edges)
        conf = np.minimum(sc[edges[:, 0]], sc[edges[:, 1]])
        ecol, jcol = self.col2d[p]
        ip = np.round(kp * _ONE).astype(np.int64)
        ipl = ip.tolist()
        weak_e = conf < self.score_threshold
        weak_j = sc < self.score_threshold
        if weak_e.any() or weak_j.any():  # faded layer, blended over the box region only
            pad = 4 * self.line2d
            wx = kp[:, 0]
            wy = kp[:, 1]
            bx1 = int(max(0, min(x1, wx.min()) - pad))
            by1 = int(max(0, min(y1, wy.min()) - pad))
            bx2 = int(min(W, max(x2, wx.max()) + pad))
            by2 = int(min(H, max(y2, wy.max()) + pad))
            if bx2 > bx1 and by2 > by1:
                roi = img[by1:by2, bx1:bx2]
                layer = roi.copy()
                off = np.array([bx1, by1]) * _ONE
                for e in np.flatnonzero(weak_e).tolist():
                    a, b = edges[e].tolist()
                    cv2.line(layer, (ip[a] - off).tolist(), (ip[b] - off).tolist(), ecol[e].tolist(),
                             self.line2d, cv2.LINE_AA, _SHIFT)
                for j in np.flatnonzero(weak_j).tolist():
                    cv2.circle(layer, (ip[j] - off).tolist(), self.dot2d * _ONE, jcol[j].tolist(), -1,
                               cv2.LINE_AA, _SHIFT)
                cv2.addWeighted(layer, 0.35, roi, 0.65, 0, dst=roi)
        for e in np.flatnonzero(~weak_e).tolist():
            a, b = edges[e].tolist()
            cv2.line(img, ipl[a], ipl[b], ecol[e].tolist(), self.line2d, cv2.LINE_AA, _SHIFT)
        for j in np.flatnonzero(~weak_j).tolist():
            cv2.circle(img, ipl[j], self.dot2d * _ONE, jcol[j].tolist(), -1, cv2.LINE_AA, _SHIFT)
            cv2.circle(img, ipl[j], self.dot2d * _ONE, (20, 20, 20), 1, cv2.LINE_AA, _SHIFT)

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
