"""`hotdemo lift` on bad or unusual input: one-line errors before anything is written, streamed
exports, a per-frame 3D progress bar, the shared lifter options and --people / --track-id."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import hotdemo.io.formats as formats
from hotdemo.io.formats import csv_file, json_file
from hotdemo.cli import app
from hotdemo.core.errors import InputError
from hotdemo.io.formats import write_exports
from hotdemo.io.formats.keypoints import load_export
from hotdemo.core.synthetic import synthetic_scene
from hotdemo.core.types import Track2D, Track3D, VideoInfo
from hotdemo.post.world import estimate_world_rotation, to_world

runner = CliRunner()
SAMPLE = dict(np.load(__import__("pathlib").Path(__file__).parent.parent / "samples" / "walk_coco2d.npz"))


def _npz(path, **over):
    d = {k: v[:60] if k in ("keypoints", "scores") else v for k, v in SAMPLE.items()}
    d.update(over)
    np.savez(path, **d)
    return path


def _json(tmp_path, name="clip", people=2, T=40, edit=None):
    info, t2, _, _, _ = synthetic_scene(people, T, fps=25.0)
    write_exports(tmp_path, name, info, t2, [], formats=("json",))
    p = tmp_path / f"{name}.json"
    if edit is not None:
        doc = json.loads(p.read_text())
        edit(doc)
        p.write_text(json.dumps(doc))
    return p


def _lift(args):
    return runner.invoke(app, ["lift", *map(str, args), "--allow-untrained", "--device", "cpu"])


def _assert_one_line_error(r, what):
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and r.exception is None or isinstance(r.exception, SystemExit)
    lines = [x for x in r.output.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and what in lines[0], r.output


@pytest.mark.parametrize("name,over,what", [
    ("w04", dict(width=np.float64(0.4)), "width and height"),
    ("winf", dict(width=np.float64(np.inf)), "width and height"),
    ("fnan", dict(fps=np.float64(np.nan)), "fps"),
    ("finf", dict(fps=np.float64(np.inf)), "fps"),
    ("fneg", dict(fps=np.float64(-5)), "fps"),
    ("huge", dict(keypoints=SAMPLE["keypoints"][:60] * 1e30), "far outside"),
    ("allnan", dict(keypoints=np.full((60, 17, 2), np.nan, np.float32)), "every keypoint is NaN"),
    ("inf", dict(keypoints=np.where(np.arange(17)[:, None] == 3, np.inf, SAMPLE["keypoints"][:60])), "infinite"),
    ("shape", dict(keypoints=np.zeros((60, 18, 2), np.float32)), "(T, 17, 2)"),
])
def test_bad_plain_npz_is_one_line_and_writes_nothing(tmp_path, name, over, what):
    out = tmp_path / "out"
    r = _lift([_npz(tmp_path / f"{name}.npz", **over), "-o", out, "--export", "json,npz,csv,bvh"])
    _assert_one_line_error(r, what)
    assert not out.exists() or list(out.iterdir()) == []


def test_plain_npz_nan_joints_are_repaired_like_missing_ones(tmp_path):
    """NaN in a plain keypoints NPZ marks a missing joint, as ``null`` does in an export: it gets
    score 0 and is repaired like a low-score joint (interpolated in time), so the 3D is the same
    as lifting the file with those joints' scores set to 0 instead."""
    from hotdemo.io.formats.keypoints import load_keypoints

    kp, sc = SAMPLE["keypoints"][:60].copy(), SAMPLE["scores"][:60].copy()
    holes = kp.copy()
    holes[30, 9] = np.nan  # a wrist
    holes[31, 10, 1] = np.nan  # one coordinate only: the whole joint is missing
    holes[40] = np.nan  # nobody in this frame
    zero = sc.copy()
    zero[30, 9] = zero[31, 10] = zero[40] = 0.0
    a = _npz(tmp_path / "holes.npz", keypoints=holes)
    b = _npz(tmp_path / "zero.npz", scores=zero)
    (t,), w, h, fps = load_keypoints(a)
    assert np.isnan(t.keypoints[[30, 31, 40]]).sum() == 2 * (1 + 1 + 17)
    assert np.array_equal(t.scores, zero) and np.isfinite(t.boxes).all()
    lifted = {}
    for p in (a, b):
        r = _lift([p, "-o", tmp_path / p.stem, "--export", "npz"])
        assert r.exit_code == 0, r.output
        (lifted[p.stem],) = load_export(tmp_path / p.stem / f"{p.stem}.npz").tracks3d
    assert len(lifted["holes"]) == 60 and np.isfinite(lifted["holes"].joints_cam).all()
    np.testing.assert_allclose(lifted["holes"].joints_cam, lifted["zero"].joints_cam, atol=1e-4)


