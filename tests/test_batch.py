"""``hotdemo batch``: resumability, failures, Ctrl-C, report, CLI, Ray.

The batch logic is tested with a small stand-in pipeline (FakePipeline below) that decodes
the clip with hotdemo.io.video and writes a JSON and an H.264 file atomically, like the real
one; no model is needed, so these tests run everywhere in seconds. The real pipeline over
../shared is exercised by tests/test_robustness.py and benchmarks/batch.py.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hotdemo import batch as B
from hotdemo.core.errors import InputError
from hotdemo.pipeline import PipelineConfig, RunResult
from hotdemo.io.video import VideoWriter, ffmpeg_exe, iter_frames, probe


class FakePipeline:
    """Decodes every frame; writes <stem>.json and <stem>_hotdemo.mp4 (atomically)."""

    calls: list = []
    interrupt_on: str = ""

    def __init__(self, config=None):
        self.config = config

    def run(self, video, out_dir, *, overwrite=False) -> RunResult:
        video, out_dir = Path(video), Path(out_dir)
        FakePipeline.calls.append(video.name)
        info = probe(video)
        out_dir.mkdir(parents=True, exist_ok=True)
        out = out_dir / f"{video.stem}_hotdemo.mp4"
        n = 0
        with VideoWriter(out, info.fps, (info.width, info.height)) as w:
            for f in iter_frames(video, info):
                w.write(f)
                n += 1
                if FakePipeline.interrupt_on and FakePipeline.interrupt_on in video.name and n == 3:
                    raise KeyboardInterrupt
        js = out_dir / f"{video.stem}.json"
        tmp = out_dir / f".{js.name}.tmp"
        tmp.write_text(json.dumps({"frames": n}))
        os.replace(tmp, js)
        return RunResult(video, out_dir, n, 1, [js, out], 0.01, {"2d": 0.01}, [])


def fake_factory(config):
    return FakePipeline(config)


def make_clip(path: Path, frames: int = 5) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi",
                    "-i", "testsrc2=size=48x32:rate=10", "-frames:v", str(frames), "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


@pytest.fixture(autouse=True)
def _reset():
    FakePipeline.calls = []
    FakePipeline.interrupt_on = ""
    yield


@pytest.fixture()
def folder(tmp_path):
    d = tmp_path / "clips"
    make_clip(d / "a.mp4", 5)
    make_clip(d / "b clip é.mp4", 7)
    (d / "broken.mp4").write_text("not a video\n")
    (d / "notes.txt").write_text("ignored")
    return d


def run(folder, out=None, **kw):
    kw.setdefault("config", PipelineConfig())
    return B.run_batch(folder, out, pipeline_factory=fake_factory, verbose=False, **kw)


def hidden_temp_files(root: Path):
    return [p for p in root.rglob(".*") if p.name not in (B.CLIP_MANIFEST,)]


def test_batch_processes_reports_and_continues_past_failures(folder):
    rep = run(folder)
    assert not rep.ok
    by = {c.input: c for c in rep.clips}
    assert set(by) == {"a.mp4", "b clip é.mp4", "broken.mp4"}
    assert by["a.mp4"].status == "ok" and by["a.mp4"].frames == 5
    assert by["b clip é.mp4"].status == "ok" and by["b clip é.mp4"].frames == 7
    assert by["broken.mp4"].status == "failed" and "broken.mp4" in by["broken.mp4"].error
    out = folder / "hotdemo_out"
    assert (out / "a" / "a.json").is_file() and (out / "a" / "a_hotdemo.mp4").is_file()
    assert (out / "b clip é" / B.CLIP_MANIFEST).is_file()
    assert not (out / "broken" / B.CLIP_MANIFEST).exists()
    data = json.loads((out / B.REPORT_NAME).read_text())
    assert data["ok"] is False and data["counts"] == {"ok": 2, "failed": 1}
    assert {c["input"]: c["status"] for c in data["clips"]}["broken.mp4"] == "failed"
    for c in data["clips"]:
        assert {"status", "frames", "people", "seconds", "error"} <= set(c)
    assert hidden_temp_files(out) == []


def test_resume_skips_complete_clips_and_redoes_changed_ones(folder):
    run(folder)
    FakePipeline.calls = []
    rep = run(folder)
    assert FakePipeline.calls == ["broken.mp4"]  # the failed clip is retried, the others skipped
    st = {c.input: c.status for c in rep.clips}
    assert st == {"a.mp4": "skipped", "b clip é.mp4": "skipped", "broken.mp4": "failed"}
    assert {c.input: c.frames for c in rep.clips}["a.mp4"] == 5  # carried over from the manifest

    # a changed input is redone
    make_clip(folder / "a.mp4", 6)
    os.utime(folder / "a.mp4", ns=(1, 10**18))
    # a missing output is redone
    (folder / "hotdemo_out" / "b clip é" / "b clip é.json").unlink()
    FakePipeline.calls = []
    rep = run(folder)
    assert sorted(FakePipeline.calls) == ["a.mp4", "b clip é.mp4", "broken.mp4"]
    assert {c.input: c.frames for c in rep.clips}["a.mp4"] == 6

    # different settings redo everything; --overwrite too
    FakePipeline.calls = []
    run(folder, config=PipelineConfig(exports=("json",)))
    assert len(FakePipeline.calls) == 3
    FakePipeline.calls = []
    run(folder, config=PipelineConfig(exports=("json",)))
    assert FakePipeline.calls == ["broken.mp4"]
    FakePipeline.calls = []
    run(folder, config=PipelineConfig(exports=("json",)), overwrite=True)
    assert len(FakePipeline.calls) == 3


def test_all_ok_means_report_ok(folder):
    (folder / "broken.mp4").unlink()
    rep = run(folder)
    assert rep.ok and rep.counts() == {"ok": 2}


def test_ctrl_c_mid_clip_leaves_no_partial_files_and_resumes(folder, tmp_path):
    (folder / "broken.mp4").unlink()
    out = tmp_path / "out"
    FakePipeline.interrupt_on = "b clip"
    with pytest.raises(KeyboardInterrupt):
        run(folder, out)
    data = json.loads((out / B.REPORT_NAME).read_text())
    st = {c["input"]: c["status"] for c in data["clips"]}
    assert st == {"a.mp4": "ok", "b clip é.mp4": "interrupted"}
    assert data["interrupted"] is True and data["ok"] is False
    # nothing half-written: no temp file, no video of the interrupted clip, no manifest
    assert hidden_temp_files(out) == []
    assert not list((out / "b clip é").glob("*.mp4"))
    assert not (out / "b clip é" / B.CLIP_MANIFEST).exists()
    # resume: only the interrupted clip runs
    FakePipeline.interrupt_on = ""
    FakePipeline.calls = []
    rep = run(folder, out)
    assert FakePipeline.calls == ["b clip é.mp4"] and rep.ok


def test_interrupt_keeps_previous_complete_outputs_consistent(folder, tmp_path):
    """Ctrl-C while redoing a finished clip: the old manifest is gone, so it is redone next time."""
    (folder / "broken.mp4").unlink()
    out = tmp_path / "out"
    run(folder, out)
    old_video = (out / "a" / "a_hotdemo.mp4").read_bytes()
    FakePipeline.interrupt_on = "a.mp4"
    with pytest.raises(KeyboardInterrupt):
        run(folder, out, overwrite=True)
    assert (out / "a" / "a_hotdemo.mp4").read_bytes() == old_video  # the atomic writer kept it whole
    assert not (out / "a" / B.CLIP_MANIFEST).exists()
    assert hidden_temp_files(out) == []


def test_recursive_pattern_and_name_clashes(tmp_path):
    d = tmp_path / "in"
    make_clip(d / "x.mp4")
    make_clip(d / "x.mov")
    make_clip(d / "sub" / "y.mp4")
    make_clip(d / ".hidden" / "z.mp4")
    rep = run(d)
    assert sorted(c.output for c in rep.clips) == ["x_mov", "x_mp4"]
    rep = run(d, recursive=True)
    assert sorted(c.output for c in rep.clips) == ["sub/y", "x_mov", "x_mp4"]
    # the default output root (inside the input folder) is never scanned as input
    rep = run(d, recursive=True, pattern="*.MP4")
    assert sorted(c.input for c in rep.clips) == ["sub/y.mp4", "x.mp4"]


def test_bad_folder_arguments(tmp_path, folder):
    with pytest.raises(InputError, match="no such folder"):
        run(tmp_path / "absent")
    with pytest.raises(InputError, match="is a file"):
        run(folder / "a.mp4")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no files"):
        run(empty)


# ---------------------------------------------------------------- CLI
def test_cli_batch_exit_codes(folder, tmp_path, monkeypatch):
    from hotdemo.cli import app

    monkeypatch.setattr(B, "default_pipeline_factory", fake_factory)
    runner = CliRunner()
    res = runner.invoke(app, ["batch", str(folder), "-o", str(tmp_path / "o1")])
    assert res.exit_code == 1, res.output
    assert "broken.mp4" in res.output and "failed" in res.output
    (folder / "broken.mp4").unlink()
    res = runner.invoke(app, ["batch", str(folder), "-o", str(tmp_path / "o1")])
    assert res.exit_code == 0, res.output
    assert "skipped" in res.output
    res = runner.invoke(app, ["batch", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "no such folder" in res.output


# ---------------------------------------------------------------- Ray
@pytest.fixture()
def ray_two_cpus(monkeypatch):
    """Ray, its local instances capped at 2 CPUs (``--ray auto`` starts one with every core), the
    workers made to import this hotdemo (the checkout under test, first on their PYTHONPATH);
    yields ``(ray, seen)``, ``seen`` getting (hotdemo file, pid) from 2 workers of each instance."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[dev]' installs it)")
    import hotdemo

    checkout = Path(hotdemo.__file__).resolve().parent.parent
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(checkout)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    real_init, seen = ray.init, []

    def where():
        import hotdemo as h

        return str(Path(h.__file__).resolve()), os.getpid()

    def init_two_cpus(*a, **kw):
        out = real_init(*a, **{**kw, "num_cpus": 2})
        seen.extend(ray.get([ray.remote(where).remote() for _ in range(2)]))
        return out

    monkeypatch.setattr(ray, "init", init_two_cpus)
    yield ray, seen
    if ray.is_initialized():  # a failed test must not leave its instance to the next one
        ray.shutdown()


