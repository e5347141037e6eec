"""glTF export: the Khronos validator reports no errors, an independent reader (pygltflib) finds
the skeletons and the animation, and the node tree evaluated at a frame puts every joint where
the JSON export does (to 1 mm); three.js loads and plays the file in headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hotdemo.io.formats.bvh import WORLD_TO_BVH
from hotdemo.io.formats.gltf import build_gltf, write_gltf
from hotdemo.core.skeletons import H36M17
from hotdemo.core.synthetic import walking_h36m
from hotdemo.core.types import Track3D

ROOT = Path(__file__).resolve().parents[1]
NPM_PACKAGES = ("gltf-validator", "three")


@pytest.fixture(scope="session")
def npm_dir():
    """A folder whose node_modules has the Khronos glTF validator and three.js (npm packages):
    ``$HOTDEMO_NPM_DIR``, or ``~/.cache/hotdemo/npm``, installed there with npm when missing."""
    d = Path(os.environ.get("HOTDEMO_NPM_DIR", Path.home() / ".cache" / "hotdemo" / "npm"))
    if all((d / "node_modules" / p / "package.json").is_file() for p in NPM_PACKAGES):
        return d
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("node and npm are needed for the Khronos glTF validator (Debian: apt-get install nodejs npm)")
    d.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(d), *NPM_PACKAGES],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        pytest.skip(f"npm could not install {', '.join(NPM_PACKAGES)}: {r.stderr.strip()[:200]}")
    return d


def validate(npm_dir: Path, glb: Path) -> dict:
    script = ("const fs=require('fs');const v=require(process.argv[1]);"
              "v.validateBytes(new Uint8Array(fs.readFileSync(process.argv[2])),{maxIssues:200})"
              ".then(r=>console.log(JSON.stringify(r))).catch(e=>{console.error(String(e));process.exit(2)});")
    r = subprocess.run(["node", "-e", script, str(npm_dir / "node_modules" / "gltf-validator"), str(glb)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def two_walkers(fps=30.0):
    """Two people walking circles, the second entering at frame 20 and leaving early, with gaps."""
    a = walking_h36m(90, fps).astype(np.float32)
    b = walking_h36m(50, fps, radius=1.0, centre=(2.0, 1.0), phase0=0.3).astype(np.float32)
    fb = np.r_[20:45, 50:75]  # a gap of 5 frames
    return [Track3D(1, np.arange(90), a - a[:, :1], joints_world=a),
            Track3D(7, fb, b[: len(fb)] - b[: len(fb), :1], joints_world=b[: len(fb)])]


# ---------------------------------------------------------------- an independent reading of the file
def _accessor(g, blob: bytes, i: int) -> np.ndarray:
    a = g.accessors[i]
    v = g.bufferViews[a.bufferView]
    dt = {5126: np.float32, 5123: np.uint16, 5121: np.uint8, 5125: np.uint32}[a.componentType]
    n = {"SCALAR": 1, "VEC3": 3, "VEC4": 4, "MAT4": 16}[a.type]
    start = (v.byteOffset or 0) + (a.byteOffset or 0)
    return np.frombuffer(blob, dt, a.count * n, start).reshape(a.count, n)


def _quat_matrix(q) -> np.ndarray:
    x, y, z, w = q / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def world_positions(g, blob: bytes, time: float) -> dict:
    """Every node's world position at an animation key time (read with pygltflib, our own FK)."""
    trs = {i: {"translation": np.array(n.translation or [0, 0, 0], float),
               "rotation": np.array(n.rotation or [0, 0, 0, 1], float),
               "scale": np.array(n.scale or [1, 1, 1], float)} for i, n in enumerate(g.nodes)}
    for ch in g.animations[0].channels:
        s = g.animations[0].samplers[ch.sampler]
        t = _accessor(g, blob, s.input)[:, 0]
        k = int(np.searchsorted(t, time + 1e-6) - 1)  # STEP / exact key
        trs[ch.target.node][ch.target.path] = _accessor(g, blob, s.output)[max(k, 0)].astype(float)
    out = {}

    def walk(i, M):
        n = trs[i]
        L = np.eye(4)
        L[:3, :3] = _quat_matrix(n["rotation"]) * n["scale"]
        L[:3, 3] = n["translation"]
        G = M @ L
        out[g.nodes[i].name] = G[:3, 3]
        for c in g.nodes[i].children or []:
            walk(c, G)

    for r in g.scenes[g.scene].nodes:
        walk(r, np.eye(4))
    return out


def test_khronos_validator_reports_no_errors_or_warnings(tmp_path, npm_dir):
    p = write_gltf(tmp_path / "two.glb", two_walkers(), 30.0)
    r = validate(npm_dir, p)
    assert r["issues"]["numErrors"] == 0 and r["issues"]["numWarnings"] == 0, r["issues"]["messages"][:5]
    assert r["info"]["hasSkins"] and r["info"]["animationCount"] == 1
    empty = write_gltf(tmp_path / "nobody.glb", [], 30.0)  # a video without a person: still a valid file
    assert validate(npm_dir, empty)["issues"]["numErrors"] == 0


