"""CLI behaviour through Typer's runner: help texts, version, one-line errors with exit codes."""

import re

import numpy as np
import pytest
from typer.testing import CliRunner

from hotdemo import __version__
from hotdemo.cli import app
from hotdemo.core.paths import OFFLINE_DETECTOR

runner = CliRunner()


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_version():
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0
    assert r.output.strip() == f"hotdemo {__version__}"


@pytest.mark.parametrize("cmd", [[], ["run"], ["lift"], ["batch"], ["weights"]])
def test_help_texts(cmd):
    r = runner.invoke(app, cmd + ["--help"])
    assert r.exit_code == 0, r.output
    out = _plain(r.output)
    assert "Usage" in out
    if cmd == ["run"]:
        for opt in ("--detector", "--pose2d", "--lifter", "--lifter-checkpoint", "--device", "--output", "--export"):
            assert opt in out


def test_run_missing_input_is_one_line_exit_2(tmp_path):
    r = runner.invoke(app, ["run", str(tmp_path / "nope.mp4")])
    assert r.exit_code == 2
    lines = [l for l in _plain(r.output).splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "nope.mp4" in lines[0]
    assert "Traceback" not in r.output


def test_run_non_video_is_one_line_exit_2(tmp_path):
    p = tmp_path / "notes.mp4"
    p.write_text("this is not a video\n")
    r = runner.invoke(app, ["run", str(p)])
    assert r.exit_code == 2
    lines = [l for l in _plain(r.output).splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:")


def test_lift_missing_input(tmp_path):
    r = runner.invoke(app, ["lift", str(tmp_path / "none.npz")])
    assert r.exit_code == 2
    assert _plain(r.output).strip().startswith("error:")


def test_unknown_export_format(tmp_path):
    p = tmp_path / "k.npz"
    np.savez(p, keypoints=np.zeros((5, 17, 2)), width=100, height=100)
    r = runner.invoke(app, ["lift", str(p), "--export", "json,xls"])
    assert r.exit_code == 2
    assert "xls" in _plain(r.output)


def test_detector_options_on_the_command_line(shared, tmp_path):
    det = str(shared / OFFLINE_DETECTOR)
    r = runner.invoke(app, ["run", str(shared / "videos/two_people_indoor.mp4"), "-o", str(tmp_path / "o"),
                            "--detector", det, "--det-size", "300", "--det-conf", "0.5", "--pose-flip"])
    assert r.exit_code == 2
    lines = [l for l in _plain(r.output).splitlines() if l.strip()]
    assert lines[-1].startswith("error:") and "multiple of 32" in lines[-1] and "Traceback" not in r.output
    r = runner.invoke(app, ["run", str(shared / "videos/two_people_indoor.mp4"), "--det-conf", "1.5"])
    assert r.exit_code == 2 and "--det-conf" in _plain(r.output)


def test_help_reads_right():
    """Flags look like flags, the argument like an argument, and bracketed help text is kept."""
    env = {"COLUMNS": "200"}
    out = _plain(runner.invoke(app, ["run", "--help"], env=env).output)
    assert "Usage: hotdemo run [OPTIONS] VIDEO" in out
    assert "<bool>" not in out and "{video}" not in out
    flags = [l for l in out.splitlines() if "--allow-untrained" in l or "--no-render" in l or "--pose-flip" in l]
    assert len(flags) == 3 and all("<" not in l for l in flags)
    assert "<path>" in out and "<float" in out  # options that take values still show their type
    assert "needs hotdemo[ray]" in _plain(runner.invoke(app, ["batch", "--help"], env=env).output)
    train = _plain(runner.invoke(app, ["train", "--help"], env=env).output)
    dim = next(l for l in train.splitlines() if "--dim" in l)
    assert "[default: 128]" in dim
    assert "<bool>" not in _plain(runner.invoke(app, ["--help"], env=env).output)
    assert "Usage: hotdemo weights verify [OPTIONS] [NAMES...]" in _plain(
        runner.invoke(app, ["weights", "verify", "--help"], env=env).output)


def test_unknown_view_is_one_line_exit_2(shared, tmp_path):
    r = runner.invoke(app, ["run", str(shared / "videos/two_people_indoor.mp4"), "-o", str(tmp_path / "o"),
                            "--view", "side"])
    assert r.exit_code == 2
    lines = [l for l in _plain(r.output).splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "main, scene, grid" in lines[0]


def test_angles_without_matplotlib_fails_before_any_work(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    p = tmp_path / "k.npz"
    np.savez(p, keypoints=np.zeros((5, 17, 2)), width=100, height=100)
    r = runner.invoke(app, ["lift", str(p), "--export", "json,angles", "-o", str(tmp_path / "out")])
    assert r.exit_code != 0
    lines = [l for l in _plain(r.output).splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "hotdemo[plot]" in lines[0]
    assert not (tmp_path / "out").exists()


# every option of run / batch / lift, set away from its default, and where it must land in PipelineConfig
_PIPELINE_ARGS = ["--detector", "d.pt", "--pose2d", "p.onnx", "--lifter", "mixste", "--lifter-checkpoint", "l.pt",
                  "--allow-untrained", "--device", "cpu", "--weights-dir", "wd", "--det-conf", "0.5", "--det-iou", "0.4",
                  "--det-size", "320", "--pose-flip", "--det-every", "3", "--threads", "2", "--people", "2",
                  "--no-flip", "--no-overlap", "--no-smooth", "--no-bone-lengths", "--no-reproject", "--export", "json,csv",
                  "--no-render",
                  "--spin", "0", "--view", "Scene", "--smooth", "one-euro", "--smooth-param", "1.5"]
_PIPELINE_EXPECT = dict(detector="d.pt", pose2d="p.onnx", lifter="mixste", allow_untrained=True, device="cpu",
                        det_conf=0.5, det_iou=0.4, det_imgsz=320, pose_flip=True, det_every=3, threads=2, people=2,
                        flip=False, overlap=False, smooth=False, bone_lengths=False, reproject=False, exports=("json", "csv"),
                        render=False,
                        spin_deg_per_s=0.0, view="scene", smooth_method="one-euro", smooth_param=1.5)
_LIFT_KEYS = ("lifter", "allow_untrained", "device", "people", "flip", "overlap", "smooth", "bone_lengths", "reproject",
              "exports",
              "smooth_method", "smooth_param")


class _Seen(Exception):
    pass


def _check_config(cfg, expect):
    from pathlib import Path

    from hotdemo.pipeline import PipelineConfig

    got = {k: getattr(cfg, k) for k in expect}
    assert got == expect
    assert Path(cfg.lifter_checkpoint).name == "l.pt"
    if "det_conf" in expect:
        assert Path(cfg.weights_dir).name == "wd"
    # options not given keep PipelineConfig's defaults
    untouched = set(PipelineConfig.__dataclass_fields__) - set(expect) - {"lifter_checkpoint", "weights_dir", "track_id"}
    assert all(getattr(cfg, k) == getattr(PipelineConfig(), k) for k in untouched)


def test_run_batch_and_lift_options_reach_the_pipeline_config(tmp_path, monkeypatch):
    import hotdemo.batch
    import hotdemo.io.outdir
    import hotdemo.pipeline
    import hotdemo.io.video

    seen = {}

    def capture(name):
        def f(*a, config=None, **k):
            seen[name] = config if config is not None else (a[2] if len(a) > 2 else k.get("cfg"))
            raise _Seen
        return f

    class FakePipeline:
        def __init__(self, cfg, **kw):
            seen["run"] = cfg
            raise _Seen

    monkeypatch.setattr(hotdemo.io.video, "probe", lambda *a, **k: None)
    monkeypatch.setattr(hotdemo.io.outdir, "check_output_folder", lambda *a, **k: None)
    monkeypatch.setattr(hotdemo.pipeline, "Pipeline", FakePipeline)
    monkeypatch.setattr(hotdemo.batch, "run_batch", capture("batch"))
    monkeypatch.setattr(hotdemo.pipeline, "lift_keypoints_file", capture("lift"))

    r = runner.invoke(app, ["run", str(tmp_path / "v.mp4"), "--track-id", "4"] + _PIPELINE_ARGS)
    assert isinstance(r.exception, _Seen), r.output
    _check_config(seen["run"], {**_PIPELINE_EXPECT, "track_id": 4})
    r = runner.invoke(app, ["batch", str(tmp_path)] + _PIPELINE_ARGS)
    assert isinstance(r.exception, _Seen), r.output
    _check_config(seen["batch"], _PIPELINE_EXPECT)
    lift_args = ["--lifter", "mixste", "--lifter-checkpoint", "l.pt", "--allow-untrained", "--device", "cpu",
                 "--people", "2", "--track-id", "4", "--no-flip", "--no-overlap", "--no-smooth", "--no-bone-lengths",
                 "--no-reproject", "--export", "json,csv",
                 "--smooth", "one-euro", "--smooth-param", "1.5"]
    r = runner.invoke(app, ["lift", str(tmp_path / "k.npz")] + lift_args)
    assert isinstance(r.exception, _Seen), r.output
    _check_config(seen["lift"], {**{k: _PIPELINE_EXPECT[k] for k in _LIFT_KEYS}, "track_id": 4})
