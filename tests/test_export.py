import json
import os

import numpy as np
import pytest

import hotdemo
from hotdemo.io.formats.bvh import read_bvh
from hotdemo.core.errors import InputError, OutputError
from hotdemo.io.formats import write_exports
from hotdemo.io.formats.csv_file import read_csv
from hotdemo.io.formats.keypoints import load_export, load_tracks2d
from hotdemo.io.formats.schema import SCHEMA_VERSION
from hotdemo.io.files import atomic_write
from hotdemo.core.skeletons import COCO17, H36M17
from hotdemo.core.synthetic import synthetic_scene
from hotdemo.core.types import Track2D
from hotdemo.post.world import estimate_world_rotation, to_world


@pytest.fixture(scope="module")
def scene():
    info, t2, t3, _, _ = synthetic_scene(2, 25, noise_px=0.7, seed=3)
    t3 = to_world(t3, estimate_world_rotation(t3), t2, info)
    # a third person seen in 2D only (too short to lift)
    t2 = t2 + [Track2D(7, np.arange(5, 9), t2[0].keypoints[:4] + 40, t2[0].scores[:4], t2[0].boxes[:4] + 40)]
    return info, t2, t3


def _same_tracks(a2, a3, b2, b3, px_tol, m_tol):
    assert [t.track_id for t in a2] == [t.track_id for t in b2]
    assert [t.track_id for t in a3] == [t.track_id for t in b3]
    for x, y in zip(a2, b2):
        assert np.array_equal(x.frames, y.frames) and x.joint_format == y.joint_format
        np.testing.assert_allclose(x.keypoints, y.keypoints, atol=px_tol)
        np.testing.assert_allclose(x.boxes, y.boxes, atol=px_tol)
        np.testing.assert_allclose(x.scores, y.scores, atol=1e-4)
    for x, y in zip(a3, b3):
        assert np.array_equal(x.frames, y.frames)
        np.testing.assert_allclose(x.joints_cam, y.joints_cam, atol=m_tol)
        np.testing.assert_allclose(x.joints_world, y.joints_world, atol=m_tol)


def test_json_and_npz_read_back_to_the_same_numbers(tmp_path, scene):
    info, t2, t3 = scene
    paths = write_exports(tmp_path, "clip", info, t2, t3, formats=("json", "npz"))
    assert [p.name for p in paths] == ["clip.json", "clip.npz"]
    j = load_export(paths[0])
    _same_tracks(t2, t3, j.tracks2d, j.tracks3d, px_tol=1e-3, m_tol=1e-5)  # JSON keeps 3 / 5 decimals
    n = load_export(paths[1])
    _same_tracks(t2, t3, n.tracks2d, n.tracks3d, px_tol=0, m_tol=0)  # NPZ is exact float32
    for d in (j, n):
        assert d.schema_version == SCHEMA_VERSION and d.hotdemo_version == hotdemo.__version__
        assert d.info == info and d.fps == info.fps


def test_json_documents_joints_and_frames(tmp_path, scene):
    info, t2, t3 = scene
    (p,) = write_exports(tmp_path, "clip", info, t2, t3, formats=("json",))
    doc = json.loads(p.read_text())
    assert doc["skeletons"]["coco17"]["joint_names"] == list(COCO17.joint_names)
    assert doc["skeletons"]["h36m17"]["joint_names"] == list(H36M17.joint_names)
    assert doc["skeletons"]["h36m17"]["parents"] == list(H36M17.parents)
    assert doc["video"]["width"] == 1280 and doc["fps"] == 30.0
    lone = [t for t in doc["tracks"] if t["track_id"] == 7][0]
    assert lone["pose_3d"] is None and lone["frames"] == [5, 6, 7, 8]
    assert set(doc["coordinate_frames"]) == {"pixels", "camera", "world", "root_camera"}


def test_npz_loads_without_pickle(tmp_path, scene):
    info, t2, t3 = scene
    (p,) = write_exports(tmp_path, "clip", info, t2, t3, formats=("npz",))
    with np.load(p, allow_pickle=False) as d:
        assert int(d["schema_version"]) == SCHEMA_VERSION
        assert d["keypoints_2d"].shape == (25 + 25 + 4, 17, 2)
        assert list(d["joint_names_3d"]) == list(H36M17.joint_names)
        sel = d["track_id_3d"] == 2
        np.testing.assert_array_equal(d["joints_3d_world"][sel], t3[1].joints_world)