def test_independent_reader_finds_skeletons_animation_and_exact_joints(tmp_path):
    pygltflib = pytest.importorskip("pygltflib")
    tracks = two_walkers()
    p = write_gltf(tmp_path / "two.glb", tracks, 30.0)
    g = pygltflib.GLTF2().load(str(p))
    blob = g.binary_blob()
    assert len(g.skins) == 2
    for skin, t in zip(g.skins, tracks):
        names = [g.nodes[j].name for j in skin.joints]
        assert {f"track_{t.track_id}_{n}" for n in H36M17.joint_names} <= set(names)
        assert len(names) == 23  # 17 joints + 6 connectors where a joint has several children
    times = [_accessor(g, blob, s.input)[:, 0] for s in g.animations[0].samplers]
    assert max(t.max() for t in times) == pytest.approx(89 / 30.0, abs=1e-6)  # the video's timeline
    assert g.meshes and all(m.primitives[0].attributes.JOINTS_0 is not None for m in g.meshes)
    for frame in (0, 33, 89):
        pos = world_positions(g, blob, frame / 30.0)
        for n, name in enumerate(H36M17.joint_names):
            want = tracks[0].joints_world[frame, n] @ WORLD_TO_BVH.T  # glTF: Y up
            assert np.abs(pos[f"track_1_{name}"] - want).max() < 1e-3, (frame, name)
    # the second person: exact on its frames, the last pose held over its gap, hidden outside its span
    pos = world_positions(g, blob, 60 / 30.0)
    i = int(np.flatnonzero(tracks[1].frames == 60)[0])
    assert np.abs(pos["track_7_head"] - tracks[1].joints_world[i, 10] @ WORLD_TO_BVH.T).max() < 1e-3
    pos = world_positions(g, blob, 47 / 30.0)  # in the gap: frame 44's pose
    assert np.abs(pos["track_7_head"] - tracks[1].joints_world[24, 10] @ WORLD_TO_BVH.T).max() < 1e-3
    for hidden in (5 / 30.0, 85 / 30.0):
        assert np.abs(world_positions(g, blob, hidden)["track_7_head"]).max() < 1e-6  # scale 0


def test_bone_lengths_that_vary_still_land_exactly(tmp_path):
    pygltflib = pytest.importorskip("pygltflib")
    a = walking_h36m(40, 25.0)
    a[:, 13] += (np.linspace(0, 0.08, 40)[:, None]) * (a[:, 13] - a[:, 12])  # a forearm that grows 8 %
    t = Track3D(0, np.arange(40), (a - a[:, :1]).astype(np.float32), joints_world=a.astype(np.float32))
    p = write_gltf(tmp_path / "a.glb", [t], 25.0)
    g = pygltflib.GLTF2().load(str(p))
    pos = world_positions(g, g.binary_blob(), 39 / 25.0)
    assert np.abs(pos["track_0_left_wrist"] - a[39, 13] @ WORLD_TO_BVH.T).max() < 1e-3


def test_cli_export_matches_the_json_export(tmp_path):
    pygltflib = pytest.importorskip("pygltflib")
    from typer.testing import CliRunner

    from hotdemo.cli import app

    out = tmp_path / "o"
    r = CliRunner().invoke(app, ["lift", str(ROOT / "samples" / "walk_coco2d.npz"), "-o", str(out), "--export",
                                 "json,gltf"])
    assert r.exit_code == 0, r.output
    d = json.loads((out / "walk_coco2d.json").read_text())
    g = pygltflib.GLTF2().load(str(out / "walk_coco2d.glb"))
    t = d["tracks"][0]
    k = 150
    frame = t["pose_3d"]["frames"][k]
    pos = world_positions(g, g.binary_blob(), frame / d["fps"])
    want = np.asarray(t["pose_3d"]["joints_world"][k]) @ WORLD_TO_BVH.T
    got = np.array([pos[f"track_{t['track_id']}_{n}"] for n in H36M17.joint_names])
    assert np.abs(got - want).max() < 1e-3


def test_three_js_loads_and_plays_it_in_headless_chromium(tmp_path, npm_dir):
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        pytest.skip("Chromium is needed (Debian: apt-get install chromium)")
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    from gltf_view_check import check

    tracks = two_walkers()
    p = write_gltf(tmp_path / "two.glb", tracks, 30.0)
    r = check(p, npm_dir, png=tmp_path / "shot.png", time_s=2.0)
    assert r["ok"], r
    assert r["skins"] == [23, 23] and r["duration"] == pytest.approx(89 / 30.0, abs=1e-3)
    want = tracks[0].joints_world[60, 10] @ WORLD_TO_BVH.T  # three.js's own evaluation at t = 2 s
    assert np.abs(np.array(r["heads"]["track_1_head"]) - want).max() < 1e-3
    assert (tmp_path / "shot.png").stat().st_size > 5000


def test_build_gltf_refuses_a_track_without_one_whole_pose():
    from hotdemo.core.errors import InputError

    w = np.full((5, 17, 3), np.nan, np.float32)
    with pytest.raises(InputError, match="no frame has all 17 joints"):
        build_gltf([Track3D(3, np.arange(5), w, joints_world=w)], 30.0)
