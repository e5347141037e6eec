"""Tracker on synthetic boxes (crossing, gaps, cuts, duplicates), track assembly, selection and
COCO -> H36M conversion with joint repair."""

import numpy as np
import pytest

from hotdemo.detect.track import CutDetector, Tracker, iou_matrix
from hotdemo.detect.assemble import assemble_tracks, select_tracks, to_h36m
from hotdemo.core.types import FramePoses2D, Track2D


def box(cx, cy, w=40, h=100):
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def frame(color, h=60, w=80, seed=0):
    """A flat-colour RGB frame with a little noise."""
    rng = np.random.default_rng(seed)
    f = np.empty((h, w, 3), np.uint8)
    f[:] = color
    return np.clip(f + rng.integers(-8, 8, f.shape), 0, 255).astype(np.uint8)


def test_iou_matrix():
    a = np.array([box(50, 50), box(200, 50)])
    m = iou_matrix(a, a[:1])
    assert m.shape == (2, 1)
    assert m[0, 0] == pytest.approx(1.0) and m[1, 0] == 0.0


def test_crossing_paths_keep_their_ids():
    tr = Tracker(cut_detector=None)
    seen = []
    for t in range(40):  # A walks right, B walks left; they overlap completely mid-way
        a, b = box(100 + 8 * t, 200), box(420 - 8 * t, 205)
        dets = np.array([b, a]) if t % 2 else np.array([a, b])  # detector order is arbitrary
        ids = tr.update(dets, np.array([0.9, 0.8]))
        seen.append(ids[::-1] if t % 2 else ids)
    seen = np.array(seen)
    assert (seen[:, 0] == seen[0, 0]).all() and (seen[:, 1] == seen[0, 1]).all()
    assert seen[0, 0] != seen[0, 1]


def test_a_short_gap_keeps_the_id_and_a_long_one_does_not():
    tr = Tracker(cut_detector=None, max_age=10)
    ids = [tr.update(np.array([box(100 + 5 * t, 100)]), np.array([0.9]))[0] for t in range(10)]
    for t in range(10, 16):  # occluded for 6 frames while walking on
        assert len(tr.update(np.zeros((0, 4)))) == 0
    again = tr.update(np.array([box(100 + 5 * 16, 100)]), np.array([0.9]))[0]
    assert set(ids) == {again}
    for _ in range(12):  # gone longer than max_age
        tr.update(np.zeros((0, 4)))
    assert tr.update(np.array([box(100 + 5 * 29, 100)]), np.array([0.9]))[0] != again


def test_fast_motion_without_overlap_keeps_the_id():
    tr = Tracker(cut_detector=None)
    ids = [tr.update(np.array([box(50 + 25 * t, 100, w=20, h=60)]), np.array([0.9]))[0] for t in range(8)]
    assert len(set(ids)) == 1  # consecutive boxes do not overlap at all (25 px steps, 20 px wide)


def test_a_camera_cut_starts_new_tracks():
    tr = Tracker()
    before = [tr.update(np.array([box(40, 30, 10, 20)]), np.array([0.9]), frame=frame((200, 40, 40), seed=t))[0]
              for t in range(5)]
    after = [tr.update(np.array([box(40, 30, 10, 20)]), np.array([0.9]), frame=frame((30, 60, 220), seed=t))[0]
             for t in range(5)]
    assert len(set(before)) == 1 and len(set(after)) == 1 and before[0] != after[0]
    assert tr.cuts == [5]


def test_cut_detector_ignores_noise_and_small_changes():
    cd = CutDetector()
    assert not any(cd(frame((120, 120, 60), seed=s)) for s in range(10))
    assert cd(frame((20, 200, 230)))


def test_a_duplicate_detection_cannot_steal_an_established_id():
    tr = Tracker(cut_detector=None)
    for t in range(10):
        main_id = tr.update(np.array([box(100, 100)]), np.array([0.9]))[0]
    # the detector fires twice on the person for two frames, then only the smaller box remains
    tr.update(np.array([box(100, 100), box(102, 104, 34, 90)]), np.array([0.9, 0.8]))
    tr.update(np.array([box(100, 100), box(102, 104, 34, 90)]), np.array([0.9, 0.8]))
    assert tr.update(np.array([box(102, 104, 34, 90)]), np.array([0.8]))[0] == main_id


def test_low_score_detections_continue_but_do_not_start_tracks():
    tr = Tracker(cut_detector=None)
    first = tr.update(np.array([box(100, 100)]), np.array([0.9]))[0]
    ids = tr.update(np.array([box(102, 100), box(300, 100)]), np.array([0.2, 0.2]))
    assert ids.tolist() == [first, -1]


# ---------------------------------------------------------------------------- assembly

def fp(i, ids, x0=0.0):
    n = len(ids)
    kp = np.zeros((n, 17, 2), np.float32) + np.arange(n)[:, None, None] * 100 + i + x0
    return FramePoses2D(i, kp, np.full((n, 17), 0.9, np.float32),
                        np.tile(np.array([0, 0, 10, 10], np.float32), (n, 1)), np.asarray(ids, np.int64))


def test_assemble_interpolates_short_gaps_with_zero_score():
    frames = [fp(i, [3]) for i in range(5)] + [fp(i, []) for i in range(5, 8)] + [fp(i, [3]) for i in range(8, 12)]
    (t,) = assemble_tracks(frames, max_gap=5)
    assert t.track_id == 3 and t.frames.tolist() == list(range(12))
    np.testing.assert_allclose(t.keypoints[6, 0, 0], 6.0)  # linear between frames 4 and 8
    assert (t.scores[5:8] == 0).all() and (t.scores[:5] > 0).all()


