"""The self-contained HTML viewer (--export html): structure, inlined data, size, no network."""

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from hotdemo.render import LEFT_RGB, RIGHT_RGB, track_color
from hotdemo.core.skeletons import H36M17
from hotdemo.core.synthetic import synthetic_scene, walking_h36m
from hotdemo.core.types import Track3D, VideoInfo
from hotdemo.io.formats.viewer import read_viewer_data, viewer_html, write_html
from hotdemo.post.world import estimate_world_rotation, to_world


def _scene(T=40):
    info, t2, t3, _, _ = synthetic_scene(2, T, width=640, height=360, fps=25.0)
    return info, to_world(t3, estimate_world_rotation(t3), t2, info)


def _expand(person):
    frames = [s + k for s, n in person["frames"] for k in range(n)]
    return np.array(frames), np.array(person["joints"], np.float64).reshape(len(frames), 17, 3)


def test_page_is_self_contained_with_the_poses_inlined(tmp_path):
    info, t3 = _scene()
    path = write_html(tmp_path / "clip.html", info, t3)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    # no network access: no external scripts, styles, images or fetches
    assert not re.search(r"<(script|link|img|iframe)[^>]*\b(src|href)=", text)
    assert not re.search(r"https?://", text) and "fetch(" not in text and "XMLHttpRequest" not in text
    # the controls the viewer promises
    for needed in ('id="play"', 'id="scrub"', 'id="speed"', 'id="clock"', 'id="people"', "pointerdown", "wheel"):
        assert needed in text
    data = read_viewer_data(path)
    assert data["format"] == "hotdemo-viewer" and data["fps"] == 25.0 and data["n_frames"] == 40
    assert data["joint_names"] == list(H36M17.joint_names)
    assert [tuple(e) for e in data["edges"]] == list(H36M17.edges)
    # colours: the video's (left blue, right red, each track its own)
    e = H36M17.edges.index((H36M17.index("left_hip"), H36M17.index("left_knee")))
    assert data["edge_colors"][e] == "#%02x%02x%02x" % LEFT_RGB
    e = H36M17.edges.index((H36M17.index("right_hip"), H36M17.index("right_knee")))
    assert data["edge_colors"][e] == "#%02x%02x%02x" % RIGHT_RGB
    assert [p["id"] for p in data["people"]] == [t.track_id for t in t3]
    for p, t in zip(data["people"], t3):
        assert p["color"] == "#%02x%02x%02x" % track_color(t.track_id)
        frames, J = _expand(p)
        assert np.array_equal(frames, t.frames)
        np.testing.assert_allclose(J / data["scale"], t.joints_world, atol=0.6e-3)  # 1 mm steps


def test_gaps_missing_frames_and_script_breaking_titles():
    T = 30
    J = walking_h36m(T).astype(np.float32)
    J[5] = np.nan
    frames = np.concatenate([np.arange(0, 10), np.arange(20, 40)])
    t = Track3D(7, frames, J - J[:, :1], joints_world=J)
    info = VideoInfo("x.mp4", 640, 360, 30.0, 40)
    text = viewer_html(info, [t], title="a</script><b>")
    data = json.loads(re.search(r'id="hotdemo-data">(.*?)</script>', text, re.S).group(1))
    p = data["people"][0]
    assert p["frames"] == [[0, 10], [20, 20]] and p["missing"] == [5]
    assert "<b>" not in text.split("<body>")[0]


def test_size_is_under_2_mb_per_minute_of_one_person():
    T = 1800  # one minute at 30 fps
    J = walking_h36m(T, 30.0, radius=1.5).astype(np.float32)
    t = Track3D(1, np.arange(T), J - J[:, :1], joints_world=J)
    text = viewer_html(VideoInfo("x.mp4", 1280, 720, 30.0, T), [t])
    assert len(text.encode("utf-8")) < 2_000_000


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (JavaScript syntax check)")
def test_inlined_javascript_parses(tmp_path):
    info, t3 = _scene(T=10)
    text = viewer_html(info, t3)
    scripts = re.findall(r"<script>(.*?)</script>", text, re.S)
    assert len(scripts) == 1
    js = tmp_path / "viewer.js"
    js.write_text(scripts[0], encoding="utf-8")
    r = subprocess.run(["node", "--check", str(js)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
