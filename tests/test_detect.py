"""Person detectors: NMS, spec parsing errors, the offline Darknet model on a real frame
(batched = one by one), the ultralytics path offline with random weights, and the front end on
frames where nobody is found."""

import cv2
import numpy as np
import pytest

from hotdemo.detect.detector import DarknetDetector, build_detector, nms
from hotdemo.core.errors import InputError, WeightsError
from hotdemo.frontend import FrontEnd2D
from hotdemo.core.paths import OFFLINE_DETECTOR, OFFLINE_POSE2D
from hotdemo.detect.track import Tracker


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], np.float32)
    keep = nms(boxes, np.array([0.5, 0.9, 0.7], np.float32), iou=0.5)
    assert keep.tolist() == [1, 2]
    assert nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), 0.5).tolist() == []


def test_nms_limits_the_result_not_the_candidates():
    """400 disjoint boxes: NMS keeps them all, then the best ``max_det`` (OpenCV's top_k would
    have cut the candidates before suppression and kept fewer in a crowd of overlaps)."""
    x = np.arange(400, dtype=np.float32) * 20
    boxes = np.stack([x, np.zeros_like(x), x + 10, np.full_like(x, 10)], 1)
    scores = np.linspace(0.9, 0.5, 400).astype(np.float32)
    assert len(nms(boxes, scores, 0.5, max_det=1000)) == 400
    keep = nms(boxes, scores, 0.5, max_det=300)
    assert keep.tolist() == list(range(300))
    # 300 boxes, each with a near copy scored just below it: the 300 best candidates are only
    # 150 pairs, yet 300 boxes survive suppression
    b, s = boxes[:300], scores[:300]
    pairs = np.concatenate([b, b + np.float32([1, 0, 1, 0])])
    s2 = np.concatenate([s, s - 1e-4])
    keep = nms(pairs, s2, 0.5, max_det=300)
    assert sorted(keep.tolist()) == list(range(300))


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
    det = build_detector(str(sh / OFFLINE_DETECTOR))
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


@pytest.fixture(scope="module")
def person_yolo(tmp_path_factory):
    """A random-weight YOLO11n saved as an ultralytics .pt, its person logits raised so that
    person is every anchor's best class (random weights otherwise give no person box)."""
    import os

    import torch

    os.environ["YOLO_OFFLINE"] = "1"
    from ultralytics import YOLO

    torch.manual_seed(0)
    y = YOLO("yolo11n.yaml")
    head = y.model.model[-1]
    with torch.no_grad():
        for branch in head.cv3:
            branch[-1].bias[0] += 12.0  # from about -10 (ultralytics' prior) to about +2
    path = tmp_path_factory.mktemp("yolo") / "person_yolo.pt"
    y.save(str(path))
    return path


def _scene(h=360, w=640):
    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    cv2.rectangle(img, (100, 50), (220, 330), (200, 40, 40), -1)
    return img