@pytest.mark.parametrize("edit,what", [
    (lambda d: d["video"].update(width=0), "width and height"),
    (lambda d: d["video"].update(fps=float("nan")), "fps"),
    (lambda d: [t.update(keypoints_2d=(np.array(t["keypoints_2d"]) * 1e30).tolist()) for t in d["tracks"]],
     "far outside"),
])
def test_bad_json_export_is_one_line_and_writes_nothing(tmp_path, edit, what):
    p = _json(tmp_path, edit=edit)
    out = tmp_path / "out"
    r = _lift([p, "-o", out, "--export", "json,npz,csv,bvh"])
    _assert_one_line_error(r, what)
    assert not out.exists() or list(out.iterdir()) == []


def test_every_format_is_checked_before_any_is_written(tmp_path):
    """A 3D track the BVH writer cannot hold fails before the JSON, NPZ and CSV are written."""
    info, t2, t3, _, _ = synthetic_scene(1, 20)
    t3 = to_world(t3, estimate_world_rotation(t3), t2, info)
    bad = Track3D(t3[0].track_id, t3[0].frames, t3[0].joints_cam, joints_world=np.full_like(t3[0].joints_cam, np.nan))
    with pytest.raises(InputError, match="BVH for track"):
        write_exports(tmp_path, "c", info, t2, [bad], formats=("json", "npz", "csv", "bvh"))
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(InputError, match="video fps is nan"):
        write_exports(tmp_path, "c", VideoInfo("v", 64, 48, float("nan"), 1), [], [], formats=("json",))
    assert list(tmp_path.iterdir()) == []


