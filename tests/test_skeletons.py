import numpy as np
import pytest

from hotdemo.core.skeletons import COCO17, H36M17, coco_to_h36m, get_skeleton


def test_skeleton_tables_are_consistent():
    for sk in (COCO17, H36M17):
        assert sk.num_joints == 17
        assert len(sk.parents) == 17 and len(sk.left) == len(sk.right)
        for a, b in sk.edges:
            assert 0 <= a < 17 and 0 <= b < 17
        # left and right names mirror each other
        for l, r in zip(sk.left, sk.right):
            assert sk.joint_names[l].replace("left", "right") == sk.joint_names[r]
        perm = sk.flip_permutation
        assert sorted(perm) == list(range(17))
        assert np.array_equal(perm[perm], np.arange(17))  # an involution
    assert H36M17.parents[0] == -1
    assert get_skeleton("h36m17") is H36M17
    with pytest.raises(ValueError):
        get_skeleton("smpl24")


def _coco_pose():
    """A hand-made COCO pose with easy numbers (pixels)."""
    kp = np.zeros((17, 2), np.float32)
    named = {
        "nose": (50, 10), "left_eye": (54, 6), "right_eye": (46, 6), "left_ear": (58, 8), "right_ear": (42, 8),
        "left_shoulder": (70, 30), "right_shoulder": (30, 30), "left_elbow": (74, 50), "right_elbow": (26, 50),
        "left_wrist": (76, 70), "right_wrist": (24, 70), "left_hip": (62, 80), "right_hip": (38, 80),
        "left_knee": (62, 110), "right_knee": (38, 110), "left_ankle": (62, 140), "right_ankle": (38, 140),
    }
    for k, v in named.items():
        kp[COCO17.index(k)] = v
    return kp


def test_coco_to_h36m_hand_computed():
    kp = _coco_pose()
    out, _ = coco_to_h36m(kp)
    H = H36M17.index
    # copied joints
    np.testing.assert_allclose(out[H("left_knee")], (62, 110))
    np.testing.assert_allclose(out[H("right_wrist")], (24, 70))
    # pelvis = mid-hips = (50, 80)
    np.testing.assert_allclose(out[H("pelvis")], (50, 80))
    # thorax: S=(50,30); S + (nose-S)/3 = (50, 30 - 20/3); then y -= (eye_y - nose_y)*2/3 = (6-10)*2/3 = -8/3
    np.testing.assert_allclose(out[H("thorax")], (50, 30 - 20 / 3 + 8 / 3), rtol=1e-6)
    # spine: mean(shoulders, hips) = (50, 55); x unchanged for a symmetric pose
    np.testing.assert_allclose(out[H("spine")], (50, 55))
    # head: x = mean(eyes, ears) = 50; y = 6 + 6 - 10 = 2
    np.testing.assert_allclose(out[H("head")], (50, 2))
    # neck/nose: nose - (nose - S)/4 = (50, 10 + 20/4) = (50, 15)
    np.testing.assert_allclose(out[H("neck_nose")], (50, 15))


def test_coco_to_h36m_spine_pushed_sideways_and_scores():
    kp = _coco_pose()
    kp[:, 0] += np.where(np.arange(17) < 5, 10, 0)  # head leans 10 px right
    s = np.full(17, 0.9, np.float32)
    s[COCO17.index("left_hip")] = 0.2
    out, so = coco_to_h36m(kp[None], s[None])
    H = H36M17.index
    # thorax x = 50 + (60 - 50)/3; spine x0 = 50; mean(pelvis x, thorax x) = 50 + 5/3
    thorax_x = 50 + 10 / 3
    np.testing.assert_allclose(out[0, H("thorax"), 0], thorax_x, rtol=1e-6)
    np.testing.assert_allclose(out[0, H("spine"), 0], 50 + 0.3 * (50 - (50 + thorax_x) / 2), rtol=1e-6)
    assert so.shape == (1, 17)
    assert so[0, H("pelvis")] == pytest.approx(0.2)  # built from the weak left hip
    assert so[0, H("left_hip")] == pytest.approx(0.2)
    assert so[0, H("head")] == pytest.approx(0.9)


def test_coco_to_h36m_rejects_wrong_shape():
    with pytest.raises(ValueError):
        coco_to_h36m(np.zeros((5, 16, 2)))