def _workers_ran_this_hotdemo(seen) -> bool:
    import hotdemo

    return bool(seen) and all(f == str(Path(hotdemo.__file__).resolve()) and pid != os.getpid() for f, pid in seen)


@pytest.mark.slow
def test_ray_batch_same_report_as_local(folder, tmp_path, ray_two_cpus):
    ray, seen = ray_two_cpus
    import ray.cloudpickle as cp

    cp.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this test module
    local = run(folder, tmp_path / "local")
    dist = run(folder, tmp_path / "ray", ray="auto", ray_workers=2)
    assert not ray.is_initialized()  # the local instance we started is shut down
    assert _workers_ran_this_hotdemo(seen), seen
    key = lambda r: sorted((c.input, c.output, c.status, c.frames, c.people) for c in r.clips)  # noqa: E731
    assert key(dist) == key(local) and dist.mode == "ray" and dist.workers == 2
    for sub in ("a", "b clip é"):
        names = sorted(p.name for p in (tmp_path / "ray" / sub).iterdir())
        assert names == sorted(p.name for p in (tmp_path / "local" / sub).iterdir())
        assert len(list(iter_frames(tmp_path / "ray" / sub / f"{sub}_hotdemo.mp4"))) == \
            {"a": 5, "b clip é": 7}[sub]
    data = json.loads((tmp_path / "ray" / B.REPORT_NAME).read_text())
    assert data["mode"] == "ray" and data["counts"] == {"ok": 2, "failed": 1}


