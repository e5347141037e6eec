import numpy as np
import pytest

from hotdemo.core.types import Detections, FramePoses2D, Track2D, Track3D


def test_detections_normalises_dtypes_and_default_ids():
    d = Detections(3, [[0, 0, 10, 20]], [0.9])
    assert d.boxes.dtype == np.float32 and d.boxes.shape == (1, 4)
    assert d.track_ids.tolist() == [-1]
    assert len(d) == 1
    empty = Detections(0, np.zeros((0, 4)), np.zeros(0))
    assert len(empty) == 0 and empty.track_ids.shape == (0,)


def test_shapes_are_checked_against_joint_format():
    T = 4
    Track2D(1, np.arange(T), np.zeros((T, 17, 2)), np.zeros((T, 17)), np.zeros((T, 4)))
    with pytest.raises(ValueError, match="keypoints"):
        Track2D(1, np.arange(T), np.zeros((T, 16, 2)), np.zeros((T, 17)), np.zeros((T, 4)))
    with pytest.raises(ValueError, match="unknown joint format"):
        Track2D(1, np.arange(T), np.zeros((T, 17, 2)), np.zeros((T, 17)), np.zeros((T, 4)), joint_format="smpl")
    with pytest.raises(ValueError, match="joints_cam"):
        Track3D(1, np.arange(T), np.zeros((T + 1, 17, 3)))
    with pytest.raises(ValueError, match="scores"):
        FramePoses2D(0, np.zeros((2, 17, 2)), np.zeros((1, 17)), np.zeros((2, 4)), np.arange(2))


def test_stage_outputs_are_frozen():
    t = Track3D(1, np.arange(2), np.zeros((2, 17, 3)))
    with pytest.raises(Exception):
        t.track_id = 5  # type: ignore[misc]
