"""Multi-person tracking: persistent IDs, frame after frame.

:class:`Tracker` gives every detection a persistent integer ID:

* each track predicts its box with a constant-velocity model (smoothed velocity, damped while
  the track coasts without detections);
* detections are assigned to predictions with the Hungarian algorithm
  (``scipy.optimize.linear_sum_assignment``) on ``1 - IoU``; tracks left over are matched a
  second time on centre distance relative to the box size (fast motion, where IoU drops to 0),
  and low-confidence detections may only continue existing tracks (ByteTrack's idea);
* unmatched tracks coast for up to ``max_age`` frames (short occlusions keep the ID);
* a camera cut (:class:`CutDetector`: HSV colour-histogram change between consecutive frames)
  ends every track, so people after the cut get new IDs.

After the 2D pass the tracks are assembled, selected and converted in
:mod:`hotdemo.detect.assemble` (:func:`assemble_tracks`, :func:`select_tracks`, :func:`to_h36m`,
re-exported here).
"""

from __future__ import annotations

from typing import List, Optional

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from hotdemo.detect.assemble import assemble_tracks, select_tracks, to_h36m

__all__ = ["Tracker", "CutDetector", "iou_matrix", "assemble_tracks", "select_tracks", "to_h36m"]


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) IoU of x1 y1 x2 y2 boxes."""
    a = np.asarray(a, np.float32).reshape(-1, 4)
    b = np.asarray(b, np.float32).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0).astype(np.float32)


class CutDetector:
    """Detects camera cuts from the change of the HSV colour histogram between frames.

    The frame is shrunk to ``size`` px wide, its hue-saturation histogram (``bins``) is
    compared with the previous frame's by Bhattacharyya distance (0 same .. 1 disjoint);
    a distance above ``threshold`` is a cut.
    """

    def __init__(self, threshold: float = 0.5, bins=(16, 8), size: int = 96):
        self.threshold = threshold
        self.bins = tuple(bins)
        self.size = size
        self._prev: Optional[np.ndarray] = None
        self.last_distance = 0.0

    def reset(self) -> None:
        self._prev = None

    def _hist(self, frame: np.ndarray) -> np.ndarray:
        h, w = frame.shape[:2]
        small = cv2.resize(frame, (self.size, max(1, round(h * self.size / w))), interpolation=cv2.INTER_AREA)
        hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
        hist = cv2.calcHist([hsv], [0, 1], None, list(self.bins), [0, 180, 0, 256])
        return cv2.normalize(hist, hist).astype(np.float32)

    def __call__(self, frame: np.ndarray) -> bool:
        """True when ``frame`` starts a new shot (never for the first frame)."""
        hist = self._hist(frame)
        prev, self._prev = self._prev, hist
        if prev is None:
            self.last_distance = 0.0
            return False
        self.last_distance = float(cv2.compareHist(prev, hist, cv2.HISTCMP_BHATTACHARYYA))
        return self.last_distance > self.threshold


def _xyxy_to_cxcywh(b: np.ndarray) -> np.ndarray:
    return np.concatenate([(b[:, :2] + b[:, 2:4]) / 2, b[:, 2:4] - b[:, :2]], axis=1)


def _cxcywh_to_xyxy(s: np.ndarray) -> np.ndarray:
    return np.concatenate([s[:, :2] - s[:, 2:4] / 2, s[:, :2] + s[:, 2:4] / 2], axis=1)


class Tracker:
    """IoU + constant-velocity + Hungarian multi-object tracker with coasting and cut handling.

    Call :meth:`update` once per frame with that frame's detections (and the frame itself for
    cut detection); it returns one track ID per detection (``-1`` for a low-confidence
    detection that neither continues a track nor may start one). State lives in parallel
    arrays (one row per live track), so a frame costs a few vectorised operations.

    Parameters: ``iou_threshold`` minimum IoU for the first matching round;
    ``min_hits`` matches before a track is confirmed (a tentative track is matched after the
    confirmed ones and dies at its first miss; tracks of a shot's first frame are confirmed at
    once); ``dist_threshold`` maximum centre distance / sqrt(w*h of the prediction) for the second;
    ``max_age`` frames a track may coast unmatched; ``new_track_score`` minimum score to start
    a track; ``high_score`` detections below it only continue tracks; ``velocity_smoothing``
    weight of the newest velocity; ``cut_detector`` a :class:`CutDetector`, or None to disable.
    """

    def __init__(self, *, iou_threshold: float = 0.2, dist_threshold: float = 1.0, max_age: int = 30,
                 new_track_score: float = 0.4, high_score: float = 0.4, velocity_smoothing: float = 0.5,
                 coast_damping: float = 0.8, min_hits: int = 3,
                 cut_detector: Optional[CutDetector] = "default"):  # type: ignore[assignment]
        self.iou_threshold = iou_threshold
        self.dist_threshold = dist_threshold
        self.max_age = max_age
        self.new_track_score = new_track_score
        self.high_score = high_score
        self.alpha = velocity_smoothing
        self.damping = coast_damping
        self.min_hits = min_hits
        self.cut_detector = CutDetector() if cut_detector == "default" else cut_detector
        self.next_id = 0
        self.cuts: List[int] = []  # frame counters at which a cut was detected
        self.frame_count = 0
        self._new_shot = False  # a cut was found for the frame about to be updated
        self._clear()

    def _clear(self) -> None:
        self.ids = np.zeros(0, np.int64)
        self.state = np.zeros((0, 4), np.float64)  # cx cy w h at the last update
        self.vel = np.zeros((0, 4), np.float64)  # per frame
        self.age = np.zeros(0, np.int64)  # frames since the last match
        self.hits = np.zeros(0, np.int64)  # matched frames so far

    def reset(self) -> None:
        """Start a new video: end every track, and count frames, cuts and track IDs from zero,
        so a video's IDs do not depend on the videos this tracker saw before (a batch reuses
        one pipeline for its clips, each Ray worker its own). Within a video an ID is never
        reused: a cut ends the tracks and the people after it get new IDs."""
        self._clear()
        self.next_id = 0
        self.cuts = []
        self.frame_count = 0
        self._new_shot = False
        if self.cut_detector is not None:
            self.cut_detector.reset()

    def predict(self) -> np.ndarray:
        """Predicted (T, 4) x1 y1 x2 y2 boxes of the live tracks for the current frame."""
        steps = self.age[:, None] + 1
        # damped velocity while coasting: sum of damping^k over the coasted frames
        d = self.damping
        gain = np.where(steps > 1, (1 - d ** steps) / (1 - d), 1.0) if d < 1 else steps
        s = self.state + self.vel * gain
        s[:, 2:] = np.maximum(s[:, 2:], 1.0)
        return _cxcywh_to_xyxy(s)

    def _match(self, pred: np.ndarray, boxes: np.ndarray, tracks: np.ndarray, dets: np.ndarray):
        """Hungarian matching of ``tracks`` x ``dets`` (index arrays): IoU round, then distance round."""
        pairs = []
        if len(tracks) and len(dets):
            iou = iou_matrix(pred[tracks], boxes[dets])
            r, c = linear_sum_assignment(1.0 - iou)
            ok = iou[r, c] >= self.iou_threshold
            pairs += list(zip(tracks[r[ok]], dets[c[ok]]))
            tracks = np.setdiff1d(tracks, tracks[r[ok]])
            dets = np.setdiff1d(dets, dets[c[ok]])
        if len(tracks) and len(dets) and self.dist_threshold > 0:
            p = _xyxy_to_cxcywh(pred[tracks])
            q = _xyxy_to_cxcywh(boxes[dets])
            scale = np.sqrt(p[:, 2] * p[:, 3])[:, None]
            dist = np.linalg.norm(p[:, None, :2] - q[None, :, :2], axis=2) / np.maximum(scale, 1.0)
            size = np.abs(np.log(np.maximum(q[None, :, 2] * q[None, :, 3], 1.0)
                                 / np.maximum(p[:, None, 2] * p[:, None, 3], 1.0)))
            cost = dist + 0.25 * size
            cost = np.where((dist <= self.dist_threshold) & (size < np.log(2.5)), cost, 1e6)
            r, c = linear_sum_assignment(cost)
            ok = cost[r, c] < 1e6
            pairs += list(zip(tracks[r[ok]], dets[c[ok]]))
            tracks = np.setdiff1d(tracks, tracks[r[ok]])
            dets = np.setdiff1d(dets, dets[c[ok]])
        return pairs, tracks, dets

    def check_cut(self, frame: np.ndarray) -> bool:
        """Run the cut detector on the frame about to be updated; on a cut every track ends
        (people after it get new IDs). :meth:`update` calls it when given the frame; call it
        yourself before :meth:`update` / :meth:`follow` to know about the cut first."""
        if self.cut_detector is None or not self.cut_detector(frame):
            return False
        self.cuts.append(self.frame_count)
        self._clear()
        self._new_shot = True
        return True

    def _commit(self, t: np.ndarray, boxes: np.ndarray) -> None:
        """Tracks ``t`` (row indices) observed at ``boxes`` (x1 y1 x2 y2); the others missed."""
        matched = np.zeros(len(self.ids), bool)
        if len(t):
            obs = _xyxy_to_cxcywh(np.asarray(boxes, np.float64).reshape(-1, 4))
            steps = (self.age[t] + 1)[:, None]
            v = (obs - self.state[t]) / steps
            self.vel[t] = self.alpha * v + (1 - self.alpha) * self.vel[t]
            self.state[t] = obs
            self.age[t] = 0
            self.hits[t] += 1
            matched[t] = True
        self.age[~matched] += 1
        # tentative tracks die at their first miss; confirmed ones coast up to max_age frames
        keep = (self.age <= self.max_age) & ((self.hits >= self.min_hits) | (self.age == 0))
        self.ids, self.state, self.vel, self.age, self.hits = (
            self.ids[keep], self.state[keep], self.vel[keep], self.age[keep], self.hits[keep])

    def follow(self, ids: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """A frame without detection: the tracks ``ids`` are at ``boxes`` (e.g. boxes made from
        their keypoints), every other track misses a frame. Returns the IDs still live."""
        self._new_shot = False
        self.frame_count += 1
        ids = np.asarray(ids, np.int64).reshape(-1)
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        row = {int(i): r for r, i in enumerate(self.ids)}
        sel = [(row[int(i)], k) for k, i in enumerate(ids) if int(i) in row]
        t = np.array([a for a, _ in sel], np.int64)
        obs = boxes[[b for _, b in sel]] if sel else np.zeros((0, 4))
        if len(t):
            # the centre moves to the given box; the size stays the last detection's, so the
            # next detection of the person matches this track whatever box shape was given
            c = (obs[:, :2] + obs[:, 2:]) / 2
            wh = self.state[t, 2:]
            obs = np.concatenate([c - wh / 2, c + wh / 2], axis=1)
        self._commit(t, obs)
        return ids[[b for _, b in sel]] if sel else np.zeros(0, np.int64)

    def boxes_of(self, ids: np.ndarray) -> np.ndarray:
        """Current (N, 4) x1 y1 x2 y2 boxes of live tracks ``ids`` (NaN for IDs not live)."""
        out = np.full((len(ids), 4), np.nan)
        row = {int(i): r for r, i in enumerate(self.ids)}
        for k, i in enumerate(np.asarray(ids).reshape(-1)):
            if int(i) in row:
                out[k] = _cxcywh_to_xyxy(self.state[row[int(i)]][None])[0]
        return out

    def lost(self, within: int) -> np.ndarray:
        """IDs of confirmed tracks that missed the last 1..``within`` frames (coasting)."""
        return self.ids[(self.hits >= self.min_hits) & (self.age > 0) & (self.age <= within)]

    def update(self, boxes: np.ndarray, scores: Optional[np.ndarray] = None,
               frame: Optional[np.ndarray] = None) -> np.ndarray:
        """Assign IDs to this frame's (N, 4) boxes (x1 y1 x2 y2); returns (N,) int64 IDs."""
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4) if len(boxes) else np.zeros((0, 4))
        scores = np.ones(len(boxes)) if scores is None else np.asarray(scores, np.float64).reshape(-1)
        if frame is not None:
            self.check_cut(frame)
        first_of_shot = self.frame_count == 0 or self._new_shot
        self._new_shot = False
        self.frame_count += 1
        out = np.full(len(boxes), -1, np.int64)
        pred = self.predict()
        all_tracks = np.arange(len(self.ids))
        high = np.flatnonzero(scores >= self.high_score)
        low = np.flatnonzero(scores < self.high_score)
        # confirmed tracks seen in the last frame first, then coasting ones, then tentative
        # (young) tracks: a duplicate detection's young track cannot steal a person's ID
        confirmed = self.hits >= self.min_hits
        pairs: list = []
        left_over = []
        dets_left = high
        for group in (all_tracks[confirmed & (self.age == 0)], all_tracks[confirmed & (self.age > 0)],
                      all_tracks[~confirmed]):
            p, t_left, dets_left = self._match(pred, boxes, group, dets_left)
            pairs += p
            left_over.append(t_left)
        p, _, _ = self._match(pred, boxes, np.concatenate(left_over[:2]), low)
        pairs += p
        if pairs:
            t = np.array([p[0] for p in pairs])
            d = np.array([p[1] for p in pairs])
            out[d] = self.ids[t]
            self._commit(t, boxes[d])
        else:
            self._commit(np.zeros(0, np.int64), np.zeros((0, 4)))
        new = np.flatnonzero((out < 0) & (scores >= self.new_track_score))
        if len(new):
            nid = np.arange(self.next_id, self.next_id + len(new))
            self.next_id += len(new)
            out[new] = nid
            self.ids = np.concatenate([self.ids, nid])
            self.state = np.concatenate([self.state, _xyxy_to_cxcywh(boxes[new])])
            self.vel = np.concatenate([self.vel, np.zeros((len(new), 4))])
            self.age = np.concatenate([self.age, np.zeros(len(new), np.int64)])
            # tracks born in a shot's first frame are confirmed at once
            born = self.min_hits if first_of_shot else 1
            self.hits = np.concatenate([self.hits, np.full(len(new), born, np.int64)])
        return out
