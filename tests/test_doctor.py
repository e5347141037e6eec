"""hotdemo doctor: one line per check, exit 0 only when every check passes, and the whole
pipeline on the clip shipped in the package."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from hotdemo import doctor as D
from hotdemo.io import weights as W
from hotdemo.cli import app
from hotdemo.core.paths import OFFLINE_DETECTOR, OFFLINE_POSE2D

runner = CliRunner()


def _out(r):
    return re.sub(r"\x1b\[[0-9;]*m", "", r.output)


def test_the_clip_ships_with_the_package():
    p = D.clip_path()
    assert p.is_file() and p.stat().st_size < 200_000
    from hotdemo.io.video import probe

    info = probe(p)
    assert info.frame_count >= 20 and info.width > 0


@pytest.mark.shared
@pytest.mark.slow
def test_doctor_passes_on_a_working_set_up(shared, tmp_path, monkeypatch):
    monkeypatch.setenv("HOTDEMO_HOME", str(tmp_path / "home"))
    r = runner.invoke(app, ["doctor", "--no-network", "--detector", str(shared / OFFLINE_DETECTOR),
                            "--pose2d", str(shared / OFFLINE_POSE2D), "--threads", "1"])
    out = _out(r)
    assert r.exit_code == 0, out
    lines = out.strip().splitlines()
    names = [m.group(2) for m in (re.match(r"(ok  |FAIL|info) (\w+):", ln) for ln in lines) if m]
    assert names == ["packages", "ffmpeg", "onnxruntime", "cuda", "cache", "detector", "pose2d", "lifter", "pipeline"]
    assert lines[-1] == "all checks passed" and "Traceback" not in out
    assert re.search(r"ok   pipeline: on doctor_bus.mp4: 24 frames, \d+ (people|person) found, [1-9]\d* with plausible", out)


def test_doctor_fails_with_one_line_per_problem(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.write_text("a file where the cache folder should be")
    monkeypatch.setenv("HOTDEMO_HOME", str(home))
    monkeypatch.delenv("HOTDEMO_WEIGHTS_DIR", raising=False)
    r = runner.invoke(app, ["doctor", "--no-network"])
    out = _out(r)
    assert r.exit_code == 1 and "Traceback" not in out
    assert re.search(r"^FAIL cache: cannot write to .*HOTDEMO_HOME", out, re.M)
    assert re.search(r"^FAIL detector: yolo11n is not downloaded", out, re.M)
    assert re.search(r"^FAIL pose2d: rtmpose_s_body7_256x192 is not downloaded", out, re.M)
    assert re.search(r"^ok   lifter: hot_mixste_h36m", out, re.M)
    assert re.search(r"^FAIL pipeline: not run", out, re.M)
    assert out.strip().splitlines()[-1].startswith("error: 4 checks failed: cache, detector, pose2d, pipeline")


def test_model_check_verifies_a_local_copy_and_probes_the_urls(tmp_path, monkeypatch):
    import functools
    import http.server
    import threading

    monkeypatch.setenv("HOTDEMO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HOTDEMO_WEIGHTS_DIR", raising=False)
    www = tmp_path / "www"
    www.mkdir()
    data = b"model" * 1000
    (www / "m.bin").write_bytes(data)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(
        type("Q", (http.server.SimpleHTTPRequestHandler,), {"log_message": lambda *a: None}), directory=str(www)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        spec = W.WeightSpec(name="m", url=f"{base}/gone/m.bin", mirrors=(f"{base}/m.bin",),
                            sha256=hashlib.sha256(data).hexdigest(), size=len(data), licence="t", filename="m.bin",
                            kind="pose2d", description="t")
        monkeypatch.setitem(W.MANIFEST, "m", spec)
        c = D.check_model("pose2d", "m")
        assert c.ok and "not downloaded yet" in c.detail and f"{base}/m.bin answers" in c.detail
        assert not D.check_model("pose2d", "m", network=False).ok
        W.resolve("m", progress=False)
        c = D.check_model("pose2d", "m")
        assert c.ok and "verified: pinned" in c.detail
        (W.weights_cache_dir() / "m.bin").write_bytes(b"x" * len(data))  # corrupted in place
        c = D.check_model("pose2d", "m")
        assert c.ok is False and "checksum mismatch" in c.detail
    finally:
        httpd.shutdown()
        httpd.server_close()


def _export(tmp_path, keypoints, world, scores=0.9):
    T = len(keypoints)
    p = tmp_path / "x.npz"
    np.savez(p, track_ids=np.array([1]), track_id_2d=np.ones(T, int), track_id_3d=np.ones(T, int),
             keypoints_2d=keypoints, scores_2d=np.full((T, 17), scores, np.float32), joints_3d_world=world)
    return p


def _standing(T=12):
    """COCO-17 pixels of a person standing (y down) and an H36M-17 world pose (z up, metres)."""
    y = np.array([100, 95, 95, 98, 98, 140, 140, 190, 190, 230, 230, 240, 240, 320, 320, 400, 400], np.float32)
    kp = np.stack([np.full(17, 200.0, np.float32), y], -1)[None].repeat(T, 0)
    z = np.array([0.95, 0.95, 0.5, 0.08, 0.95, 0.5, 0.08, 1.2, 1.45, 1.55, 1.72, 1.45, 1.2, 0.95, 1.45, 1.2, 0.95],
                 np.float32)
    w = np.stack([np.zeros(17), np.zeros(17), z], -1).astype(np.float32)[None].repeat(T, 0)
    return kp, w


def test_plausible_tells_a_person_from_garbage(tmp_path):
    kp, w = _standing()
    assert D.plausible(_export(tmp_path, kp, w)) == (1, [])
    n, why = D.plausible(_export(tmp_path, kp, w, scores=0.1))
    assert n == 0 and "score" in why[0]
    w_down = w.copy()
    w_down[..., 2] = 1.8 - w_down[..., 2]  # upside down
    n, why = D.plausible(_export(tmp_path, kp, w_down))
    assert n == 0 and "upright" in why[0]
    n, why = D.plausible(_export(tmp_path, kp, w * 3))  # a 5 m giant
    assert n == 0 and "height" in why[0]
    n, why = D.plausible(_export(tmp_path, kp[:, ::-1].copy(), w))  # joints shuffled in the image
    assert n == 0 and "in order" in why[0]
