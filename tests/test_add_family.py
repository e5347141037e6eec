"""Adding a family is one file and one registry line: the worked example of
docs/adding_a_family.md, read from the page itself (so the page cannot go stale), written as
single files, registered with the page's one line each, and used end to end."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

DOC = Path(__file__).resolve().parents[1] / "docs" / "adding_a_family.md"


def doc_blocks():
    """The page's python code blocks: (family file, registry line) for the lifter and the 2D
    family, in the page's order."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    lines = [b.strip() for b in blocks if b.strip().startswith(("LIFTERS.add(", "FAMILIES.add("))]
    files = [b for b in blocks if b.strip() not in lines]
    assert len(files) == 2 and len(lines) == 2, "the page shows two family files and two registry lines"
    assert all(len(line.splitlines()) == 1 for line in lines), "each registration is one line"
    return list(zip(files, lines))


def install(tmp_path, monkeypatch, source: str, line: str, registry_module: str):
    """Write ``source`` as the single file the registry line names (its package's folder extended
    with ``tmp_path``), run the line in the registry module, and return the registry entry's name."""
    m = re.fullmatch(r'(\w+)\.add\("(\w+)", "([\w.]+):(\w+)"\)', line)
    assert m, line
    registry_name, name, module, _ = m.groups()
    package, _, stem = module.rpartition(".")
    folder = tmp_path / package.replace(".", "_")
    folder.mkdir()
    (folder / f"{stem}.py").write_text(source)
    pkg = importlib.import_module(package)
    monkeypatch.setattr(pkg, "__path__", list(pkg.__path__) + [str(folder)])
    importlib.invalidate_caches()
    reg_mod = importlib.import_module(registry_module)
    registry = getattr(reg_mod, registry_name)
    exec(line, vars(reg_mod))  # the page's one line, as it stands in the registry module
    return registry, name, module


@pytest.fixture
def families(tmp_path, monkeypatch):
    (lift_src, lift_line), (pose_src, pose_line) = doc_blocks()
    added = []
    try:
        added.append(install(tmp_path, monkeypatch, lift_src, lift_line, "hotdemo.lift.registry"))
        added.append(install(tmp_path, monkeypatch, pose_src, pose_line, "hotdemo.pose2d.registry"))
        yield {name: reg for reg, name, _ in added}
    finally:
        for registry, name, module in added:  # other tests see the built-in families only
            registry.remove(name)
            sys.modules.pop(module, None)


def test_the_toy_lifter_is_one_file_and_one_line(families, tmp_path):
    from hotdemo.lift.checkpoint import read_lifter_checkpoint, save_checkpoint
    from hotdemo.lift.registry import LIFTERS, build_model, lifter_table, load_lifter_model, model_config, model_name

    assert "toy_lifter" in families and list(LIFTERS)[-1] == "toy_lifter"
    model = build_model("toy_lifter", frames=9, hidden=8)
    assert model_name(model) == "toy_lifter" and model_config(model)["frames"] == 9
    with pytest.raises(TypeError, match="depth"):
        build_model("toy_lifter", depth=3)
    torch.manual_seed(0)
    for p in model.parameters():
        torch.nn.init.normal_(p)
    x = torch.randn(2, 9, 17, 2)
    with torch.no_grad():
        want = model(x)

    # an "official" file: a bare state dict, DataParallel prefixes; family and size from the keys
    torch.save({f"module.{k}": v for k, v in model.state_dict().items()}, tmp_path / "toy.pth")
    ours = load_lifter_model(tmp_path / "toy.pth")
    assert type(ours).__name__ == "ToyLifter" and ours.cfg.frames == 9 and ours.cfg.hidden == 8
    with torch.no_grad():
        torch.testing.assert_close(ours(x), want, rtol=0, atol=0)
    # hotdemo's own layout, as the trainer writes it
    save_checkpoint(tmp_path / "best.pt", model, {"root_mode": "subtract"})
    ck = read_lifter_checkpoint(tmp_path / "best.pt")
    assert (ck.family, ck.kind, ck.root, ck.config["hidden"]) == ("toy_lifter", "hotdemo", "subtract", 8)
    with torch.no_grad():
        torch.testing.assert_close(ck.build()(x), want, rtol=0, atol=0)
    # strict: a mis-shaped key is named
    bad = dict(model.state_dict(), **{"toy_head.weight": torch.zeros(3, 4)})
    torch.save(bad, tmp_path / "bad.pth")
    from hotdemo.core.errors import CheckpointError

    with pytest.raises(CheckpointError, match="toy_head.weight"):
        load_lifter_model(tmp_path / "bad.pth")

    # listed: `hotdemo lifters` prints lifter_table()
    row = next(r for r in lifter_table() if r["name"] == "toy_lifter")
    assert row["kind"] == "seq2seq" and row["frames"] == 27 and row["input"] == "x, y" and row["params"] > 0


