"""Person detectors: NMS, spec parsing errors, the offline Darknet model on a real frame
(batched = one by one), the ultralytics path offline with random weights, and the front end on
frames where nobody is found."""

import cv2
import numpy as np
import pytest

from hotdemo.detect import DarknetDetector, build_detector, nms
from hotdemo.errors import InputError, WeightsError
from hotdemo.frontend import FrontEnd2D
from hotdemo.track import Tracker


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], np.float32)
    keep = nms(boxes, np.array([0.5, 0.9, 0.7], np.float32), iou=0.5)
    assert keep.tolist() == [1, 2]
    assert nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), 0.5).tolist() == []


def test_bad_specs_raise_user_errors(tmp_path):
    with pytest.raises(InputError):
        build_detector("fasterrcnn")
    with pytest.raises(InputError):
        build_detector(str(tmp_path / "absent.weights"))
    (tmp_path / "lonely.weights").write_bytes(b"\0" * 16)
    with pytest.raises(WeightsError, match="cfg"):
        build_detector(str(tmp_path / "lonely.weights"))


@pytest.fixture(scope="module")
def offline(shared):
    cap = cv2.VideoCapture(str(shared / "videos/basketball.mp4"))
    frames = []
    for _ in range(4):
        ok, bgr = cap.read()
        assert ok
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return shared, frames


def test_darknet_finds_people_batched_like_one_by_one(offline):
    sh, frames = offline
    det = build_detector(str(sh / "models/yolo-fastest-1.1-body/yolo-fastest-1.1_body.weights"))
    assert isinstance(det, DarknetDetector) and det.input_wh == (320, 320)
    batched = det(frames)
    single = [det([f])[0] for f in frames]
    assert len(batched) == 4
    for a, b in zip(batched, single):
        assert a.dtype == np.float32 and a.shape[1] == 5
        np.testing.assert_allclose(a, b, atol=1e-2)
    d = batched[0]
    assert len(d) == 2  # the two players
    assert (np.diff(d[:, 4]) <= 0).all()  # sorted by score
    assert (d[:, 0] >= 0).all() and (d[:, 2] <= 426).all() and (d[:, 3] <= 240).all()
    h = d[:, 3] - d[:, 1]
    assert (h > 1.5 * (d[:, 2] - d[:, 0])).all()  # standing people are tall boxes
    dets = det.detections(frames[:1], start_index=7)
    assert dets[0].frame_index == 7 and len(dets[0]) == 2


def test_ultralytics_builds_offline_from_yaml():
    det = build_detector("yolo11n.yaml", imgsz=160)
    out = det([np.full((120, 160, 3), 90, np.uint8)] * 2)
    assert len(out) == 2 and all(o.shape[1] == 5 and o.dtype == np.float32 for o in out)


class ScriptedDetector:
    def __init__(self, per_frame):
        self.per_frame, self.i = per_frame, 0

    def __call__(self, frames):
        out = self.per_frame[self.i:self.i + len(frames)]
        self.i += len(frames)
        return out


class CentrePose:
    num_joints = 17

    def __call__(self, frames, boxes):
        return [(np.repeat(((b[:, None, :2] + b[:, None, 2:4]) / 2), 17, axis=1).astype(np.float32),
                 np.ones((len(b), 17), np.float32)) for b in boxes]


def test_frontend_handles_frames_without_people():
    empty = np.zeros((0, 5), np.float32)
    person = np.array([[10, 10, 30, 60, 0.9]], np.float32)
    fe = FrontEnd2D(ScriptedDetector([empty, empty, person, person, empty]), Tracker(), CentrePose())
    frames = [np.zeros((80, 80, 3), np.uint8)] * 5
    out = fe.process(frames[:3], 0) + fe.process(frames[3:], 3)
    assert [f.frame_index for f in out] == [0, 1, 2, 3, 4]
    assert [len(f.track_ids) for f in out] == [0, 0, 1, 1, 0]
    assert out[0].keypoints.shape == (0, 17, 2) and out[2].keypoints.shape == (1, 17, 2)
    assert out[2].track_ids[0] == out[3].track_ids[0]
    np.testing.assert_allclose(out[2].keypoints[0, 0], [20, 35])
    assert fe.process([], 5) == []


def test_detector_options_reach_the_model_from_the_pipeline_config(offline):
    from hotdemo.pipeline import Pipeline, PipelineConfig

    sh, frames = offline
    cfg = PipelineConfig(detector=str(sh / "models/yolo-fastest-1.1-body/yolo-fastest-1.1_body.weights"),
                         pose2d=str(sh / "models/ultralight-simplepose/simplepose_256x192.onnx"),
                         det_conf=0.6, det_iou=0.3, det_imgsz=416, pose_flip=True)
    fe = Pipeline(cfg, lifter=object()).frontend
    det = fe.detector
    assert det.input_wh == (416, 416) and det.conf == 0.6 and det.iou == 0.3
    assert fe.pose.flip_test
    strict = det(frames[:1])[0]
    loose = build_detector(str(sh / "models/yolo-fastest-1.1-body/yolo-fastest-1.1_body.weights"),
                           conf=0.05)(frames[:1])[0]
    assert (strict[:, 4] >= 0.6).all() and len(loose) >= len(strict)
    with pytest.raises(InputError, match="multiple of 32"):
        build_detector(str(sh / "models/yolo-fastest-1.1-body/yolo-fastest-1.1_body.weights"), imgsz=300)