# ---------------------------------------------------------------- Ray, the real pipeline (offline models)
def _cut(src: Path, dst: Path, frames: int, vf: str = "null") -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", str(src),
                    "-frames:v", str(frames), "-vf", vf, "-c:v", "libx264", "-preset", "veryfast",
                    "-pix_fmt", "yuv420p", "-an", str(dst)], check=True)
    return dst


def _tree(root: Path):
    """Every file under ``root`` (hidden ones included) -> its modification time."""
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def _report(root: Path):
    d = json.loads((root / B.REPORT_NAME).read_text())
    clips = {c["input"]: {k: c[k] for k in ("output", "status", "frames", "people", "error", "warnings")}
             for c in d["clips"]}
    return d, clips


@pytest.mark.shared
@pytest.mark.slow
def test_ray_auto_gives_the_local_batch_outputs_report_and_resume(shared, tmp_path, ray_two_cpus):
    """`hotdemo batch --ray auto` (a local Ray instance of 2 CPUs, started and shut down by the
    command) on two real clips and a corrupt file, with the offline models and the shipped
    lifter, against the local `hotdemo batch`: the same files per clip, the same poses (equal
    here; compared to 0.001 px and 0.1 mm, as the workers run torch with one thread), the same
    report, the failing clip included. Run again, both skip the done clips, retry the failed
    one and leave the outputs untouched. The Ray workers import the hotdemo under test."""
    ray, seen = ray_two_cpus
    from hotdemo.cli import app
    from hotdemo.io.formats.keypoints import load_export
    from hotdemo.core.paths import OFFLINE_DETECTOR, OFFLINE_POSE2D, bundled_lifter_path

    folder = tmp_path / "clips"
    _cut(shared / "videos" / "basketball.mp4", folder / "court.mp4", 24)
    _cut(shared / "videos" / "two_people_indoor.mp4", folder / "indoor clip.mp4", 24, "scale=480:270")
    (folder / "corrupt.mp4").write_bytes((folder / "court.mp4").read_bytes()[:3000])  # cut short: no frame
    args = ["batch", str(folder), "--detector", str(shared / OFFLINE_DETECTOR), "--pose2d",
            str(shared / OFFLINE_POSE2D), "--device", "cpu", "--export", "json,npz"]
    if not bundled_lifter_path().exists():
        args.append("--allow-untrained")
    runner = CliRunner()

    def both(tag):
        res = {}
        for mode, extra in (("local", []), ("ray", ["--ray", "auto"])):
            r = runner.invoke(app, args + ["-o", str(tmp_path / mode)] + extra)
            assert r.exit_code == 1, (tag, mode, r.output)  # the corrupt clip failed
            assert not ray.is_initialized()  # the instance `--ray auto` started is shut down
            res[mode] = _report(tmp_path / mode)
        return res

    first = both("first")
    assert _workers_ran_this_hotdemo(seen), seen
    (dl, local), (dr, dist) = first["local"], first["ray"]
    assert (dl["mode"], dl["workers"], dr["mode"], dr["workers"]) == ("local", 1, "ray", 2)
    assert dist == local and dr["counts"] == dl["counts"] == {"ok": 2, "failed": 1}
    assert local["corrupt.mp4"]["status"] == "failed" and "corrupt.mp4" in local["corrupt.mp4"]["error"]
    assert local["court.mp4"]["people"] >= 1 and local["indoor clip.mp4"]["people"] == 2
    files_local, files_ray = _tree(tmp_path / "local"), _tree(tmp_path / "ray")
    assert sorted(files_ray) == sorted(files_local)
    for stem in ("court", "indoor clip"):
        assert {f"{stem}/{stem}.json", f"{stem}/{stem}.npz", f"{stem}/{stem}_hotdemo.mp4"} <= set(files_local)
        for ext in ("json", "npz"):
            a, b = (load_export(tmp_path / m / stem / f"{stem}.{ext}") for m in ("local", "ray"))
            assert a.info == b.info and a.fps == b.fps
            # IDs from 0 in each clip, whichever clips the same pipeline (or worker) ran before
            assert [t.track_id for t in a.tracks2d] == [t.track_id for t in b.tracks2d]
            assert [t.track_id for t in a.tracks3d] == [t.track_id for t in b.tracks3d] and a.tracks3d
            for x, y in zip(a.tracks2d, b.tracks2d):
                assert np.array_equal(x.frames, y.frames)
                np.testing.assert_allclose(x.keypoints, y.keypoints, atol=1e-3)
                np.testing.assert_allclose(x.scores, y.scores, atol=1e-4)
            for x, y in zip(a.tracks3d, b.tracks3d):
                assert np.array_equal(x.frames, y.frames)
                np.testing.assert_allclose(x.joints_cam, y.joints_cam, atol=1e-4)
                np.testing.assert_allclose(x.joints_world, y.joints_world, atol=1e-4)
        frames = [len(list(iter_frames(tmp_path / m / stem / f"{stem}_hotdemo.mp4"))) for m in ("local", "ray")]
        assert frames == [24, 24]

    # resume: the done clips are skipped (their files untouched), the corrupt one is retried
    seen.clear()
    again = both("resume")
    (dl, local), (dr, dist) = again["local"], again["ray"]
    assert {k: v["status"] for k, v in dist.items()} == {"court.mp4": "skipped", "indoor clip.mp4": "skipped",
                                                         "corrupt.mp4": "failed"}
    assert dist == local and dr["counts"] == dl["counts"] == {"skipped": 2, "failed": 1}
    assert dr["mode"] == "ray" and dr["workers"] == 1  # one clip left to do: one worker
    assert _workers_ran_this_hotdemo(seen), seen
    assert local["court.mp4"]["frames"] == first["local"][1]["court.mp4"]["frames"]  # carried over
    for m, before in (("local", files_local), ("ray", files_ray)):
        after = _tree(tmp_path / m)
        assert {k: v for k, v in after.items() if k != B.REPORT_NAME} == \
            {k: v for k, v in before.items() if k != B.REPORT_NAME}, m


