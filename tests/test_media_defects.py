"""Odd media files and output-folder defects found on a fresh install (issue 11, point 4).

Every input is made here with the bundled ffmpeg (tiny sizes, a few frames). The pipeline
cases use the stand-in person detector of test_robustness (the white blob is the person)
and an untrained lifter, through the real CLI where the case is about the CLI.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hotdemo import pipeline as pipeline_mod
from hotdemo.render import render as render_mod
from hotdemo.io import video as video_mod
from hotdemo.io.video import metadata as video_metadata
from hotdemo.cli import app
from hotdemo.core.errors import OutputError
from hotdemo.io.outdir import LOCK_NAME, RUN_RECORD, OutputFolder
from hotdemo.io.video import count_frames, ffmpeg_exe, probe

from test_robustness import BlobFrontend, fake_frontend, flat, person_frames, pipeline, write_video  # noqa: F401

runner = CliRunner()


def ff(*args) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *map(str, args)], check=True)


def one_line(res, code: int, *needles: str) -> str:
    assert res.exit_code == code, res.output
    lines = [ln for ln in res.output.strip().splitlines() if ln.strip()]
    text = flat(res)
    assert lines[-1].startswith("error:") and "Traceback" not in res.output, res.output
    assert len([ln for ln in lines if "error" in ln]) == 1, res.output  # progress bars may precede it
    for n in needles:
        assert n in text, res.output
    return text


def hidden_or_temp(folder: Path):
    return [p for p in folder.rglob("*") if p.name.startswith(".") or p.suffix in (".tmp", ".part")]


# ---------------------------------------------------------------- frame counts
def _concatenated_ts(tmp_path: Path) -> Path:
    part = write_video(tmp_path / "part.ts", person_frames(60))
    out = tmp_path / "joined.ts"
    out.write_bytes(part.read_bytes() * 2)  # `cat a.ts b.ts`: 120 frames, the header says 2 s = 60
    return out


def _sparse_mkv(tmp_path: Path) -> Path:
    src = write_video(tmp_path / "src.mp4", person_frames(30), fps=25)
    out = tmp_path / "sparse.mkv"  # the last frame 34 hours after the others: "3 million frames"
    ff("-i", src, "-vf", "setpts='if(eq(N,29),PTS+125000/TB,PTS)'", "-c:v", "libx264", "-preset", "ultrafast",
       "-pix_fmt", "yuv420p", out)
    return out


def _raw_h264(tmp_path: Path) -> Path:
    return write_video(tmp_path / "raw.h264", person_frames(30), extra=("-f", "h264"))  # no duration at all


@pytest.mark.parametrize("make, real", [(_concatenated_ts, 120), (_sparse_mkv, 30), (_raw_h264, 30)])
def test_frame_counts_are_decoded_counts(tmp_path, monkeypatch, make, real):
    v = make(tmp_path)
    assert count_frames(v) == real
    totals = {}
    original = pipeline_mod._Progress.task

    def task(self, description, total):
        totals[description] = total
        return original(self, description, total)

    monkeypatch.setattr(pipeline_mod._Progress, "task", task)
    p = pipeline(exports=("json", "npz"))
    p.verbose = True
    r = p.run(v, tmp_path / "out")
    assert r.frames == real
    doc = json.loads((tmp_path / "out" / f"{v.stem}.json").read_text())
    assert doc["video"]["frame_count"] == real
    assert int(np.load(tmp_path / "out" / f"{v.stem}.npz")["video_frame_count"]) == real
    # every bar's total is the real count, or unknown (an indeterminate bar), never the header's guess
    assert totals["2D"] in (real, None) and totals["render"] == real
    assert count_frames(tmp_path / "out" / f"{v.stem}_hotdemo.mp4") == real


# ---------------------------------------------------------------- what is (not) a video
def test_audio_with_cover_art_is_not_a_video(tmp_path):
    cover = tmp_path / "cover.png"
    ff("-f", "lavfi", "-i", "color=c=red:size=64x64:d=0.04", "-frames:v", "1", cover)
    song = tmp_path / "song.mp3"
    ff("-f", "lavfi", "-i", "sine=d=2", "-i", cover, "-map", "0", "-map", "1", "-c:a", "libmp3lame",
       "-c:v", "mjpeg", "-disposition:v:0", "attached_pic", "-id3v2_version", "3", song)
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", str(song), "-o", str(out)])
    one_line(res, 2, "song.mp3", "cover art", "not a video")
    assert not out.exists()


def test_video_with_cover_art_uses_the_real_video_stream(tmp_path):
    clip = write_video(tmp_path / "clip.mp4", person_frames(12, w=96, h=64))
    cover = tmp_path / "cover.png"
    ff("-f", "lavfi", "-i", "color=c=red:size=32x32:d=0.04", "-frames:v", "1", cover)
    both = tmp_path / "both.mkv"  # the picture comes first
    ff("-i", cover, "-i", clip, "-map", "1:v", "-c", "copy", "-attach", cover, "-metadata:s:t", "mimetype=image/png",
       both)
    info = probe(both)
    assert (info.width, info.height, info.frame_count) == (96, 64, 12)
    assert count_frames(both) == 12


def test_timelapse_keeps_the_source_timing(tmp_path):
    src = write_video(tmp_path / "src.mp4", person_frames(5), fps=1)
    tl = tmp_path / "timelapse.mp4"  # one frame an hour
    ff("-i", src, "-vf", "settb=1/1,setpts=N*3600", "-r", "1/3600", "-c:v", "libx264", "-preset", "ultrafast",
       "-pix_fmt", "yuv420p", tl)
    info = probe(tl)
    assert info.fps == pytest.approx(1 / 3600, rel=1e-6)
    r = pipeline().run(tl, tmp_path / "out")
    out = probe(r.out_dir / "timelapse_hotdemo.mp4")
    assert out.frame_count == 5
    assert out.fps == pytest.approx(1 / 3600, rel=0.01)  # not 16 or 25 fps
    assert out.duration == pytest.approx(5 * 3600, rel=0.01)


def test_tiny_video_is_too_small(tmp_path):
    v = tmp_path / "tiny.mp4"
    ff("-f", "lavfi", "-i", "testsrc=size=8x8:rate=10", "-frames:v", "5", "-c:v", "libx264", "-preset", "ultrafast",
       "-pix_fmt", "yuv444p", v)
    res = runner.invoke(app, ["run", str(v), "-o", str(tmp_path / "out")])
    one_line(res, 2, "tiny.mp4", "8x8 pixels, too small")
    assert not (tmp_path / "out").exists()
    ok = tmp_path / "small.mp4"
    ff("-f", "lavfi", "-i", "testsrc=size=16x16:rate=10", "-frames:v", "5", "-c:v", "libx264", "-preset", "ultrafast",
       "-pix_fmt", "yuv444p", ok)
    assert (probe(ok).width, probe(ok).height) == (16, 16)


def test_anamorphic_video_is_processed_in_display_geometry(tmp_path):
    stored = person_frames(12, w=64, h=48)  # the person is 14 stored pixels wide
    src = write_video(tmp_path / "src.mp4", stored)
    v = tmp_path / "anamorphic.mp4"
    ff("-i", src, "-vf", "setsar=2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", v)
    info = probe(v)
    assert (info.width, info.height, info.pixel_aspect) == (128, 48, 2.0)
    fe = BlobFrontend()
    p = pipeline()
    p.frontend = fe
    r = p.run(v, tmp_path / "out")
    assert set(fe.shapes) == {(48, 128, 3)}  # the models saw square pixels
    (t,) = json.loads((tmp_path / "out" / "anamorphic.json").read_text())["tracks"]
    box = np.array(t["boxes"])
    widths, heights = box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]
    assert np.allclose(widths, 28, atol=3) and np.allclose(heights, 32, atol=2)  # 14 stored px = 28 displayed
    doc = json.loads((tmp_path / "out" / "anamorphic.json").read_text())
    assert (doc["video"]["width"], doc["video"]["height"]) == (128, 48)
    out = probe(r.out_dir / "anamorphic_hotdemo.mp4")
    assert out.pixel_aspect == 1.0


# ---------------------------------------------------------------- track IDs
def test_unknown_track_id_lists_the_track_ids(tmp_path, fake_frontend):
    v = write_video(tmp_path / "walk.mp4", person_frames(20))
    out = tmp_path / "new" / "out"
    res = runner.invoke(app, ["run", str(v), "-o", str(out), "--track-id", "99"] + fake_frontend)
    text = one_line(res, 2, "walk.mp4", "no track 99", "track IDs are: 0 (20 frames)")
    assert "no person was found" not in text
    assert not (tmp_path / "new").exists()  # a failed run leaves no empty folder behind


# ---------------------------------------------------------------- warnings
def test_unknown_frame_rate_is_one_warning(tmp_path, fake_frontend, monkeypatch):
    import re

    original = video_mod.parse_ffmpeg_info

    def no_rate(path, text):  # what ffmpeg prints for a stream without any rate
        return original(path, re.sub(r", [\d.]+k? (fps|tbr)", "", text))

    monkeypatch.setattr(video_metadata, "parse_ffmpeg_info", no_rate)  # what probe calls
    v = write_video(tmp_path / "norate.mp4", person_frames(12))
    res = runner.invoke(app, ["run", str(v), "-o", str(tmp_path / "out")] + fake_frontend)
    assert res.exit_code == 0, res.output
    text = flat(res)
    assert text.count("assuming 25 fps") == 1, res.output
    assert "warning: norate.mp4: the frame rate is unknown; assuming 25 fps" in text


# ---------------------------------------------------------------- output folders
def test_same_stem_from_two_folders_is_refused_without_overwrite(tmp_path, fake_frontend, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run a").mkdir()
    (tmp_path / "run b").mkdir()
    a = write_video(tmp_path / "run a" / "clip.mp4", person_frames(12))
    b = write_video(tmp_path / "run b" / "clip.mp4", person_frames(15))
    assert runner.invoke(app, ["run", str(a)] + fake_frontend).exit_code == 0
    out = tmp_path / "hotdemo_out" / "clip"
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert json.loads((out / RUN_RECORD).read_text())["input"] == str(a.resolve())

    res = runner.invoke(app, ["run", str(b)] + fake_frontend)
    one_line(res, 4, "already holds the outputs of", "run a", "--overwrite")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    assert runner.invoke(app, ["run", str(a)] + fake_frontend).exit_code == 0  # the same input: fine
    res = runner.invoke(app, ["run", str(b), "--overwrite"] + fake_frontend)
    assert res.exit_code == 0, res.output
    assert json.loads((out / RUN_RECORD).read_text())["input"] == str(b.resolve())
    assert json.loads((out / "clip.json").read_text())["video"]["frame_count"] == 15
    assert hidden_or_temp(out) == []


def test_a_folder_being_written_is_locked(tmp_path, fake_frontend):
    v = write_video(tmp_path / "walk.mp4", person_frames(12))
    out = tmp_path / "out"
    with OutputFolder(out, v):  # another run holds the folder
        res = runner.invoke(app, ["run", str(v), "-o", str(out)] + fake_frontend)
        one_line(res, 4, "another hotdemo run", "is writing to", str(out))
        with pytest.raises(OutputError, match="another hotdemo run"):
            pipeline().run(v, out)
    assert not out.exists()  # the holder created it and wrote nothing
    assert runner.invoke(app, ["run", str(v), "-o", str(out)] + fake_frontend).exit_code == 0
    assert not (out / LOCK_NAME).exists() and hidden_or_temp(out) == []


def test_a_second_process_sees_the_lock(tmp_path):
    """The lock holds across processes (flock), and dies with its holder."""
    import sys
    import textwrap

    v = write_video(tmp_path / "walk.mp4", person_frames(5))
    out = tmp_path / "out"
    code = textwrap.dedent(f"""
        import sys, time
        from hotdemo.io.outdir import OutputFolder
        with OutputFolder({str(out)!r}, {str(v)!r}):
            print("locked", flush=True)
            sys.stdin.readline()
    """)
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(OutputError, match=rf"another hotdemo run \(pid {holder.pid}\)"):
            with OutputFolder(out, v):
                pass
    finally:
        holder.kill()
        holder.wait()
    assert list(out.glob(".hotdemo-staging-*"))  # a killed run's staging folder is left...
    with OutputFolder(out, v):  # ...and a killed holder leaves no stale lock
        pass
    assert sorted(p.name for p in out.iterdir()) == []  # the next run cleared the leftovers


def test_ctrl_c_during_render_keeps_the_previous_outputs_only(tmp_path, fake_frontend, monkeypatch):
    v = write_video(tmp_path / "walk.mp4", person_frames(20))
    out = tmp_path / "out"
    assert runner.invoke(app, ["run", str(v), "-o", str(out)] + fake_frontend).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(before) == {"walk.json", "walk_hotdemo.mp4", RUN_RECORD}

    original = render_mod.Renderer.render

    def interrupted(self, frame, i):
        if i == 5:
            raise KeyboardInterrupt
        return original(self, frame, i)

    monkeypatch.setattr(render_mod.Renderer, "render", interrupted)
    res = runner.invoke(app, ["run", str(v), "-o", str(out), "--allow-untrained", "--device", "cpu",
                              "--export", "json,csv,npz"])
    one_line(res, 130, "interrupted")
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert after == before  # no new export beside the old video, nothing staged left over


def test_a_complete_run_replaces_the_previous_runs_files(tmp_path, fake_frontend):
    v = write_video(tmp_path / "walk.mp4", person_frames(20))
    out = tmp_path / "out"
    args = ["run", str(v), "-o", str(out), "--allow-untrained", "--device", "cpu"]
    assert runner.invoke(app, args + ["--export", "json,csv"]).exit_code == 0
    (out / "my notes.txt").write_text("mine")
    assert runner.invoke(app, args + ["--export", "npz", "--no-render"]).exit_code == 0
    # the folder holds one run's outputs: the old video, JSON and CSV would be stale; other files stay
    assert sorted(p.name for p in out.iterdir()) == sorted(["walk.npz", RUN_RECORD, "my notes.txt"])


def test_batch_refuses_a_clip_folder_of_another_input(tmp_path):
    from hotdemo.batch import run_batch

    for sub, n in (("a", 12), ("b", 15)):
        (tmp_path / sub).mkdir()
        write_video(tmp_path / sub / "clip.mp4", person_frames(n))
    out = tmp_path / "out"
    kw = dict(config=pipeline().config, pipeline_factory=lambda cfg: pipeline(), verbose=False)
    assert run_batch(tmp_path / "a", out, **kw).ok
    r = run_batch(tmp_path / "b", out, **kw)
    assert not r.ok and "already holds the outputs of" in r.clips[0].error
    assert json.loads((out / "clip" / "clip.json").read_text())["video"]["frame_count"] == 12
    assert run_batch(tmp_path / "b", out, overwrite=True, **kw).ok
    assert json.loads((out / "clip" / RUN_RECORD).read_text())["input"] == str((tmp_path / "b" / "clip.mp4").resolve())