def test_csv_rows_read_back(tmp_path, scene):
    info, t2, t3 = scene
    (p,) = write_exports(tmp_path, "clip", info, t2, t3, formats=("csv",))
    c = read_csv(p)
    n2, n3 = sum(len(t) for t in t2) * 17, sum(len(t) for t in t3) * 17
    assert len(c["frame"]) == n2 + n3
    keys = np.stack([c["frame"], c["track_id"], (c["skeleton"] == "h36m17").astype(int), c["joint_index"]], 1)
    assert (np.diff(keys, axis=0) != 0).any(axis=1).all()  # unique rows...
    order = np.lexsort(keys.T[::-1])
    assert np.array_equal(order, np.arange(len(order)))  # ...sorted by frame, person, skeleton, joint
    for t in t2:
        m = (c["track_id"] == t.track_id) & (c["skeleton"] == "coco17")
        xy = np.stack([c["x_px"][m], c["y_px"][m]], 1).reshape(len(t), 17, 2)
        np.testing.assert_allclose(xy, t.keypoints, atol=1e-3)
        np.testing.assert_allclose(c["score"][m].reshape(len(t), 17), t.scores, atol=1e-4)
        assert np.isnan(c["x_world"][m]).all()
        assert list(c["joint"][m][:17]) == list(COCO17.joint_names)
    for t in t3:
        m = (c["track_id"] == t.track_id) & (c["skeleton"] == "h36m17")
        w = np.stack([c["x_world"][m], c["y_world"][m], c["z_world"][m]], 1).reshape(len(t), 17, 3)
        cam = np.stack([c["x_cam"][m], c["y_cam"][m], c["z_cam"][m]], 1).reshape(len(t), 17, 3)
        np.testing.assert_allclose(w, t.joints_world, atol=1e-5)
        np.testing.assert_allclose(cam, t.joints_cam, atol=1e-5)
        np.testing.assert_allclose(c["time_s"][m][::17], t.frames / 30.0, atol=1e-4)


def test_bvh_export_one_file_per_lifted_person(tmp_path, scene):
    info, t2, t3 = scene
    paths = write_exports(tmp_path, "clip", info, t2, t3, formats=("bvh",))
    assert [p.name for p in paths] == ["clip_track1.bvh", "clip_track2.bvh"]
    for p, t in zip(paths, t3):
        P = read_bvh(p).h36m_world()
        assert P.shape == t.joints_world.shape
        # the synthetic skeleton is rigid: forward kinematics matches within 1 cm per joint
        assert np.linalg.norm(P - t.joints_world, axis=-1).max() < 0.01


def test_load_tracks2d_for_hotdemo_lift(tmp_path, scene):
    info, t2, t3 = scene
    for fmt in ("json", "npz"):
        (p,) = write_exports(tmp_path, "clip", info, t2, t3, formats=(fmt,))
        tracks, vinfo = load_tracks2d(p)
        assert vinfo.width == 1280 and vinfo.height == 720 and vinfo.fps == 30.0
        _same_tracks(t2, [], tracks, [], px_tol=1e-3, m_tol=0)


def test_files_are_atomic_and_errors_are_clear(tmp_path, scene):
    info, t2, t3 = scene
    (p,) = write_exports(tmp_path, "clip", info, t2, t3, formats=("json",))
    before = p.read_bytes()
    umask = os.umask(0)
    os.umask(umask)
    assert p.stat().st_mode & 0o777 == 0o666 & ~umask  # ordinary permissions, not mkstemp's 0600

    def boom(f):
        f.write(b"{partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(p, boom)
    assert p.read_bytes() == before  # the old file is untouched...
    assert sorted(os.listdir(tmp_path)) == ["clip.json"]  # ...and no temporary file is left
    with pytest.raises(InputError, match="unknown export format"):
        write_exports(tmp_path, "clip", info, t2, t3, formats=("xml",))
    with pytest.raises(OutputError):
        write_exports(tmp_path / "missing", "clip", info, t2, t3)
    (tmp_path / "other.json").write_text('{"a": 1}')
    with pytest.raises(InputError, match="not a hotdemo export"):
        load_export(tmp_path / "other.json")
    with pytest.raises(InputError):
        load_export(tmp_path / "nope.npz")


def test_empty_clip_writes_valid_files(tmp_path, scene):
    info, _, _ = scene
    paths = write_exports(tmp_path, "empty", info, [], [], formats=("json", "npz", "csv", "bvh"))
    assert [p.name for p in paths] == ["empty.json", "empty.npz", "empty.csv"]
    for p in paths[:2]:
        d = load_export(p)
        assert d.tracks2d == [] and d.tracks3d == []


def test_viewer_angles_and_trc_exports(tmp_path, scene):
    pytest.importorskip("matplotlib")
    info, t2, t3 = scene
    paths = write_exports(tmp_path, "clip", info, t2, t3, formats=("html", "angles", "trc"))
    assert [p.name for p in paths] == ["clip.html", "clip_angles.csv", "clip_angles_track1.png",
                                       "clip_angles_track2.png", "clip_track1.trc", "clip_track2.trc"]
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in paths)  # no temporary file left
    from hotdemo.post.angles import read_angles_csv
    from hotdemo.io.formats.trc import read_trc
    from hotdemo.io.formats.viewer import read_viewer_data

    assert [p["id"] for p in read_viewer_data(paths[0])["people"]] == [1, 2]
    assert len(read_angles_csv(paths[1])["frame"]) == sum(len(t) for t in t3)
    assert read_trc(paths[4])["data"].shape == (len(t3[0]), 17, 3)
    # empty clips: a viewer with nobody, an angles CSV with only its header, no TRC
    empty = write_exports(tmp_path / "e" if (tmp_path / "e").mkdir() is None else None, "e", info, [], [],
                          formats=("html", "angles", "trc"))
    assert [p.name for p in empty] == ["e.html", "e_angles.csv"]