@pytest.mark.parametrize("size", [(360, 640), (480, 300)])
def test_onnxruntime_detector_equals_ultralytics_predictor(person_yolo, tmp_path, monkeypatch, size):
    """Same .pt, same frame: the exported network in ONNX Runtime with our letterbox / NMS /
    rescaling gives ultralytics' boxes (landscape and portrait frames: the padding side differs)."""
    monkeypatch.setenv("HOTDEMO_HOME", str(tmp_path))
    frame = _scene(*size)
    ref = build_detector(str(person_yolo), conf=0.5, runtime="torch")(list([frame]))[0]
    ours = build_detector(str(person_yolo), conf=0.5, runtime="onnxruntime", threads=1)
    assert ours.runtime == "onnxruntime"
    got = ours([frame])[0]
    assert len(ref) >= 5  # enough boxes to compare
    assert abs(len(got) - len(ref)) <= max(1, len(ref) // 50)  # a near-tie in NMS may flip
    # every reference box has its twin (sorted by score the order can swap at near-equal scores)
    d = np.abs(ref[:, None, :] - got[None, :, :]).max(-1)
    assert (d.min(1) < 0.05).mean() >= 0.97, d.min(1)
    assert np.all(got[:, 4] > 0.5) and np.all(np.diff(got[:, 4]) <= 0)
    assert np.all(got[:, [0, 2]] <= size[1]) and np.all(got[:, [1, 3]] <= size[0]) and np.all(got[:, :4] >= 0)


def test_onnxruntime_detector_export_is_cached(person_yolo, tmp_path, monkeypatch):
    monkeypatch.setenv("HOTDEMO_HOME", str(tmp_path))
    first = build_detector(str(person_yolo), conf=0.5, runtime="onnxruntime")
    cached = list((tmp_path / "onnx").glob("person_yolo-*.onnx"))
    assert len(cached) == 1
    from hotdemo.detect.detector import UltralyticsDetector

    monkeypatch.setattr(UltralyticsDetector, "_export", lambda self: pytest.fail("exported again"))
    again = build_detector(str(person_yolo), conf=0.5, runtime="onnxruntime")
    f = _scene()
    assert np.array_equal(first([f])[0], again([f])[0])
    cached[0].write_bytes(b"not onnx")
    with pytest.raises(WeightsError, match="delete it"):
        build_detector(str(person_yolo), runtime="onnxruntime")


def test_detector_falls_back_to_torch_when_the_export_fails(person_yolo, tmp_path, monkeypatch, caplog):
    """A model the exporter cannot handle still detects (PyTorch), with one warning; asked for
    onnxruntime explicitly, it is a one-line WeightsError."""
    from hotdemo.detect.detector import UltralyticsDetector

    monkeypatch.setenv("HOTDEMO_HOME", str(tmp_path))

    def boom(self):
        raise RuntimeError("Unsupported: ONNX export of operator foo\nmore detail")

    monkeypatch.setattr(UltralyticsDetector, "_export", boom)
    with caplog.at_level("WARNING", logger="hotdemo"):
        det = build_detector(str(person_yolo), conf=0.5)
    assert det.runtime == "torch" and len(det([_scene()])[0]) > 0
    assert "ONNX export failed: Unsupported: ONNX export of operator foo" in caplog.text
    with pytest.raises(WeightsError, match="cannot export .*operator foo$"):
        build_detector(str(person_yolo), runtime="onnxruntime")


def test_detector_runtime_is_checked_and_defaults_by_device(person_yolo, tmp_path, monkeypatch):
    monkeypatch.setenv("HOTDEMO_HOME", str(tmp_path))
    with pytest.raises(InputError, match="runtime"):
        build_detector(str(person_yolo), runtime="tensorrt")
    assert build_detector(str(person_yolo)).runtime == "onnxruntime"  # CPU default
    assert build_detector("yolo11n.yaml", imgsz=160, runtime="torch").runtime == "torch"


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
    cfg = PipelineConfig(detector=str(sh / OFFLINE_DETECTOR),
                         pose2d=str(sh / OFFLINE_POSE2D),
                         det_conf=0.6, det_iou=0.3, det_imgsz=416, pose_flip=True)
    fe = Pipeline(cfg, lifter=object()).frontend
    det = fe.detector
    assert det.input_wh == (416, 416) and det.conf == 0.6 and det.iou == 0.3
    assert fe.pose.flip_test
    strict = det(frames[:1])[0]
    loose = build_detector(str(sh / OFFLINE_DETECTOR),
                           conf=0.05)(frames[:1])[0]
    assert (strict[:, 4] >= 0.6).all() and len(loose) >= len(strict)
    with pytest.raises(InputError, match="multiple of 32"):
        build_detector(str(sh / OFFLINE_DETECTOR), imgsz=300)


@pytest.mark.parametrize("user_value", ["0", "False", "1"])
def test_ultralytics_detector_keeps_the_users_yolo_offline(monkeypatch, user_value):
    """``YOLO_OFFLINE`` is only set when unset (as the CLI does): a user's own value survives
    building the detector, and ultralytics sees it when it loads the model."""
    import os

    import ultralytics

    seen = []

    def fake_yolo(model, task=None):
        seen.append(os.environ.get("YOLO_OFFLINE"))
        raise RuntimeError("stub: no model loaded")

    monkeypatch.setattr(ultralytics, "YOLO", fake_yolo)
    monkeypatch.setenv("YOLO_OFFLINE", user_value)
    with pytest.raises(WeightsError, match="cannot load YOLO model"):
        build_detector("yolo11n.yaml", runtime="torch")
    assert seen == [user_value] and os.environ["YOLO_OFFLINE"] == user_value
    # unset: offline by default (no network check on a machine without internet)
    monkeypatch.delenv("YOLO_OFFLINE")
    with pytest.raises(WeightsError):
        build_detector("yolo11n.yaml", runtime="torch")
    assert seen[-1] == "1"
