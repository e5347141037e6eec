"""Paths that look like rich markup, model files given to the wrong option, non-finite numbers,
and the offline error for missing default models: each through the real CLI."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
from typer.testing import CliRunner

from hotdemo import frontend as frontend_mod
from hotdemo.io import weights as W
from hotdemo.cli import app
from test_robustness import BlobFrontend, person_frames, write_video

runner = CliRunner()


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _one_line_error(r, code: int, *needles: str) -> str:
    out = _plain(r.output)
    lines = [l for l in out.splitlines() if l.strip()]
    assert r.exit_code == code, out
    assert "Traceback" not in out and r.exception is None or isinstance(r.exception, SystemExit), out
    assert len(lines) == 1 and lines[0].startswith("error:"), out
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


@pytest.fixture()
def fake_frontend(monkeypatch):
    monkeypatch.setattr(frontend_mod, "build_frontend", lambda *a, **k: BlobFrontend())
    return ["--allow-untrained", "--device", "cpu"]


# ---------------------------------------------------------------- paths with square brackets
def test_run_with_bracketed_names_end_to_end(tmp_path, fake_frontend, monkeypatch):
    """yt-dlp's `Title [id].mp4` and a `clip[/x].mp4` (a `[/x]` closing tag for rich) are
    printed as they are, in the progress warnings, the result and the errors."""
    (tmp_path / "clip[").mkdir()
    video = write_video(tmp_path / "clip[" / "x].mp4", person_frames(20))
    out = tmp_path / "out [bold]" / "[/y]"
    r = runner.invoke(app, ["run", str(video), "-o", str(out), "--export", "json,csv"] + fake_frontend)
    text = _plain(r.output).replace("\n", "")
    assert r.exit_code == 0, r.output
    assert "MarkupError" not in text and str(out / "x].json") in text and str(out / "x]_hotdemo.mp4") in text
    assert (out / "x].json").is_file() and (out / "x]_hotdemo.mp4").is_file()

    # the default output folder, and a warning that names the file (nobody in this clip)
    monkeypatch.chdir(tmp_path)
    empty = write_video(tmp_path / "Room [dQw4w9WgXcQ].mp4", [np.full((48, 64, 3), 40, np.uint8)] * 12)
    r = runner.invoke(app, ["run", empty.name, "--no-render", "--export", "json"] + fake_frontend)
    text = _plain(r.output).replace("\n", "")
    assert r.exit_code == 0, r.output
    assert "no person was found in Room [dQw4w9WgXcQ].mp4" in text
    assert str(Path("hotdemo_out") / "Room [dQw4w9WgXcQ]" / "Room [dQw4w9WgXcQ].json") in text

    # errors name the path exactly
    _one_line_error(runner.invoke(app, ["run", str(tmp_path / "clip[" / "missing[/b].mp4")]), 2, "missing[/b].mp4")


def test_lift_and_batch_with_bracketed_names(tmp_path, fake_frontend):
    d = np.load(Path(__file__).resolve().parents[1] / "samples" / "walk_coco2d.npz")
    (tmp_path / "kp[").mkdir()
    kp = tmp_path / "kp[" / "a [i].npz"  # the path holds `[/a [i]`: an italic tag
    np.savez(kp, **{k: d[k] for k in d.files})
    r = runner.invoke(app, ["lift", str(kp), "-o", str(tmp_path / "o[/red]"), "--device", "cpu"])
    assert r.exit_code == 0, r.output
    assert str(tmp_path / "o[/red]" / "a [i].json") in _plain(r.output).replace("\n", "")

    clips = tmp_path / "clips [2024]"
    clips.mkdir()
    write_video(clips / "Title [abc123].mp4", person_frames(15))
    (clips / "b[").mkdir()
    write_video(clips / "b[" / "x].mp4", person_frames(15))  # shown as `b[/x].mp4`
    r = runner.invoke(app, ["batch", str(clips), "-r", "--no-render", "--export", "json"] + fake_frontend,
                      env={"COLUMNS": "200"})
    text = _plain(r.output)
    assert r.exit_code == 0, text
    assert "Title [abc123].mp4" in text and "b[/x].mp4" in text
    assert json.loads((clips / "hotdemo_out" / "batch_report.json").read_text())["ok"]


# ---------------------------------------------------------------- numbers
@pytest.mark.parametrize("spin", ["nan", "inf", "-inf"])
def test_run_spin_must_be_finite(tmp_path, spin):
    video = write_video(tmp_path / "v.mp4", person_frames(5))
    r = runner.invoke(app, ["run", str(video), "-o", str(tmp_path / "o"), "--spin", spin])
    _one_line_error(r, 2, "--spin", spin)
    assert not (tmp_path / "o").exists()  # refused before anything was created


# ---------------------------------------------------------------- model files given to the wrong option
class _Heatmaps(nn.Module):
    def forward(self, x):
        return nn.functional.avg_pool2d(x, 4).repeat(1, 6, 1, 1)[:, :17]


class _YoloLike(nn.Module):
    def forward(self, x):
        return nn.functional.avg_pool2d(x, 8).flatten(2)[:, :1].repeat(1, 5, 1)


def _onnx(model, path):
    pytest.importorskip("onnx", reason="torch.onnx.export needs the onnx package")
    torch.onnx.export(model, torch.zeros(1, 3, 64, 48), str(path), input_names=["input"], output_names=["out"],
                      dynamo=False)
    return path


@pytest.fixture()
def video(tmp_path):
    return write_video(tmp_path / "v.mp4", person_frames(5))


def test_detector_given_a_video_or_a_pose_model(tmp_path, video):
    base = ["run", str(video), "-o", str(tmp_path / "o"), "--allow-untrained", "--device", "cpu"]
    other = write_video(tmp_path / "other.mp4", person_frames(3))
    _one_line_error(runner.invoke(app, base + ["--detector", str(other)]), 2, "other.mp4", "video",
                    "expected a detector")
    hrnet = tmp_path / "hrnet_w32.pth"
    torch.save({"state_dict": {"conv1.weight": torch.zeros(1)}}, hrnet)
    _one_line_error(runner.invoke(app, base + ["--detector", str(hrnet)]), 2, "--pose2d", "expected a detector")


def test_detector_given_an_onnx_pose_model(tmp_path, video):
    base = ["run", str(video), "-o", str(tmp_path / "o"), "--allow-untrained", "--device", "cpu"]
    pose = _onnx(_Heatmaps(), tmp_path / "pose.onnx")
    _one_line_error(runner.invoke(app, base + ["--detector", str(pose)]), 2, "pose.onnx", "--pose2d",
                    "expected a detector")


def test_pose2d_given_a_detector(tmp_path, video, monkeypatch):
    monkeypatch.setattr(frontend_mod, "build_detector", lambda *a, **k: None)  # any detector,
    monkeypatch.setattr("hotdemo.detect.detector.manifest_name", lambda spec: None)  # with nothing to download
    base = ["run", str(video), "-o", str(tmp_path / "o"), "--allow-untrained", "--device", "cpu"]
    darknet = tmp_path / "det.weights"
    darknet.write_bytes(b"\0" * 64)
    darknet.with_suffix(".cfg").write_text("[net]\n")
    for f in (darknet, darknet.with_suffix(".cfg")):
        _one_line_error(runner.invoke(app, base + ["--pose2d", str(f)]), 2, f.name, "--detector",
                        "expected a 2D pose model")
    from ultralytics import YOLO

    pt = tmp_path / "yolo_det.pt"
    YOLO("yolo11n.yaml").save(str(pt))
    _one_line_error(runner.invoke(app, base + ["--pose2d", str(pt)]), 2, "yolo_det.pt", "--detector",
                    "expected a 2D pose model")


def test_pose2d_given_a_yolo_onnx(tmp_path, video, monkeypatch):
    monkeypatch.setattr(frontend_mod, "build_detector", lambda *a, **k: None)
    monkeypatch.setattr("hotdemo.detect.detector.manifest_name", lambda spec: None)
    base = ["run", str(video), "-o", str(tmp_path / "o"), "--allow-untrained", "--device", "cpu"]
    yolo_onnx = _onnx(_YoloLike(), tmp_path / "yolo.onnx")
    _one_line_error(runner.invoke(app, base + ["--pose2d", str(yolo_onnx)]), 2, "yolo.onnx", "--detector",
                    "expected a 2D pose model")


# ---------------------------------------------------------------- offline defaults
def test_offline_error_names_every_missing_default_and_the_offline_route(tmp_path, video, monkeypatch):
    monkeypatch.setenv("HOTDEMO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HOTDEMO_WEIGHTS_DIR", raising=False)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there: like being offline
    for name, spec in list(W.MANIFEST.items()):
        monkeypatch.setitem(W.MANIFEST, name, W.WeightSpec(**{**spec.__dict__, "url": f"http://127.0.0.1:{port}/{spec.filename}"}))
    r = runner.invoke(app, ["run", str(video), "-o", str(tmp_path / "o"), "--allow-untrained", "--device", "cpu"])
    from hotdemo.pose2d.registry import manifest_name as pose2d_default

    line = _one_line_error(r, 3, "yolo11n.pt", W.get_spec(pose2d_default(None)).filename,
                           "--detector FILE", "--pose2d FILE", str(tmp_path / "home" / "weights"))
    assert "bundled" not in line  # not a place to put downloads
    # with a local detector, only the 2D model is missing and named
    monkeypatch.setattr("hotdemo.detect.detector.manifest_name", lambda spec: None)
    monkeypatch.setattr(frontend_mod, "build_detector", lambda *a, **k: None)
    r = runner.invoke(app, ["run", str(video), "-o", str(tmp_path / "o"), "--allow-untrained", "--device", "cpu",
                            "--detector", "mine.weights"])
    line = _one_line_error(r, 3, "--pose2d FILE")
    assert "yolo11n" not in line and "--detector FILE" not in line