def test_resume_redoes_clips_when_a_model_file_or_an_option_changes(folder, tmp_path, monkeypatch):
    """The fingerprint holds the resolved weights files (size, mtime), not only their names."""
    det = tmp_path / "models" / "det.weights"
    det.parent.mkdir()
    det.write_bytes(b"\1" * 100)
    det.with_suffix(".cfg").write_text("[net]\n")
    shipped = tmp_path / "bundled" / "hot_mixste_h36m.pt"
    shipped.parent.mkdir()
    shipped.write_bytes(b"lifter v1")
    monkeypatch.setattr("hotdemo.core.paths.bundled_lifter_path", lambda: shipped)
    cfg = PipelineConfig(detector=str(det), pose2d=str(tmp_path / "models" / "pose.onnx"))
    (tmp_path / "models" / "pose.onnx").write_bytes(b"onnx v1")

    def redone(config=cfg):
        FakePipeline.calls = []
        run(folder, config=config)
        return sorted(c for c in FakePipeline.calls if c != "broken.mp4")

    both = ["a.mp4", "b clip é.mp4"]
    assert redone() == both
    assert redone() == []  # nothing changed: skipped
    # the detector file replaced (same path, same size, new content and time)
    det.write_bytes(b"\2" * 100)
    os.utime(det, ns=(1, det.stat().st_mtime_ns + 10**9))
    assert redone() == both and redone() == []
    # the Darknet .cfg beside it
    det.with_suffix(".cfg").write_text("[net]\nwidth=320\n")
    assert redone() == both and redone() == []
    # the 2D model file
    (tmp_path / "models" / "pose.onnx").write_bytes(b"onnx v2, longer")
    assert redone() == both and redone() == []
    # the shipped lifter replaced (the default lifter, no option names it)
    shipped.write_bytes(b"lifter v2, retrained")
    assert redone() == both and redone() == []
    # an option that changes the outputs
    assert redone(dataclasses.replace(cfg, det_conf=0.5)) == both
    assert redone(dataclasses.replace(cfg, det_conf=0.5)) == []
    assert redone(dataclasses.replace(cfg, det_conf=0.5, spin_deg_per_s=0.0)) == both
    # options that do not change them: still skipped
    assert redone(dataclasses.replace(cfg, det_conf=0.5, spin_deg_per_s=0.0, device="cpu", batch_size=2)) == []


