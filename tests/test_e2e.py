"""End to end on a real video from ../shared with the offline models (skipped without ../shared)."""

import json
import subprocess

import numpy as np
import pytest
from typer.testing import CliRunner

from hotdemo.cli import app
from hotdemo.core.paths import OFFLINE_DETECTOR, OFFLINE_POSE2D, bundled_lifter_path

runner = CliRunner()


def _offline_args(shared):
    args = [
        "--detector", str(shared / OFFLINE_DETECTOR),
        "--pose2d", str(shared / OFFLINE_POSE2D),
        "--device", "cpu",
    ]
    if not bundled_lifter_path().exists():
        args.append("--allow-untrained")
    return args


@pytest.mark.shared
@pytest.mark.slow
def test_run_two_people(shared, tmp_path):
    video = shared / "videos" / "two_people_indoor.mp4"
    out = tmp_path / "out"
    r = runner.invoke(app, ["run", str(video), "-o", str(out), "--export", "json,npz,csv,bvh"] + _offline_args(shared))
    assert r.exit_code == 0, r.output
    data = json.loads((out / "two_people_indoor.json").read_text())
    people = data["people"] if "people" in data else data["tracks"]
    assert len(people) == 2, "two people stand in this clip for all 72 frames"
    for p in people:
        assert len(p["frames"]) >= 60
    npz = np.load(out / "two_people_indoor.npz", allow_pickle=False)
    assert any(k.startswith("keypoints3d") or "3d" in k for k in npz.files)
    assert (out / "two_people_indoor.csv").stat().st_size > 0
    bvhs = sorted(out.glob("two_people_indoor_track*.bvh"))
    assert len(bvhs) == 2 and all(b.stat().st_size > 0 for b in bvhs)
    # the rendered video: H.264, yuv420p, the input's frame count
    import imageio_ffmpeg

    mp4 = out / "two_people_indoor_hotdemo.mp4"
    info = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-i", str(mp4)], capture_output=True, text=True).stderr
    assert "h264" in info and "yuv420p" in info
    nframes, _ = imageio_ffmpeg.count_frames_and_secs(str(mp4))
    assert nframes == 72
    # nothing half-written left behind
    assert not [p for p in out.iterdir() if p.name.startswith(".") or p.suffix in (".tmp", ".part")]


def test_lift_sample_then_reexport(tmp_path):
    """`hotdemo lift` on the committed synthetic sample writes 3D for the whole sequence."""
    from hotdemo.core.paths import REPO_DIR

    sample = REPO_DIR / "samples" / "walk_coco2d.npz"
    args = [] if bundled_lifter_path().exists() else ["--allow-untrained"]
    r = runner.invoke(app, ["lift", str(sample), "-o", str(tmp_path), "--device", "cpu"] + args)
    assert r.exit_code == 0, r.output
    files = sorted(p.name for p in tmp_path.iterdir())
    assert "walk_coco2d.json" in files and "walk_coco2d.npz" in files


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.parametrize("family", ["simdr", "tokenpose"])
def test_run_with_an_official_layout_2d_checkpoint(shared, tmp_path, family):
    """`hotdemo run VIDEO --pose2d FILE.pth` with a (tiny, random-weight) checkpoint in the official
    SimDR / TokenPose key layout: the run completes, renders and exports, and the exported 2D
    keypoints are that checkpoint's (recomputed on frame 0 from the exported boxes)."""
    import imageio_ffmpeg
    import torch

    from hotdemo.pose2d import build_pose2d
    from hotdemo.io.video import read_frame
    from official_ref import SimDRPoseHRNet, TokenPoseRef, randomize

    torch.set_num_threads(1)
    ref = SimDRPoseHRNet(8, 17, (192, 256), 2.0) if family == "simdr" else TokenPoseRef("S", dim=64, depth=1, heads=8)
    ckpt = tmp_path / f"{family}_final_state.pth"
    torch.save(randomize(ref, seed=11).state_dict(), ckpt)
    video = tmp_path / "clip.mp4"  # the first 6 frames of the real clip, at 640x360
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i",
                    str(shared / "videos" / "two_people_indoor.mp4"), "-frames:v", "6", "-vf", "scale=640:360",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(video)], check=True)
    args = _offline_args(shared)
    args[args.index("--pose2d") + 1] = str(ckpt)
    out = tmp_path / "out"
    r = runner.invoke(app, ["run", str(video), "-o", str(out), "--export", "json,npz", "--threads", "1"] + args)
    assert r.exit_code == 0, r.output
    data = json.loads((out / "clip.json").read_text())
    tracks = [t for t in data["tracks"] if t["frames"] and t["frames"][0] == 0]
    assert tracks, "the detector finds the people on frame 0"
    nframes, _ = imageio_ffmpeg.count_frames_and_secs(str(out / "clip_hotdemo.mp4"))
    assert nframes == 6
    est = build_pose2d(str(ckpt))
    assert est.spec.family == family
    frame = read_frame(video, 0)
    for t in tracks:
        box = np.array(t["boxes"][0], np.float32)
        (kp, _), = est([frame], [box[None]])
        err = np.abs(kp[0] - np.array(t["keypoints_2d"][0], np.float32)).max(axis=1)
        # boxes are exported rounded, and random weights make near-ties: most joints, not all
        assert np.mean(err < 1.0) >= 0.8, err
