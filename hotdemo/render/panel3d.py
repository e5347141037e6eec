"""The 3D panel of the renderer: the views (whole scene, the main person, a grid of people),
their cameras orbiting the followed point, and the drawing of floor, trails, contacts and
skeletons in one pinhole projection per view.

Each view keeps one distance and focal length for the whole clip (a steady scale); a person
view follows its person's pelvis, smoothed over about a second. The world frame is
:mod:`hotdemo.post.world`'s: z up, floor z = 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from hotdemo.core.skeletons import H36M17
from hotdemo.core.types import Track2D, Track3D
from hotdemo.post.world import person_height
from hotdemo.render.style import _FONT, _ONE, _SHIFT, _joint_colors, _label, _side_colors, _title, track_color

#: seconds of path behind each moving person in the 3D panel
TRAIL_SECONDS = 2.0

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
    """Standing height (metres) that sizes a person in the 3D panel: the 90th percentile of head -
    lowest joint over the clip, within 0.5 - 2.5 m, 1.7 m when unknown (:func:`person_height`)."""
    return person_height(jw, percentile=90.0, default=1.7, limits=(0.5, 2.5))


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


class Panel3D:
    """The 3D panel's part of :class:`hotdemo.render.render.Renderer` (a mixin): set up by
    :meth:`_setup_3d` from the renderer's layout (``right_w``, ``h``, ``u``, ``fps``) and its
    per-track lookups (``t2``, ``t3``, ``n_frames``, ``rows3d``); :meth:`render_3d` draws on the
    renderer's background ``bg``."""

    def _setup_3d(self, view: str, fov_deg: float) -> None:
        """The 3D lookups and view(s): one steady scale per view for the whole clip."""
        u = self.u
        self.jw = [np.asarray(t.joints_world, np.float64) for t in self.t3]
        #: people with a root trajectory (``--trajectory camera``) get a fading trail on the floor
        self.trail_frames = max(2, int(round(TRAIL_SECONDS * self.fps)))
        self.moves = [t.root_cam is not None for t in self.t3]
        self.contacts = [None if t.contacts is None else np.asarray(t.contacts, bool) for t in self.t3]
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