def test_resume_redoes_clips_when_the_weights_behind_a_pose2d_spec_change(folder, tmp_path):
    """``--pose2d spec.json``: the weights file the spec names (relative to the JSON) is in the
    fingerprint, not only the JSON itself; so is a spec that names a built-in weights file."""
    models = tmp_path / "models"
    (models / "w").mkdir(parents=True)
    weights = models / "w" / "pose.pth"
    weights.write_bytes(b"\1" * 64)
    spec = models / "pose.json"
    spec.write_text(json.dumps({"name": "mine", "family": "hrnet", "input_wh": [192, 256], "weights": "w/pose.pth"}))
    cfg = PipelineConfig(pose2d=str(spec))

    def redone(config=cfg):
        FakePipeline.calls = []
        run(folder, config=config)
        return sorted(c for c in FakePipeline.calls if c != "broken.mp4")

    both = ["a.mp4", "b clip é.mp4"]
    assert redone() == both and redone() == []
    # the weights replaced (same path, same size), the JSON untouched
    weights.write_bytes(b"\2" * 64)
    os.utime(weights, ns=(1, weights.stat().st_mtime_ns + 10**9))
    assert redone() == both and redone() == []
    # the spec pointing at another file
    other = models / "w" / "other.pth"
    other.write_bytes(b"\3" * 64)
    spec.write_text(json.dumps({"name": "mine", "family": "hrnet", "input_wh": [192, 256], "weights": str(other)}))
    assert redone() == both and redone() == []
    other.write_bytes(b"\4" * 80)
    assert redone() == both and redone() == []
    # a spec naming a built-in weights file: its pinned sha256 is what counts
    fp = B.config_fingerprint(PipelineConfig(pose2d=str(spec)))["weights_files"]["pose2d"]
    assert fp["weights"]["path"] == str(other.resolve()) and fp["weights"]["size"] == 80
    spec.write_text(json.dumps({"name": "mine", "family": "hrnet", "input_wh": [192, 256],
                                "weights": "hrnet_w32_coco_256x192"}))
    fp = B.config_fingerprint(PipelineConfig(pose2d=str(spec)))["weights_files"]["pose2d"]
    from hotdemo.io.weights import get_spec

    assert fp["weights"] == {"name": "hrnet_w32_coco_256x192", "sha256": get_spec("hrnet_w32_coco_256x192").sha256}
    assert fp["spec"]["path"] == str(spec.resolve())

