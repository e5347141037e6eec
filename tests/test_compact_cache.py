"""The compact float16 motion file that is carried to a GPU machine (hotdemo.train.data)."""

import subprocess
import sys

import numpy as np
import pytest

from hotdemo.core.errors import InputError
from hotdemo.train.data import COMPACT_FORMAT, load_motion, motion_from_positions, save_compact


def _motion(rng):
    pos = {"S1": {"walking_1": rng.normal(0, 1, (50, 32, 3)).astype(np.float32) * 0.3 + [2.0, -3.0, 0.9],
                  "sitting_2": rng.normal(0, 1, (7, 32, 3)).astype(np.float32) * 0.3},
           "S9": {"eating_1": rng.normal(0, 1, (20, 32, 3)).astype(np.float32) * 0.3 + [-3.5, 1.0, 1.0]}}
    return motion_from_positions(pos)


def test_round_trip_keeps_sequences_and_positions_to_half_a_millimetre(tmp_path):
    data = _motion(np.random.default_rng(0))
    path = save_compact(data, tmp_path / "c.npz")
    with np.load(path) as z:
        assert str(z["format"]) == COMPACT_FORMAT
        assert z["rel"].dtype == np.uint8 and z["rel"].shape == (2, 16, 3, len(data.positions))
    back = load_motion(path)
    assert back.sequences == data.sequences
    err = np.abs(back.positions - data.positions)
    assert err[:, 0].max() == 0.0  # the root is kept in float32
    assert 0 < err.max() < 5e-4  # float16 rounding of the root-relative joints, below 0.5 mm
    assert not list(tmp_path.glob(".*"))  # no temp file left


def test_compact_file_of_the_shared_data_is_small(shared, tmp_path):
    src = shared / "data" / "h36m" / "data_3d_h36m_expmap.npz"
    if not src.is_file():
        pytest.skip("../shared/data/h36m is absent")
    out = tmp_path / "h36m17_f16.npz"
    r = subprocess.run([sys.executable, "-m", "hotdemo.train", "cache", str(out), "--data", str(src),
                        "--cache-dir", str(tmp_path / "cache")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size < 40e6  # the GPU machine takes 64 MiB with the repository
    full = load_motion(src, tmp_path / "cache")
    small = load_motion(out)
    assert len(small.sequences) == len(full.sequences) == 189
    assert np.abs(small.positions - full.positions).max() < 5e-4


def test_a_damaged_compact_file_is_a_clear_error(tmp_path):
    p = tmp_path / "bad.npz"
    np.savez(p, format=np.array(COMPACT_FORMAT), root=np.zeros((4, 3), np.float32),
             rel=np.zeros((2, 16, 3, 5), np.uint8), table=np.zeros((0, 4), str))
    with pytest.raises(InputError, match="expected"):
        load_motion(p)
