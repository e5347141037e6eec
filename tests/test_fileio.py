"""hotdemo.fileio (the one atomic-write helper, the output-folder probe) and hotdemo.device
(the one --device rule)."""

import os

import pytest
import torch

from hotdemo.device import resolve_device
from hotdemo.errors import InputError, OutputError
from hotdemo.fileio import atomic_torch_save, atomic_write, atomic_write_json, prepare_output_dir


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


def test_export_uses_the_one_helper():
    import hotdemo.export as export
    import hotdemo.fileio as fileio

    assert export.atomic_write is fileio.atomic_write


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


def test_output_folder_probe(tmp_path):
    assert prepare_output_dir(tmp_path / "a" / "b").is_dir()
    assert os.listdir(tmp_path / "a" / "b") == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="not a folder"):
        prepare_output_dir(tmp_path / "file")


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


def test_bvh_and_export_import_without_a_cycle():
    """bvh takes atomic_write from fileio, not from export (which imports bvh)."""
    import subprocess
    import sys

    code = ("import sys, hotdemo.bvh; assert 'hotdemo.export' not in sys.modules; "
            "import hotdemo.export; print('ok')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
