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
_PIPELINE_EXPECT = {"detect.detector": "d.pt", "pose.pose2d": "p.onnx", "lift.lifter": "mixste",
                    "lift.allow_untrained": True, "runtime.device": "cpu", "detect.conf": 0.5, "detect.iou": 0.4,
                    "detect.imgsz": 320, "pose.flip_test": True, "detect.det_every": 3, "runtime.threads": 2,
                    "tracks.people": 2, "lift.flip": False, "lift.overlap": False, "post.smooth": "none",
                    "post.bones": False, "post.reproject": False, "output.formats": ("json", "csv"),
                    "output.render": False, "output.deg_per_s": 0.0, "output.view": "scene",
                    "post.smooth_param": 1.5}
_LIFT_KEYS = ("lift.lifter", "lift.allow_untrained", "runtime.device", "tracks.people", "lift.flip", "lift.overlap",
              "post.smooth", "post.bones", "post.reproject", "output.formats", "post.smooth_param")


class _Seen(Exception):
    pass


def _check_config(cfg, expect):
    from pathlib import Path

    from hotdemo.pipeline import PipelineConfig

    flat, default = cfg.flat(), PipelineConfig().flat()
    got = {k: flat[k] for k in expect}
    assert got == expect
    assert Path(cfg.lift.checkpoint).name == "l.pt"
    if "detect.conf" in expect:
        assert Path(cfg.runtime.weights_dir).name == "wd"
    # options not given keep PipelineConfig's defaults
    untouched = set(default) - set(expect) - {"lift.checkpoint", "runtime.weights_dir", "tracks.track_id"}
    assert all(flat[k] == default[k] for k in untouched)


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
    _check_config(seen["run"], {**_PIPELINE_EXPECT, "tracks.track_id": 4})
    r = runner.invoke(app, ["batch", str(tmp_path)] + _PIPELINE_ARGS)
    assert isinstance(r.exception, _Seen), r.output
    _check_config(seen["batch"], _PIPELINE_EXPECT)
    lift_args = ["--lifter", "mixste", "--lifter-checkpoint", "l.pt", "--allow-untrained", "--device", "cpu",
                 "--people", "2", "--track-id", "4", "--no-flip", "--no-overlap", "--no-smooth", "--no-bone-lengths",
                 "--no-reproject", "--export", "json,csv",
                 "--smooth", "one-euro", "--smooth-param", "1.5"]
    r = runner.invoke(app, ["lift", str(tmp_path / "k.npz")] + lift_args)
    assert isinstance(r.exception, _Seen), r.output
    _check_config(seen["lift"], {**{k: _PIPELINE_EXPECT[k] for k in _LIFT_KEYS}, "tracks.track_id": 4})


# ---------------------------------------------------------------- one option table, grouped configs
def test_options_come_from_one_table_with_the_configs_defaults():
    """run / batch / lift / live get exactly their table entries; each setting's default is its
    config field's; no help text spells a default (Typer shows it)."""
    from hotdemo.cli.options import JOBS, LIVE, OPTIONS, default_of, options_of
    from hotdemo.config import PipelineConfig

    flat = PipelineConfig().flat()
    for cmd in sorted(JOBS | {LIVE}):
        names = [o.name for o in options_of(cmd)]
        assert len(names) == len(set(names)), cmd  # declared once per command
        params = {p.name: p for p in typer_command(cmd).params if p.name != "help"}
        assert set(params) == set(names), cmd
    for o in OPTIONS:
        for cmd in o.commands:
            if o.name == "smooth_param":  # one default per filter: formatted from hotdemo.post.smooth.DEFAULT_PARAM
                continue
            assert "[default" not in o.help_for(cmd) and not re.search(r"default:? \d", o.help_for(cmd)), o.name
        if o.field is not None:
            assert o.field in flat, o.field
            if not o.name.startswith("no_") and o.name not in ("export", "flip") and o.default_value() is not None \
                    and not (o.name == "threads" and o.commands == {LIVE}):
                assert o.default_value() == default_of(o.field), o.name
    assert params["det_conf"].default == default_of("detect.conf")  # the last command (run) as Typer built it


def typer_command(name):
    import typer.main

    from hotdemo.cli import app

    group = typer.main.get_command(app)
    return group.get_command(None, name)


