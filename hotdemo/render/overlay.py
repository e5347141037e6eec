"""The left panel's overlay: each tracked person's box, ID label and 2D skeleton on the input
frame; joints and bones under the score threshold are drawn faded."""

from __future__ import annotations

import numpy as np
import cv2

from hotdemo.core.skeletons import get_skeleton
from hotdemo.render.style import _ONE, _SHIFT, _joint_colors, _label, _side_colors, _title, track_color


class Overlay2D:
    """The 2D overlay's part of :class:`hotdemo.render.render.Renderer` (a mixin): set up by
    :meth:`_setup_2d` from the renderer's scale (``sx``, ``sy``, ``u``) and 2D tracks (``t2``),
    drawn by :meth:`render_2d`."""

    def _setup_2d(self) -> None:
        """Keypoints and boxes at the output scale, skeletons and colours per 2D track."""
        u = self.u
        self.kp2d = [t.keypoints.astype(np.float32) * np.float32([self.sx, self.sy]) for t in self.t2]
        self.box2d = [t.boxes.astype(np.float32) * np.float32([self.sx, self.sy, self.sx, self.sy]) for t in self.t2]
        self.sk2d = [get_skeleton(t.joint_format) for t in self.t2]
        self.col2d = [(_side_colors(sk), _joint_colors(sk)) for sk in self.sk2d]
        self.line2d = max(1, int(round(3 * u)))
        self.dot2d = max(2, int(round(4 * u)))

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
