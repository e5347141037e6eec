"""hotdemo live: the latest frame only (frames dropped, never queued), a causal lifter window ending at
the current frame, measured latency, and a video file as the source."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from hotdemo.cli import app
from hotdemo.core.errors import InputError
from hotdemo.lift.lifter import load_lifter
from hotdemo.live import CausalLifter, FrameSource, run_live
from hotdemo.pipeline import PipelineConfig
from hotdemo.core.types import FramePoses2D, VideoInfo
from test_robustness import BlobFrontend, person_frames, write_video

torch.set_num_threads(1)
runner = CliRunner()


def _out(r):
    return re.sub(r"\x1b\[[0-9;]*m", "", r.output)


def test_a_file_source_plays_in_real_time_and_a_slow_reader_gets_the_newest_frame(tmp_path):
    video = write_video(tmp_path / "v.mp4", person_frames(40), fps=20)  # 2 s
    src = FrameSource(str(video)).start()
    t0 = time.monotonic()
    got = []
    while True:
        item = src.latest()
        if item is None:
            break
        got.append(item[0])
        time.sleep(0.2)  # a reader 4x slower than the source
    wall = time.monotonic() - t0
    src.stop()
    assert src.captured == 40 and got == sorted(got)
    assert len(got) < 20 and max(np.diff(got)) >= 3  # frames in between were dropped
    assert wall < 2.0 + 0.6  # it ended with the video, not 40 x 0.2 s later


def test_causal_lifter_uses_the_window_ending_now_with_dropped_frames_filled():
    lifter = load_lifter(None, flip=False, device="cpu")
    info = VideoInfo(path="x", width=640, height=480, fps=25.0, frame_count=0)
    cl = CausalLifter(lifter, info)
    rng = np.random.default_rng(0)
    base = np.array([[320, 100], [310, 101], [330, 101], [300, 104], [340, 104], [290, 150], [350, 150],
                     [280, 200], [360, 200], [275, 245], [365, 245], [300, 250], [340, 250], [300, 330],
                     [340, 330], [300, 410], [340, 410]], np.float32)
    seq = {}
    for i in list(range(0, 30)) + list(range(34, 40)):  # frames 30-33 dropped
        kp = base + rng.normal(0, 1.0, base.shape).astype(np.float32) + [2.0 * i, 0]
        seq[i] = kp
        t2, t3 = cl.update(i, FramePoses2D(i, kp[None], np.full((1, 17), 0.9, np.float32),
                                           np.array([[270, 90, 370, 420]], np.float32), np.array([5])))
    assert len(t3) == 1 and t3[0].track_id == 5 and t3[0].frames.tolist() == [39]
    assert t3[0].joints_world is not None and np.isfinite(t3[0].joints_world).all()
    assert len(cl.tracks[5].kp) == 40  # 36 processed + 4 filled (the window is not yet full)
    # the filled frames lie on the line between frames 29 and 34 (COCO -> H36M is linear)
    k = np.stack(cl.tracks[5].kp)
    np.testing.assert_allclose(k[31], k[29] + (k[34] - k[29]) * 2 / 5, atol=1e-4)
    # the 3D is the lifter's last frame on exactly that window, left-padded with the first pose
    from hotdemo.core.camera import normalize_screen_coordinates

    win = np.concatenate([np.repeat(k[:1], 81 - len(k), 0), k])
    x = torch.from_numpy(normalize_screen_coordinates(win[None].astype(np.float64), 640, 480).astype(np.float32))
    with torch.no_grad():
        y = lifter._forward(x).numpy()[0]
    np.testing.assert_allclose(t3[0].joints_cam[0], y[-1] - y[-1, :1], atol=1e-5)


def test_live_on_a_file_writes_a_real_time_video_and_reports_latency(tmp_path):
    video = write_video(tmp_path / "v.mp4", person_frames(30), fps=15)  # 2 s

    class Slow(BlobFrontend):
        def process(self, frames, start_index):
            time.sleep(0.15)  # ~6 frames/s of processing for a 15 fps source
            return super().process(frames, start_index)

    out = tmp_path / "live.mp4"
    t0 = time.monotonic()
    st = run_live(str(video), PipelineConfig(allow_untrained=True, flip=False), window=False, output=out,
                  frontend=Slow())
    wall = time.monotonic() - t0
    s = st.summary()
    assert st.frames_captured == 30 and 0 < st.frames_processed < 30
    assert st.frames_dropped > 0 and st.frames_processed + st.frames_dropped <= 30
    assert wall < 2.0 + 2.5  # kept up with the source: ended soon after the video
    assert s["latency_3d_ms"]["median"] < 600 and s["processed_fps"] > 2
    from hotdemo.io.video import probe

    info = probe(out)
    assert info.frame_count >= st.frames_processed and abs(info.frame_count / 15.0 - 2.0) < 0.5  # real time


def test_live_cli_errors_are_one_line(tmp_path, monkeypatch):
    r = runner.invoke(app, ["live", str(tmp_path / "missing.mp4"), "--no-window", "-o", str(tmp_path / "o.mp4")])
    assert r.exit_code == 2 and _out(r).startswith("error:") and "missing.mp4" in _out(r)
    video = write_video(tmp_path / "v.mp4", person_frames(5))
    r = runner.invoke(app, ["live", str(video), "--no-window"])
    assert r.exit_code == 2 and "--no-window needs -o" in _out(r)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    r = runner.invoke(app, ["live", str(video)])
    assert r.exit_code == 2 and "no display" in _out(r) and "Traceback" not in _out(r)
    with pytest.raises(InputError, match="cannot open camera"):
        FrameSource("57")


@pytest.mark.shared
@pytest.mark.slow
def test_live_cli_on_a_shared_video(shared, tmp_path):
    from hotdemo.core.paths import OFFLINE_DETECTOR, OFFLINE_POSE2D

    rep = tmp_path / "r.json"
    r = runner.invoke(app, ["live", str(shared / "videos" / "two_people_indoor.mp4"), "--no-window", "-o",
                            str(tmp_path / "o.mp4"), "--detector", str(shared / OFFLINE_DETECTOR), "--pose2d",
                            str(shared / OFFLINE_POSE2D), "--report", str(rep)])
    assert r.exit_code == 0, _out(r)
    import json

    s = json.loads(rep.read_text())
    assert s["frames_captured"] == 72 and s["frames_processed"] >= 3 and s["latency_3d_ms"]["median"] > 0
    assert (tmp_path / "o.mp4").stat().st_size > 10_000
