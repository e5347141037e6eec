"""One home per utility: atomic writing, the output-folder check, the device rule, the export
format registry, and the lift -> world -> export tail that `run` and `lift` share."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from hotdemo.core.device import resolve_device
from hotdemo.core.errors import InputError, OutputError
import hotdemo.io.files
from hotdemo.io.files import atomic_torch_save, atomic_write, atomic_write_json
from hotdemo.io.outdir import prepare_output_dir


# ---------------------------------------------------------------- atomic writing
def test_atomic_write_replaces_whole_or_not_at_all(tmp_path):
    p = tmp_path / "f.bin"
    atomic_write(p, lambda f: f.write(b"old"))
    umask = os.umask(0)
    os.umask(umask)
    assert p.stat().st_mode & 0o777 == 0o666 & ~umask

    def interrupted(f):
        f.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(p, interrupted)
    assert p.read_bytes() == b"old" and os.listdir(tmp_path) == ["f.bin"]
    with pytest.raises(OutputError, match="cannot write"):
        atomic_write(tmp_path / "missing" / "f.bin", lambda f: f.write(b"x"))
    atomic_write(tmp_path / "made" / "f.txt", lambda f: f.write("é\n"), binary=False, mkdir=True)
    assert (tmp_path / "made" / "f.txt").read_bytes() == "é\n".encode("utf-8")


def test_atomic_write_check_sees_the_written_file_before_the_rename(tmp_path):
    """``check(tmp)`` verifies what was written (weights unpacking checks the model there): it
    reads the whole temporary file, and when it raises the target keeps its old content."""
    p = tmp_path / "f.bin"
    atomic_write(p, lambda f: f.write(b"old"))
    seen = []

    def refuse(tmp):
        seen.append((tmp.parent, tmp.read_bytes(), p.read_bytes()))
        raise ValueError("not this one")

    with pytest.raises(ValueError, match="not this one"):
        atomic_write(p, lambda f: f.write(b"new"), check=refuse)
    assert seen == [(tmp_path, b"new", b"old")] and p.read_bytes() == b"old" and os.listdir(tmp_path) == ["f.bin"]
    atomic_write(p, lambda f: f.write(b"new"), check=lambda tmp: seen.append(tmp.read_bytes()))
    assert seen[-1] == b"new" and p.read_bytes() == b"new" and os.listdir(tmp_path) == ["f.bin"]


def test_export_uses_the_one_helper():
    import importlib

    import hotdemo.io.files as fileio

    for name in ("json_file", "npz_file", "csv_file", "bvh", "gltf", "export"):
        assert importlib.import_module(f"hotdemo.io.formats.{name}").atomic_write is fileio.atomic_write, name


def test_atomic_json_and_torch_save(tmp_path):
    atomic_write_json(tmp_path / "a.json", {"p": tmp_path}, indent=1)
    assert (tmp_path / "a.json").read_text() == '{\n "p": "%s"\n}\n' % tmp_path
    p = atomic_torch_save({"w": torch.arange(3)}, tmp_path / "sub" / "c.pt")
    assert torch.equal(torch.load(p, weights_only=True)["w"], torch.arange(3))

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        atomic_torch_save({"x": Unpicklable()}, p)
    assert torch.equal(torch.load(p, weights_only=True)["w"], torch.arange(3))
    assert sorted(os.listdir(p.parent)) == ["c.pt"]


def test_no_other_temp_and_rename_code():
    """Every write-then-rename in the package goes through hotdemo.io.files (video encoding and
    weights downloads stream from other processes / the network and keep their own; outdir only
    moves already-written staged files into place), and so does every other file write: no
    ``open(..., "w")``, ``write_text`` / ``write_bytes``, ``os.rename`` or ``shutil`` copy
    elsewhere (the trainer only appends rows to its own log)."""
    import re

    import hotdemo

    own = {"io/files.py", "io/video/writing.py", "io/weights/download.py", "io/outdir.py"}
    rename = re.compile(r"os\.replace\(|os\.rename\(|mkstemp\(|shutil\.(copy\w*|move)\(")
    write = re.compile(r"""\.write_text\(|\.write_bytes\(|open\([^)]*["'][wx]b?\+?["']|\.tofile\(""")
    append = re.compile(r"""open\([^)]*["']ab?\+?["']""")
    root = os.path.dirname(hotdemo.__file__)
    offenders = []
    for dirpath, _, files in os.walk(root):
        for name in files:
            rel = os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/")
            if name.endswith(".py") and rel not in own:
                text = open(os.path.join(dirpath, name), encoding="utf-8").read()
                if rename.search(text) or write.search(text) or (append.search(text) and rel != "train/trainer.py"):
                    offenders.append(rel)
    assert offenders == []


def test_output_folder_probe(tmp_path):
    """One home: hotdemo.io.outdir opens every output folder (fileio's copy is gone)."""
    assert not hasattr(hotdemo.io.files, "prepare_output_dir")
    assert prepare_output_dir(tmp_path / "a" / "b").is_dir()
    assert os.listdir(tmp_path / "a" / "b") == []  # the probe file is gone
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="not a folder"):
        prepare_output_dir(tmp_path / "file")
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            with pytest.raises(OutputError, match="cannot write to output folder"):
                prepare_output_dir(ro)
        finally:
            ro.chmod(0o700)


def test_bvh_and_export_import_without_a_cycle():
    """bvh no longer imports export (it used to, for atomic_write, while export imports bvh)."""
    code = ("import sys, hotdemo.io.formats.bvh; assert 'hotdemo.io.formats.export' not in sys.modules; "
            "import hotdemo.io.formats.export; print('ok')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_every_formats_module_imports_alone_and_the_registry_imports_none():
    """One module per export format, named in the registry as "module:function": each imports on
    its own in a fresh interpreter (no cycle), the registry alone imports no format module, and
    every registry entry's writer and check resolve."""
    mods = ["schema", "json_file", "npz_file", "csv_file", "bvh", "gltf", "trc", "viewer", "keypoints", "export"]
    code = ("import subprocess, sys\n"
            f"for m in {mods!r}:\n"
            "    r = subprocess.run([sys.executable, '-c', 'import hotdemo.io.formats.' + m], capture_output=True)\n"
            "    assert r.returncode == 0, (m, r.stderr.decode()[-400:])\n"
            "import hotdemo.io.formats as F\n"
            "assert [k for k in sys.modules if k.startswith('hotdemo.io.formats.')] == ['hotdemo.io.formats.schema']\n"
            "for f in F.EXPORT_FORMATS.values():\n"
            "    assert callable(f.writer()) and (f.check is None or callable(f.checker())), f.name\n"
            "print('ok')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


# ---------------------------------------------------------------- device
@pytest.mark.parametrize("given", ["auto", "AUTO", "", None])
def test_device_auto(given):
    assert resolve_device(given) == ("cuda" if torch.cuda.is_available() else "cpu")


def test_device_rule():
    assert resolve_device("CPU") == "cpu"
    for bad in ("tpu", "mps", "cuda:x", "gpu", "cuda:-1"):
        with pytest.raises(InputError, match="unknown device"):
            resolve_device(bad)
    if torch.cuda.is_available():
        assert resolve_device("cuda:0") == "cuda:0"
        with pytest.raises(InputError, match="only"):
            resolve_device(f"cuda:{torch.cuda.device_count()}")
    else:
        for d in ("cuda", "cuda:0"):
            with pytest.raises(InputError, match="no CUDA GPU"):
                resolve_device(d)


def test_every_device_user_follows_the_rule():
    """pipeline, lifter, trainer and eval all reject an unknown device with the same message."""
    from hotdemo.lift.lifter import Lifter
    from hotdemo.lift.registry import build_model
    from hotdemo.pipeline import Pipeline, PipelineConfig
    from hotdemo.train.commands import run_evaluation
    from hotdemo.train.trainer import TrainConfig, train

    model = build_model("mixste", frames=9, dim=16, depth=1, heads=2)
    calls = [lambda: Lifter(model, device="tpu"),
             lambda: Pipeline(PipelineConfig(device="tpu"), frontend=object(), lifter=object()),
             lambda: train(TrainConfig(run_dir="unused", device="tpu"), data=object(), cameras={}),
             lambda: run_evaluation("unused.pt", device="tpu")]
    for call in calls:
        with pytest.raises(InputError, match="unknown device 'tpu'"):
            call()


# ---------------------------------------------------------------- export registry
def test_export_formats_are_defined_once(tmp_path, monkeypatch):
    """The CLI's choices, its help and its error message all come from EXPORT_FORMATS: one
    entry adds a format everywhere."""
    from typer.testing import CliRunner

    import hotdemo.io.formats as export
    from hotdemo.cli import app

    assert export.parse_formats(" JSON, bvh,json ") == ("json", "bvh")
    assert export.parse_formats("none") == () and export.parse_formats("") == ()
    with pytest.raises(InputError, match="unknown export format 'xml'; choose from json, npz, csv, bvh"):
        export.parse_formats("json,xml")

    seen = []

    def write_txt(job):
        seen.append(job)
        p = job.out_dir / f"{job.stem}.txt"
        atomic_write(p, lambda f: f.write(b"%d" % len(job.tracks3d)))
        return [p]

    monkeypatch.setitem(export.EXPORT_FORMATS, "txt", export.ExportFormat("txt", "test", write_txt))
    assert export.parse_formats("txt") == ("txt",)
    from hotdemo.core.types import VideoInfo

    info = VideoInfo("v.mp4", 64, 48, 0.0, 3)
    assert export.write_exports(tmp_path, "s", info, [], [], formats=("txt",), fps=12.0) == [tmp_path / "s.txt"]
    assert seen[0].fps == 12.0 and seen[0].stem == "s"
    with pytest.raises(InputError, match="choose from " + ", ".join(export.EXPORT_FORMATS)):
        export.parse_formats("xml")
    # a "module:function" writer is imported on first use
    monkeypatch.setitem(export.EXPORT_FORMATS, "npz2",
                        export.ExportFormat("npz2", "lazy", "hotdemo.io.formats:_test_lazy_writer"))
    monkeypatch.setattr(export, "_test_lazy_writer", write_txt, raising=False)
    export.write_exports(tmp_path, "lazy", info, [], [], formats=("npz2",))
    assert (tmp_path / "lazy.txt").read_text() == "0"

    from hotdemo.cli import ExportOpt

    assert ExportOpt.default == "json,npz"
    for name in ("json", "npz", "csv", "bvh", "html", "angles", "trc"):
        assert name in export.EXPORT_FORMATS and f" {name}" in ExportOpt.help
    r = CliRunner().invoke(app, ["lift", "x.npz", "--export", "json,xls"])
    assert r.exit_code == 2 and "unknown export format 'xls'; choose from json, npz, csv, bvh" in r.output


# ---------------------------------------------------------------- one tail for run and lift
def test_run_and_lift_share_the_lift_world_export_tail(tmp_path, monkeypatch):
    """`run` (video pipeline) and `lift` (keypoint file) both go through lift_and_export, which
    hands world-frame tracks to the exports; the renderer gets the same tracks, aligned once."""
    import hotdemo.pipeline as pipeline
    import hotdemo.post.world as world
    from hotdemo.io.formats import write_exports
    from hotdemo.core.synthetic import synthetic_scene

    info, t2, _, _, _ = synthetic_scene(1, 30, fps=25.0)
    p = tmp_path / "kp"
    p.mkdir()
    write_exports(p, "clip", info, t2, [], formats=("json",))
    calls = []
    real = pipeline.lift_and_export
    monkeypatch.setattr(pipeline, "lift_and_export", lambda *a, **k: (calls.append(a[4]), real(*a, **k))[1])
    aligned = []
    import hotdemo.post.trajectory as trajectory

    real_world, real_scene = world.to_world, trajectory.fit_scene
    monkeypatch.setattr(world, "to_world", lambda *a, **k: (aligned.append("in place"), real_world(*a, **k))[1])
    monkeypatch.setattr(trajectory, "fit_scene", lambda *a, **k: (aligned.append("scene"), real_scene(*a, **k))[1])
    cfg = pipeline.PipelineConfig(allow_untrained=True, device="cpu", exports=("npz",))
    res = pipeline.lift_keypoints_file(p / "clip.json", tmp_path / "out", cfg)
    assert calls == ["clip"] and aligned == ["scene"] and res.people == 1
    aligned.clear()
    pipeline.lift_keypoints_file(p / "clip.json", tmp_path / "out2",
                                 pipeline.PipelineConfig(allow_untrained=True, device="cpu", exports=("npz",),
                                                         trajectory="none"))
    assert aligned == ["in place"]
    assert set(res.stage_seconds) == {"3d", "export"}
    from hotdemo.io.formats.keypoints import load_export

    t3 = load_export(tmp_path / "out" / "clip.npz").tracks3d
    assert t3[0].joints_world is not None and np.isfinite(t3[0].joints_world).all()


def test_renderer_takes_world_tracks_only():
    from hotdemo.render import Renderer
    from hotdemo.core.synthetic import synthetic_scene

    info, t2, t3, _, _ = synthetic_scene(1, 10)
    assert t3[0].joints_world is None
    with pytest.raises(ValueError, match="world-frame"):
        Renderer(info, t2, t3)