def test_assemble_splits_long_gaps_and_ignores_untracked():
    frames = ([fp(i, [0, -1]) for i in range(5)] + [fp(i, []) for i in range(5, 30)]
              + [fp(i, [0]) for i in range(30, 40)])
    tracks = assemble_tracks(frames, max_gap=10)
    assert [len(t) for t in tracks] == [5, 10]
    assert tracks[0].track_id == 0 and tracks[1].track_id not in (0, -1)
    long_only = assemble_tracks(frames, max_gap=10, min_length=6)
    assert [(t.track_id, len(t)) for t in long_only] == [(tracks[1].track_id, 10)]
    (joined,) = assemble_tracks(frames, max_gap=30)  # the same gap, bridged
    assert joined.track_id == 0 and len(joined) == 40
    assert assemble_tracks([fp(i, []) for i in range(3)]) == []


def track(tid, start, n, size):
    b = np.tile(np.array([0, 0, size, size], np.float32), (n, 1))
    return Track2D(tid, np.arange(start, start + n), np.zeros((n, 17, 2), np.float32),
                   np.ones((n, 17), np.float32), b)


def test_select_tracks():
    ts = [track(0, 0, 50, 10), track(1, 0, 50, 100), track(2, 10, 5, 500), track(3, 0, 40, 60)]
    assert [t.track_id for t in select_tracks(ts, min_length=10)] == [0, 1, 3]
    assert [t.track_id for t in select_tracks(ts, people=2, min_length=10)] == [1, 3]
    assert [t.track_id for t in select_tracks(ts, track_id=2)] == [2]
    assert select_tracks(ts, track_id=9) == []


def test_to_h36m_repairs_low_confidence_joints():
    T = 5
    rng = np.random.default_rng(0)
    base = rng.uniform(100, 200, (17, 2)).astype(np.float32)
    base[[5, 6], 1] = 100  # shoulders
    base[[11, 12], 1] = 200  # hips
    base[5, 0], base[6, 0], base[11, 0], base[12, 0] = 170, 130, 165, 135
    base[9] = [190, 150]  # left wrist
    kp = np.repeat(base[None], T, axis=0) + np.arange(T)[:, None, None] * np.array([2.0, 0.0], np.float32)
    sc = np.ones((T, 17), np.float32)
    truth_knee = kp[2, 13].copy()
    kp[2, 13] = [0, 0]  # a glitch on the left knee in frame 2, low score
    sc[2, 13] = 0.05
    sc[:, 10] = 0.0  # right wrist never seen
    kp[:, 10] = 0
    t = Track2D(7, np.arange(T), kp, sc, np.zeros((T, 4), np.float32))
    h = to_h36m(t)
    assert h.joint_format == "h36m17" and h.keypoints.shape == (T, 17, 2) and h.track_id == 7
    np.testing.assert_allclose(h.keypoints[2, 5], truth_knee, atol=1e-4)  # h36m left knee
    # the right wrist is the left wrist mirrored across the body axis (vertical here, x = 150 + 2t)
    for i in range(T):
        mid_x = 150 + 2 * i
        np.testing.assert_allclose(h.keypoints[i, 16], [2 * mid_x - kp[i, 9, 0], kp[i, 9, 1]], atol=1e-3)
    assert h.scores[2, 5] == pytest.approx(0.05) and (h.scores[:, 16] == 0).all()
    assert to_h36m(h) is h


def test_cut_detector_on_real_clips_spliced_together(shared):
    import cv2

    def read(name, n, start=0):
        cap = cv2.VideoCapture(str(shared / "videos" / name))
        cap.set(cv2.CAP_PROP_POS_FRAMES, start)
        out = []
        for _ in range(n):
            ok, bgr = cap.read()
            assert ok
            out.append(cv2.cvtColor(cv2.resize(bgr, (426, 240)), cv2.COLOR_BGR2RGB))
        return out

    # the fast whip pan near basketball.mp4's end (frames 280-296) is not a cut; the splice is
    clip = read("basketball.mp4", 20, 278) + read("two_people_indoor.mp4", 6)
    cd = CutDetector()
    cuts = [i for i, f in enumerate(clip) if cd(f)]
    assert cuts == [20]


def test_reset_starts_a_new_video_with_the_same_ids():
    """Within a video an ID is never reused (a cut starts new ones); a new video (reset) numbers
    its tracks from 0 again, so a clip's IDs do not depend on the clips the same tracker saw
    before (a batch's pipeline, a Ray worker's)."""
    def video(tr):
        ids = [tr.update(np.array([box(40, 30, 10, 20)]), np.array([0.9]), frame=frame((200, 40, 40), seed=t))[0]
               for t in range(5)]
        ids.append(tr.update(np.array([box(40, 30, 10, 20)]), np.array([0.9]), frame=frame((30, 60, 220), seed=0))[0])
        return ids

    tr = Tracker()
    first = video(tr)
    assert tr.cuts == [5] and tr.frame_count == 6
    assert first[:5] == [first[0]] * 5 and first[5] > first[0]  # after the cut: a new ID
    tr.reset()
    assert tr.cuts == [] and tr.frame_count == 0
    assert video(tr) == first == video(Tracker())