def test_the_toy_2d_family_is_one_file_and_one_line(families, tmp_path, caplog):
    from hotdemo.pose2d import FAMILIES, POSE2D_SPECS, build_pose2d, load_pose2d_model, supported_layouts
    from hotdemo.pose2d.heads import HeatmapHead

    assert "toy_pose" in families and list(FAMILIES)[-1] == "toy_pose"
    assert "toy_pose: ToyPose heatmaps" in supported_layouts()
    assert "toy_pose_64x64" in POSE2D_SPECS and POSE2D_SPECS["toy_pose_64x64"].family == "toy_pose"

    fam = FAMILIES["toy_pose"]
    torch.manual_seed(1)
    net = fam.build({"width": 8})
    torch.save({"state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}}, tmp_path / "toy.pth")
    ours = load_pose2d_model(tmp_path / "toy.pth")
    assert ours.pose2d_info.variant == "ToyPose-8"
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), net(x), rtol=0, atol=0)

    frame = np.random.default_rng(0).integers(0, 255, (120, 100, 3), dtype=np.uint8)
    boxes = np.array([[10, 10, 90, 110]], np.float32)
    est = build_pose2d(str(tmp_path / "toy.pth"))  # the family from the keys; input size its default
    assert isinstance(est.head, HeatmapHead) and est.input_wh == (64, 64)
    assert "does not record its input size" in caplog.text
    (kps, scores), = est([frame], [boxes])
    assert kps.shape == (1, 17, 2) and scores.shape == (1, 17)
    # the preset, with its weights pointed at the file
    est2 = build_pose2d(POSE2D_SPECS["toy_pose_64x64"].replace(weights=str(tmp_path / "toy.pth")))
    (kps2, _), = est2([frame], [boxes])
    np.testing.assert_allclose(kps2, kps, atol=1e-4)


def test_unregistered_afterwards():
    from hotdemo.lift.registry import LIFTERS
    from hotdemo.pose2d import FAMILIES, POSE2D_SPECS

    assert "toy_lifter" not in LIFTERS and "toy_pose" not in FAMILIES and "toy_pose_64x64" not in POSE2D_SPECS


def test_the_registry_mechanism():
    from hotdemo.core.registry import Registry

    reg = Registry("widget")
    reg.add("b", "hotdemo.core.errors:InputError")  # lazy: imported on first lookup
    reg.add("a", 1)
    assert list(reg) == ["b", "a"] and "b" in reg and len(reg) == 2
    from hotdemo.core.errors import InputError

    assert reg["b"] is InputError and reg.lookup("a") == 1 and reg.get("c") is None
    with pytest.raises(ValueError, match="^unknown widget 'c'; known: b, a$"):
        reg.lookup("c")
    with pytest.raises(ValueError, match="already registered"):
        reg.add("a", 2)
    reg.add("a", 2, replace=True)
    reg.remove("b")
    assert dict(reg) == {"a": 2}

    class Named:
        name = "x"

    reg.add(Named())
    with pytest.raises(ValueError, match="calls itself 'x'"):
        reg.add("y", Named())