def test_det_conf_and_det_every_defaults_are_declared_once():
    from hotdemo.config import DEFAULT_CONF, DEFAULT_DET_EVERY, DetectConfig
    from hotdemo.detect.detector import Detector, build_detector
    from hotdemo.frontend import FrontEnd2D, build_frontend
    import inspect

    assert DetectConfig().conf == DEFAULT_CONF == Detector.conf == inspect.signature(build_detector).parameters["conf"].default
    assert inspect.signature(build_frontend).parameters["conf"].default == DEFAULT_CONF
    for fn in (build_frontend, FrontEnd2D.__init__):
        assert inspect.signature(fn).parameters["det_every"].default == DEFAULT_DET_EVERY == DetectConfig().det_every
    run_help = _plain(runner.invoke(app, ["run", "--help"], env={"COLUMNS": "200"}).output)
    line = next(l for l in run_help.splitlines() if "--det-every" in l)
    assert f"[default: {DEFAULT_DET_EVERY}]" in run_help[run_help.index(line):run_help.index("--threads")]


def test_old_flat_config_names_still_work():
    from dataclasses import replace

    from hotdemo.config import LEGACY_NAMES, OutputConfig, PipelineConfig, TracksConfig

    c = PipelineConfig(det_conf=0.5, det_imgsz=320, pose_flip=True, people=2, exports=("json",), smooth=False,
                       spin_deg_per_s=0.0, lifter_checkpoint="l.pt")
    assert (c.detect.conf, c.detect.imgsz, c.pose.flip_test, c.tracks.people) == (0.5, 320, True, 2)
    assert (c.output.formats, c.post.smooth, c.output.deg_per_s, c.lift.checkpoint) == (("json",), "none", 0.0, "l.pt")
    assert (c.det_conf, c.smooth, c.smooth_method, c.exports) == (0.5, False, "none", ("json",))  # read back too
    assert PipelineConfig(people=2) == PipelineConfig(tracks=TracksConfig(people=2))
    assert replace(c, output=OutputConfig()).exports == OutputConfig().formats
    assert all(n in PipelineConfig().__dir__() or getattr(PipelineConfig(), n, "x") != "x" for n in LEGACY_NAMES)
    with pytest.raises(TypeError, match="det_confidence"):
        PipelineConfig(det_confidence=0.5)
    t = TracksConfig()
    assert PipelineConfig(tracks=t).tracks is not t  # groups are copied, never shared


def test_readme_python_example(tmp_path):
    """README: ``with Pipeline(PipelineConfig(people=2)) as pipe: result = pipe.run(...)`` (here
    with the test front end and an untrained lifter instead of the downloaded models)."""
    from test_robustness import BlobFrontend, person_frames, write_video

    from hotdemo.pipeline import Pipeline, PipelineConfig

    video = write_video(tmp_path / "clip.mp4", person_frames(20))
    cfg = PipelineConfig(people=2, allow_untrained=True, device="cpu", exports=("json",), render=False)
    with Pipeline(cfg, frontend=BlobFrontend()) as pipe:
        result = pipe.run(video, tmp_path / "out" / "clip")
    assert result.frames == 20 and result.people == 1 and [p.name for p in result.outputs] == ["clip.json"]


def test_one_training_cli():
    """``hotdemo train|eval`` and ``python -m hotdemo.train train|eval`` are the same commands."""
    from hotdemo.cli.train import click_group
    from hotdemo.train.__main__ import parse_options

    group = click_group()
    for name in ("train", "eval"):
        assert typer_command(name) is group.commands[name] or \
            [p.name for p in typer_command(name).params] == [p.name for p in group.commands[name].params]
    assert {"cache", "compare", "export"} <= set(group.commands)
    assert vars(parse_options(["train", "--steps", "7", "--no-sdpa-math", "--aug-p-noise", "0.5"])) == \
        {"command": "train", "steps": 7, "sdpa_math": False, "aug_p_noise": 0.5}


def test_one_name_or_path_rule(tmp_path, monkeypatch):
    """--detector, --pose2d, --lifter and weights names all decide "name or path?" by
    hotdemo.core.paths.is_model_path."""
    from hotdemo.core.paths import is_model_path
    from hotdemo.detect.detector import manifest_name as detector_weights
    from hotdemo.lift.lifter import _is_checkpoint_path

    monkeypatch.chdir(tmp_path)
    (tmp_path / "here").write_bytes(b"x")
    assert is_model_path("here")  # an existing file, whatever its name
    assert is_model_path("models/x") and is_model_path("./x") and is_model_path("~/x")  # a folder part
    assert is_model_path("x.onnx") and not is_model_path("x.onnx", is_name=lambda s: s == "x.onnx")
    assert not is_model_path("yolo11n") and not is_model_path("hot_mixste")
    assert detector_weights("yolo11n") == "yolo11n.pt" and detector_weights("yolo11n.pt") == "yolo11n.pt"
    assert detector_weights("./yolo11n.pt") is None and detector_weights("det.weights") is None
    assert _is_checkpoint_path("run/last.pt") and _is_checkpoint_path("w.pth") and not _is_checkpoint_path("videopose")
