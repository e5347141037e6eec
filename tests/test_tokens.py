"""--tokens N: HoT's token count as a speed dial at inference, without retraining."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from hotdemo.cli import app
from hotdemo.core.errors import InputError
from hotdemo.lift.lifter import load_lifter, set_tokens
from hotdemo.lift.registry import build_model

ROOT = Path(__file__).resolve().parents[1]
torch.set_num_threads(1)


def _hot():
    torch.manual_seed(0)
    m = build_model("hot_mixste", frames=27, dim=32, depth=3, heads=4, token_num=9, layer_index=1).eval()
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(0, 0.2)
    return m


def test_the_trained_count_is_unchanged_and_any_count_runs():
    m = _hot()
    x = torch.randn(2, 27, 17, 2) * 0.3
    with torch.no_grad():
        y9, idx9 = m.forward_with_index(x)
        assert idx9.shape == (2, 9)
        m.set_token_num(9)
        assert torch.equal(m(x), y9)  # the trained count: the same model exactly
        outs = {}
        for n in (1, 3, 5, 13, 27):
            m.set_token_num(n)
            y, idx = m.forward_with_index(x)
            assert idx.shape == (2, n) and y.shape == (2, 27, 17, 3) and torch.isfinite(y).all()
            assert (idx[:, 1:] > idx[:, :-1]).all()  # kept frames in order, as the embedding assumes
            outs[n] = y
    assert not torch.allclose(outs[3], y9) and not torch.allclose(outs[13], y9)
    # more kept tokens: closer to the trained model's output than fewer (a property of TRA/TPC)
    assert (outs[13] - y9).abs().mean() < (outs[1] - y9).abs().mean()


def test_the_kept_tokens_embedding_is_resampled_in_frame_order():
    m = _hot()
    pe = m.pos_embed_token.detach()
    for n in (2, 5, 17):
        r = m.token_pos_embed(n).detach()
        assert r.shape == (1, n, 32)
        torch.testing.assert_close(r[0, 0], pe[0, 0])
        torch.testing.assert_close(r[0, -1], pe[0, -1])
    torch.testing.assert_close(m.token_pos_embed(17)[0, 8], pe[0, 4])  # slot 8 of 17 = slot 4 of 9


def test_out_of_range_and_non_hot_families_are_refused():
    m = _hot()
    for bad in (0, 28):
        with pytest.raises(InputError, match=r"--tokens: the token count must be in \[1, 27\]"):
            set_tokens(m, bad)
    mixste = build_model("mixste", frames=27, dim=32, depth=3, heads=4)
    with pytest.raises(InputError, match="--tokens applies to HoT lifters"):
        set_tokens(mixste, 9)


def test_cli_tokens_reaches_the_lifter(tmp_path):
    r = CliRunner().invoke(app, ["lift", str(ROOT / "samples" / "walk_coco2d.npz"), "-o", str(tmp_path / "a"),
                                 "--export", "npz", "--tokens", "9"])
    assert r.exit_code == 0, r.output
    r2 = CliRunner().invoke(app, ["lift", str(ROOT / "samples" / "walk_coco2d.npz"), "-o", str(tmp_path / "b"),
                                  "--export", "npz"])
    assert r2.exit_code == 0, r2.output
    a = np.load(tmp_path / "a" / "walk_coco2d.npz")["joints_3d_camera"]
    b = np.load(tmp_path / "b" / "walk_coco2d.npz")["joints_3d_camera"]
    assert a.shape == b.shape and not np.allclose(a, b)
    r = CliRunner().invoke(app, ["lift", str(ROOT / "samples" / "walk_coco2d.npz"), "-o", str(tmp_path / "c"),
                                 "--tokens", "500"])
    out = re.sub(r"\x1b\[[0-9;]*m", "", r.output)
    assert r.exit_code == 2 and out.strip().startswith("error: --tokens") and "Traceback" not in out
    assert load_lifter(None, tokens=9).model.cfg.token_num == 9