def test_lifter_output_that_is_not_finite_fails_before_the_exports(tmp_path):
    from hotdemo.lift.lifter import load_lifter
    from hotdemo.pipeline import lift_and_export

    info, t2, _, _, _ = synthetic_scene(1, 20)

    broken = load_lifter(None, allow_untrained=True, device="cpu")  # a lifter whose model gives NaN
    broken.model_output = lambda kp, *a, **k: np.full((len(kp), 17, 3), np.nan, np.float32)

    with pytest.raises(InputError, match="no valid 3D pose for 20 of 20 frames"):
        lift_and_export(broken, t2, info, tmp_path, "c", ("json",))
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- streamed writers
def test_streamed_json_and_csv_do_not_depend_on_the_chunk_size(tmp_path, monkeypatch):
    """JSON and CSV are formatted a chunk of frames at a time; the bytes are the same for any
    chunk size, with people entering and leaving, missing values and unsorted tracks."""
    info, t2, t3, _, _ = synthetic_scene(3, 50, noise_px=0.5, seed=1)
    t3 = to_world(t3, estimate_world_rotation(t3), t2, info)
    late = t2[1]
    t2[1] = Track2D(late.track_id, late.frames[::-1] + 7, late.keypoints[::-1], late.scores[::-1], late.boxes[::-1])
    t2[0].keypoints[13, 4] = np.nan
    t3[2].joints_cam[40, 1] = np.nan
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_exports(tmp_path / "a", "c", info, t2, t3, formats=("json", "csv"))
    monkeypatch.setattr(json_file, "_CHUNK", 3)
    monkeypatch.setattr(csv_file, "_CHUNK", 3)
    write_exports(tmp_path / "b", "c", info, t2, t3, formats=("json", "csv"))
    for f in ("c.json", "c.csv"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    rows = csv_file.read_csv(tmp_path / "b" / "c.csv")
    key = np.stack([rows["frame"], rows["track_id"], rows["skeleton"] == "h36m17", rows["joint_index"]], 1)
    assert (np.diff(key[:, 0]) >= 0).all()  # frame order across people
    assert len(np.unique(key, axis=0)) == len(key) == 17 * 2 * 150
    d = load_export(tmp_path / "b" / "c.json")
    assert np.isnan(d.tracks2d[0].keypoints[13, 4]).all() and np.isnan(d.tracks3d[2].joints_cam[40, 1]).all()


# ---------------------------------------------------------------- progress
def test_3d_progress_counts_frames():
    from hotdemo.lift.lifter import load_lifter

    lifter = load_lifter(None, allow_untrained=True, device="cpu", batch_size=1)  # one window per forward pass: several ticks whatever the window length
    kp = SAMPLE["keypoints"][:200].astype(np.float32)
    from hotdemo.detect.assemble import to_h36m

    h = to_h36m(Track2D(0, np.arange(200), kp, SAMPLE["scores"][:200], np.zeros((200, 4), np.float32)))
    ticks = []
    out = lifter(h, 1000, 600, progress=ticks.append)
    assert sum(ticks) == 200 and len(ticks) > 2 and len(out) == 200
    assert np.array_equal(out.joints_cam, lifter(h, 1000, 600).joints_cam)  # the callback changes nothing


def test_lift_shows_a_per_frame_3d_bar(tmp_path):
    """`hotdemo lift` draws the 3D stage's bar counting frames (all tracks together)."""
    p = _json(tmp_path, people=2, T=40)
    r = runner.invoke(app, ["lift", str(p), "-o", str(tmp_path / "o"), "--allow-untrained", "--device", "cpu"],
                      env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    (bar,) = [x for x in r.output.splitlines() if x.lstrip().startswith("3D")]
    assert "80/80" in bar, r.output


# ---------------------------------------------------------------- options
# that run / batch / lift pass every option into the config: tests/test_cli.py
# (test_run_batch_and_lift_options_reach_the_pipeline_config)
def test_config_turns_the_no_flags_into_lifter_settings():
    from hotdemo.cli import _config

    c = _config({"export": "json", "no_flip": True, "no_overlap": False, "no_smooth": True})
    assert (c.flip, c.overlap, c.smooth) == (False, True, False)


def test_lift_people_and_track_id(tmp_path):
    p = _json(tmp_path, people=3, T=30)
    ids = [t.track_id for t in load_export(p).tracks2d]
    r = _lift([p, "-o", tmp_path / "one", "--track-id", ids[1], "--export", "npz"])
    assert r.exit_code == 0, r.output
    d = load_export(tmp_path / "one" / "clip.npz")
    assert [t.track_id for t in d.tracks3d] == [ids[1]] and [t.track_id for t in d.tracks2d] == [ids[1]]
    r = _lift([p, "-o", tmp_path / "two", "--people", "2", "--export", "npz"])
    assert r.exit_code == 0 and len(load_export(tmp_path / "two" / "clip.npz").tracks3d) == 2
    r = _lift([p, "-o", tmp_path / "none", "--track-id", "99"])
    _assert_one_line_error(r, f"no track 99; its track IDs are {', '.join(map(str, sorted(ids)))}")


@pytest.mark.parametrize("suffix", ["json", "npz"])
def test_lift_of_a_run_export_keeps_the_video_metadata(tmp_path, suffix):
    """What `run` recorded about the video (path, size, fps, frame count, rotation, audio,
    codec) is in the exports `lift` writes from its export, not the keypoint file's path and
    the last tracked frame + 1 as the frame count."""
    from dataclasses import replace

    from hotdemo.pipeline import PipelineConfig, lift_keypoints_file

    base, t2, _, _, _ = synthetic_scene(2, 40, fps=25.0)
    info = replace(base, path="/videos/holiday clip.mov", fps=29.97, frame_count=55, rotation=90,
                   has_audio=True, codec="hevc")
    (tmp_path / "run").mkdir()
    write_exports(tmp_path / "run", "clip", info, t2, [], formats=(suffix,))
    res = lift_keypoints_file(tmp_path / "run" / f"clip.{suffix}", tmp_path / "out",
                              PipelineConfig(exports=("json", "npz")), lifter=_untrained())
    assert res.frames == 55 and res.people == 2
    for f in ("clip.json", "clip.npz"):
        got = load_export(tmp_path / "out" / f).info
        assert got == info, (f, got)
        assert len(load_export(tmp_path / "out" / f).tracks3d[0]) == 40


def test_lift_of_an_export_without_a_frame_count_counts_the_tracked_frames(tmp_path):
    """An export that records no frame count (0: unknown) gets the last tracked frame + 1."""
    from hotdemo.pipeline import PipelineConfig, lift_keypoints_file

    p = _json(tmp_path, people=1, T=30, edit=lambda d: d["video"].update(frame_count=0))
    res = lift_keypoints_file(p, tmp_path / "out", PipelineConfig(exports=("npz",)), lifter=_untrained())
    assert res.frames == 30 and load_export(tmp_path / "out" / "clip.npz").info.frame_count == 30


_LIFTER = []


def _untrained():
    if not _LIFTER:
        from hotdemo.lift.lifter import load_lifter

        _LIFTER.append(load_lifter(None, allow_untrained=True, device="cpu"))
    return _LIFTER[0]


def test_lift_people_on_an_export_without_tracks_warns_like_run(tmp_path):
    """No person in the export: `lift --people N` writes exports with no tracks and warns (as
    `run` does on a video where nobody is found), exit 0; `--track-id` still names the IDs."""
    info = VideoInfo("empty.mp4", 64, 48, 25.0, 30)
    write_exports(tmp_path, "empty", info, [], [], formats=("json",))
    p = tmp_path / "empty.json"
    for args, out in ((["--people", "2"], tmp_path / "two"), ([], tmp_path / "all")):
        r = _lift([p, "-o", out, "--export", "json,npz", *args])
        assert r.exit_code == 0, r.output
        assert "Traceback" not in r.output and "None" not in r.output
        assert "warning:" in r.output and "no track" in r.output and "outputs have no tracks" in r.output, r.output
        d = load_export(out / "empty.npz")
        assert d.tracks2d == [] and d.tracks3d == []
    r = _lift([p, "-o", tmp_path / "id", "--track-id", "3"])
    _assert_one_line_error(r, "no track 3; its track IDs are (none)")


# ---------------------------------------------------------------- output folder (the same as `run`'s)
def _record(folder):
    from hotdemo.io.outdir import RUN_RECORD

    return json.loads((folder / RUN_RECORD).read_text())


def _contents(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_lift_same_stem_from_two_folders_is_refused_without_overwrite(tmp_path):
    from hotdemo.io.outdir import OutputFolder

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = _npz(tmp_path / "a" / "x.npz")
    b = _npz(tmp_path / "b" / "x.npz", keypoints=SAMPLE["keypoints"][:45], scores=SAMPLE["scores"][:45])
    out = tmp_path / "out"
    assert _lift([a, "-o", out]).exit_code == 0
    assert _record(out)["input"] == str(a.resolve()) and _record(out)["outputs"] == ["x.json", "x.npz"]
    before = _contents(out)

    r = _lift([b, "-o", out, "--export", "json,npz,csv"])
    assert r.exit_code == 4 and "already holds the outputs of" in r.output and "--overwrite" in r.output, r.output
    assert [x for x in r.output.splitlines() if x.strip()][-1].startswith("error:") and "Traceback" not in r.output
    assert _contents(out) == before

    with OutputFolder(out, a):  # a lift writing there now: the folder is locked
        r = _lift([a, "-o", out])
        assert r.exit_code == 4 and "another hotdemo run" in r.output, r.output
    assert _lift([a, "-o", out]).exit_code == 0  # the same input again: fine
    r = _lift([b, "-o", out, "--overwrite", "--export", "npz"])
    assert r.exit_code == 0, r.output
    assert _record(out)["input"] == str(b.resolve())
    assert sorted(p.name for p in out.iterdir()) == ["hotdemo_run.json", "x.npz"]  # a's JSON is not left beside
    assert len(load_export(out / "x.npz").tracks3d[0]) == 45


@pytest.mark.parametrize("failure, code", [(KeyboardInterrupt, 130), ("disk full", 4)])
def test_lift_failing_exporter_leaves_the_previous_outputs(tmp_path, monkeypatch, failure, code):
    """The exports are staged and appear together: an exporter failing (or Ctrl-C) after the JSON
    and NPZ were written leaves the previous lift's files, not a half set of new ones beside them."""
    import dataclasses

    from hotdemo.core.errors import OutputError

    kp = _npz(tmp_path / "x.npz")
    out = tmp_path / "out"
    assert _lift([kp, "-o", out, "--export", "json,csv", "--no-smooth"]).exit_code == 0
    before = _contents(out)

    def broken(job):
        assert (job.out_dir / "x.json").is_file()  # written (staged) before this one fails
        if failure is KeyboardInterrupt:
            raise KeyboardInterrupt
        raise OutputError(f"cannot write {job.out_dir / 'x.csv'}: {failure}")

    monkeypatch.setitem(formats.EXPORT_FORMATS, "csv", dataclasses.replace(formats.EXPORT_FORMATS["csv"], write=broken))
    r = _lift([kp, "-o", out, "--export", "json,npz,csv"])
    assert r.exit_code == code, r.output
    assert "Traceback" not in r.output and [x for x in r.output.splitlines() if x.strip()][-1].startswith("error:")
    assert _contents(out) == before  # no new x.json / x.npz beside the old x.csv, nothing staged left

    fresh = tmp_path / "fresh" / "out"
    assert _lift([kp, "-o", fresh, "--export", "json,csv"]).exit_code == code
    assert not (tmp_path / "fresh").exists()  # a failed lift leaves no empty folder behind
