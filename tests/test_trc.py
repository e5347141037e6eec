"""OpenSim TRC export: structure as OpenSim's example files, Y-up metres, read back by our reader."""

import numpy as np
import pytest

from hotdemo.core.errors import InputError
from hotdemo.core.skeletons import H36M17
from hotdemo.core.synthetic import walking_h36m
from hotdemo.io.formats.trc import WORLD_TO_OPENSIM, read_trc, trc_text, write_trc_files
from hotdemo.core.types import Track3D


def _track(T=40, tid=2, start=5):
    J = walking_h36m(T, 25.0).astype(np.float32)
    return Track3D(tid, np.arange(start, start + T), J - J[:, :1], joints_world=J)


def test_header_and_columns_are_laid_out_as_opensim_expects():
    t = _track()
    lines = trc_text("clip_track2.trc", t.joints_world, t.frames, 25.0).split("\n")
    assert lines[0].split("\t") == ["PathFileType", "4", "(X/Y/Z)", "clip_track2.trc"]
    assert lines[1].split("\t") == ["DataRate", "CameraRate", "NumFrames", "NumMarkers", "Units",
                                    "OrigDataRate", "OrigDataStartFrame", "OrigNumFrames"]
    assert lines[2].split("\t") == ["25.00", "25.00", "40", "17", "m", "25.00", "6", "40"]
    names = lines[3].split("\t")
    assert names[:2] == ["Frame#", "Time"]
    # every marker name is followed by two empty cells (its Y and Z columns)
    assert names[2:] == [c for n in H36M17.joint_names for c in (n, "", "")] + [""]
    sub = lines[4].split("\t")
    assert sub[:2] == ["", ""] and sub[2:5] == ["X1", "Y1", "Z1"] and sub[-4:-1] == ["X17", "Y17", "Z17"]
    assert lines[5] == ""  # an empty line before the data, as in OpenSim's files
    first = lines[6].split("\t")
    assert first[0] == "1" and float(first[1]) == pytest.approx(5 / 25.0) and len(first) == 2 + 3 * 17


def test_round_trip_in_metres_y_up(tmp_path):
    t = _track()
    jw = t.joints_world.copy()
    jw[3, 7] = np.nan
    text = trc_text("x.trc", jw, t.frames, 25.0)
    (tmp_path / "x.trc").write_text(text, encoding="utf-8")
    d = read_trc(tmp_path / "x.trc")
    assert d["header"]["Units"] == "m" and float(d["header"]["DataRate"]) == 25.0
    assert d["markers"] == list(H36M17.joint_names)
    assert d["frame"].tolist() == list(range(1, 41))
    np.testing.assert_allclose(d["time"], t.frames / 25.0, atol=1e-5)
    back = d["data"] @ WORLD_TO_OPENSIM  # OpenSim -> world
    assert np.isnan(back[3, 7]).all() and np.isfinite(np.delete(back.reshape(-1, 3), 3 * 17 + 7, 0)).all()
    np.testing.assert_allclose(np.nan_to_num(back), np.nan_to_num(jw), atol=1e-5)
    # Y is up: the head is high, the feet are on the floor (Y = 0), and the axes are a proper rotation
    Y = d["data"][..., 1]
    assert (Y[:, H36M17.index("head")] > 1.4).all()
    assert np.nanmin(Y) == pytest.approx(np.nanmin(jw[..., 2]), abs=1e-5) and 0 <= np.nanmin(Y) < 0.15  # ankles
    assert np.linalg.det(WORLD_TO_OPENSIM) == pytest.approx(1.0)


def test_one_file_per_person_written_atomically(tmp_path):
    tracks = [_track(tid=1), _track(tid=4, start=0), Track3D(9, np.arange(3), np.zeros((3, 17, 3), np.float32))]
    paths = write_trc_files(tmp_path, "clip", tracks, 25.0)
    assert [p.name for p in paths] == ["clip_track1.trc", "clip_track4.trc"]  # no world joints: no file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip_track1.trc", "clip_track4.trc"]
    assert read_trc(paths[1])["header"]["OrigDataStartFrame"] == "1"


def test_reader_rejects_other_files(tmp_path):
    p = tmp_path / "bad.trc"
    p.write_text("hello\nworld\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a TRC file"):
        read_trc(p)
