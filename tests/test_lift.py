"""Sequence lifting: equality with the official demo's computation, windows, flip, determinism,
loading lifters and keypoint files."""

import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from hotdemo.core.errors import InputError, WeightsError
from hotdemo.io.formats.keypoints import load_keypoints
from hotdemo.lift.lifter import Lifter, load_lifter
from hotdemo.lift.windows import window_starts
from hotdemo.post.refine import PostSettings, lift_and_refine, lift_track
from hotdemo.lift.registry import build_model
from hotdemo.core.skeletons import H36M17
from hotdemo.detect.assemble import to_h36m
from hotdemo.core.types import Track2D

torch.set_num_threads(1)

LEFT, RIGHT = [4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]  # Human3.6M-17, as in the official demo


def walking_keypoints(T, width=1000, height=600, seed=0):
    """A smooth (T, 17, 2) pixel sequence: a rest pose swaying and drifting, with small noise."""
    rng = np.random.default_rng(seed)
    rest = np.stack([rng.uniform(-60, 60, 17), rng.uniform(-150, 150, 17)], axis=1)
    t = np.arange(T)[:, None, None]
    phase = rng.uniform(0, 2 * np.pi, (1, 17, 2))
    kp = rest[None] + 25 * np.sin(t / 9.0 + phase) + np.array([width / 2, height / 2])
    kp[..., 0] += 0.8 * t[..., 0]
    return (kp + rng.normal(0, 0.5, kp.shape)).astype(np.float32)


def randomize_embeddings(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name in ("Spatial_pos_embed", "Temporal_pos_embed", "pos_embed_token", "x_token"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return model.eval()


# ------------------------------------------------------------------------------------------
# An independent, straightforward float64 reference of the official HoT-MixSTE forward pass and
# of the official demo (demo/vis.py get_pose3D), written from the paper/code's description.
# ------------------------------------------------------------------------------------------

def _lin(sd, x, name):
    return x @ sd[name + ".weight"].T + sd[name + ".bias"]


def _ln(sd, x, name, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * sd[name + ".weight"] + sd[name + ".bias"]


def _mha(q, k, v, heads):
    B, Nq, C = q.shape
    d = C // heads
    outs = []
    for h in range(heads):  # explicit per-head attention
        qh, kh, vh = (t[..., h * d:(h + 1) * d] for t in (q, k, v))
        a = torch.softmax(qh @ kh.transpose(1, 2) * d ** -0.5, dim=-1)
        outs.append(a @ vh)
    return torch.cat(outs, dim=-1)


def _block(sd, x, pre, heads):
    h = _ln(sd, x, pre + ".norm1", 1e-6)
    q, k, v = _lin(sd, h, pre + ".attn.qkv").chunk(3, dim=-1)
    x = x + _lin(sd, _mha(q, k, v, heads), pre + ".attn.proj")
    h = _ln(sd, x, pre + ".norm2", 1e-6)
    h = _lin(sd, h, pre + ".mlp.fc1")
    h = 0.5 * h * (1 + torch.erf(h / math.sqrt(2)))
    return x + _lin(sd, h, pre + ".mlp.fc2")


def _ref_cluster(feat, num):
    """DPC-kNN (k=2) centres of feat (N, C); ties: the earlier token is denser / kept first."""
    N, C = feat.shape
    dist = torch.sqrt(((feat[:, None, :] - feat[None, :, :]) ** 2).sum(-1)) / math.sqrt(C)
    density = torch.exp(-(torch.sort(dist, dim=1)[0][:, :2] ** 2).mean(1)).numpy()
    rank = np.empty(N, int)
    rank[np.argsort(-density, kind="stable")] = np.arange(N)
    delta = np.empty(N)
    d = dist.numpy()
    for i in range(N):
        higher = rank < rank[i]
        delta[i] = d[i, higher].min() if higher.any() else d.max()
    score = delta * density
    return np.sort(np.argsort(-score, kind="stable")[:num])


def reference_hot_mixste(sd, x, *, depth, heads, layer_index, token_num):
    b, f, n, _ = x.shape
    x = _lin(sd, x.reshape(b * f, n, 2), "Spatial_patch_to_embedding") + sd["Spatial_pos_embed"]
    x = _ln(sd, _block(sd, x, "STEblocks.0", heads), "Spatial_norm", 1e-6)
    x = x.reshape(b, f, n, -1).permute(0, 2, 1, 3).reshape(b * n, f, -1) + sd["Temporal_pos_embed"]
    x = _ln(sd, _block(sd, x, "TTEblocks.0", heads), "Temporal_norm", 1e-6)
    x = x.reshape(b, n, f, -1).permute(0, 2, 1, 3)
    for i in range(1, depth):
        if i == layer_index:
            keep = [_ref_cluster(x[j].mean(1), token_num) for j in range(b)]
            x = torch.stack([x[j, torch.from_numpy(keep[j])] for j in range(b)])
            x = x + sd["pos_embed_token"][0][None, :, None, :]
            f = token_num
        x = _ln(sd, _block(sd, x.reshape(b * f, n, -1), f"STEblocks.{i}", heads), "Spatial_norm", 1e-6)
        x = x.reshape(b, f, n, -1).permute(0, 2, 1, 3).reshape(b * n, f, -1)
        x = _ln(sd, _block(sd, x, f"TTEblocks.{i}", heads), "Temporal_norm", 1e-6)
        x = x.reshape(b, n, f, -1).permute(0, 2, 1, 3)
    x = x.permute(0, 2, 1, 3).reshape(b * n, f, -1)
    q = sd["x_token"].expand(b * n, -1, -1)
    att = _mha(_lin(sd, q, "cross_attention.linear_q"), _lin(sd, x, "cross_attention.linear_k"),
               _lin(sd, x, "cross_attention.linear_v"), heads)
    x = q + _lin(sd, att, "cross_attention.proj")
    x = x.reshape(b, n, -1, x.shape[-1]).permute(0, 2, 1, 3)
    return _lin(sd, _ln(sd, x, "head.0", 1e-5), "head.1")


def reference_demo(model_fn, keypoints, frames, w, h):
    """The official demo's loop: centred chunks, edge padding, screen normalisation, flip
    averaging, crop, root = 0, concatenation."""
    L = len(keypoints)
    n_chunks = L // frames + 1
    offset = (n_chunks * frames - L) // 2
    outs = []
    for i in range(n_chunks):
        start, end = i * frames - offset, (i + 1) * frames - offset
        lo, hi = max(start, 0), min(end, L)
        pad_l, pad_r = lo - start, end - hi
        chunk = np.pad(keypoints[lo:hi], ((pad_l, pad_r), (0, 0), (0, 0)), "edge")
        x = chunk / w * 2 - [1, h / w]
        xf = x.copy()
        xf[:, :, 0] *= -1
        xf[:, LEFT + RIGHT] = xf[:, RIGHT + LEFT]
        y = model_fn(torch.from_numpy(x[None]).double())
        yf = model_fn(torch.from_numpy(xf[None]).double())
        yf[..., 0] *= -1
        yf[:, :, LEFT + RIGHT] = yf[:, :, RIGHT + LEFT]
        out = ((y + yf) / 2)[0, pad_l:frames - pad_r]
        out[:, 0] = 0
        outs.append(out.numpy())
    return np.concatenate(outs)


def test_equals_official_demo_computation_to_1e4():
    cfg = dict(frames=243, dim=32, depth=4, heads=4, token_num=81, layer_index=3)
    torch.manual_seed(0)
    model = randomize_embeddings(build_model("hot_mixste", **cfg))
    sd = {k: v.double() for k, v in model.state_dict().items()}
    kp = walking_keypoints(243)
    ref = reference_demo(lambda x: reference_hot_mixste(sd, x, depth=4, heads=4, layer_index=3, token_num=81),
                         kp, 243, 1000, 600)
    got = Lifter(model, device="cpu", overlap=False).lift_sequence(kp, 1000, 600)
    assert got.shape == ref.shape == (243, 17, 3) and got.dtype == np.float32
    assert np.abs(ref).max() > 0.05  # not a degenerate output
    assert np.abs(got - ref).max() < 1e-4


def test_overlap_off_places_windows_as_the_official_demo():
    starts, blended = window_starts(243, 243, False)
    assert not blended and starts.tolist() == [-121, 122]
    starts, blended = window_starts(600, 243, 0)
    assert starts.tolist() == [-((3 * 243 - 600) // 2) + k * 243 for k in range(3)]
    starts, blended = window_starts(600, 81, True)
    assert blended and starts[0] == 0 and starts[-1] == 600 - 81
    assert (np.diff(starts) <= 81 // 2 + 1).all()


def small_hot(frames=81, **kw):
    torch.manual_seed(1)
    cfg = dict(frames=frames, dim=32, depth=3, heads=4, token_num=frames // 3, layer_index=1, **kw)
    return randomize_embeddings(build_model("hot_mixste", **cfg))


def manual_pass(model, kp, w, h):
    """The model on one edge-padded, centred window, without flip."""
    T, F = len(kp), model.cfg.frames
    left = (F - T) // 2
    idx = np.clip(np.arange(F) - left, 0, T - 1)
    x = torch.from_numpy((kp[idx].astype(np.float64) / w * 2 - [1, h / w]).astype(np.float32))[None]
    with torch.no_grad():
        y = model(x)[0].numpy()
    y = y[left:left + T]
    y[:, 0] = 0
    return y


def test_windowed_equals_single_pass_when_one_window_covers_the_clip():
    model = small_hot()
    for T in (81, 50):  # a full window, and a short clip (edge-padded, centred)
        kp = walking_keypoints(T)
        want = manual_pass(model, kp, 1000, 600)
        for overlap in (True, False, 0.25, 20):
            if overlap is False and T == 81:
                continue  # official placement tiles an exact-length clip with two padded windows
            got = Lifter(model, device="cpu", flip=False, overlap=overlap).lift_sequence(kp, 1000, 600)
            assert got.shape == (T, 17, 3)
            np.testing.assert_allclose(got, want, atol=1e-5)


def test_batch_size_does_not_change_the_result():
    model = small_hot()
    kp = walking_keypoints(300)
    a = lift_and_refine(Lifter(model, device="cpu", batch_size=1), kp, 1000, 600)
    b = lift_and_refine(Lifter(model, device="cpu", batch_size=16), kp, 1000, 600)
    np.testing.assert_allclose(a, b, atol=1e-5)


class Echo2D(nn.Module):
    """A stand-in 'lifter' that returns its normalised 2D input as (x, y, 0) for each joint."""

    seq2seq = True

    def __init__(self, frames):
        super().__init__()
        self.cfg = type("Cfg", (), {"frames": frames})()

    def forward(self, x):
        return torch.cat([x, torch.zeros_like(x[..., :1])], dim=-1)


def test_flip_averaging_keeps_left_and_right_joints_where_they_belong():
    kp = walking_keypoints(40)
    kp[:, LEFT, 0] += 200  # left joints clearly to the right in the image, as when facing the camera
    lifter = Lifter(Echo2D(27), device="cpu", flip=True, overlap=True)
    out = lifter.lift_sequence(kp, 1000, 600)
    norm = kp / 1000 * 2 - np.array([1, 0.6])
    want = norm.copy()
    want[:, 0] = 0  # the root is set to zero, as in the official demo (the model predicts root-relative)
    np.testing.assert_allclose(out[..., :2], want, atol=1e-5)
    assert (out[:, LEFT, 0] > out[:, RIGHT, 0]).all()


def test_flip_averaged_lifter_is_mirror_equivariant():
    """Lifting the mirrored video gives the mirrored skeleton: left/right stay consistent."""
    torch.manual_seed(2)
    model = randomize_embeddings(build_model("mixste", frames=27, dim=32, depth=2, heads=4))
    kp = walking_keypoints(27)
    lifter = Lifter(model, device="cpu", flip=True, overlap=True)
    y = lifter.lift_sequence(kp, 1000, 600)
    mirrored = kp[:, H36M17.flip_permutation].copy()
    mirrored[..., 0] = 1000 - mirrored[..., 0]
    ym = lifter.lift_sequence(mirrored, 1000, 600)
    expect = y[:, H36M17.flip_permutation].copy()
    expect[..., 0] *= -1
    np.testing.assert_allclose(ym, expect, atol=1e-5)
    assert np.abs(y[:, LEFT] - y[:, RIGHT]).max() > 1e-3  # the check is not vacuous


def test_deterministic_even_when_every_token_ties():
    torch.manual_seed(3)
    model = build_model("hot_mixste", frames=81, dim=32, depth=3, heads=4, token_num=27, layer_index=1).eval()
    still = np.repeat(walking_keypoints(1), 120, axis=0)  # a motionless clip: all frames identical
    for kp in (still, walking_keypoints(120)):
        a = lift_and_refine(Lifter(model, device="cpu"), kp, 1000, 600)
        b = lift_and_refine(Lifter(model, device="cpu"), kp, 1000, 600)
        assert np.array_equal(a, b)


def smooth_embeddings(model):
    """Position embeddings / recovery queries that vary slowly over the window, so that the
    model's output is smooth in time within a window and differs between windows."""
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for name in ("Temporal_pos_embed", "pos_embed_token", "x_token"):
            p = getattr(model, name)
            n, c = p.shape[1:]
            t = torch.linspace(0, 1, n)[:, None]
            freq, phase = torch.rand(1, c, generator=g) * 2, torch.rand(1, c, generator=g) * 6.3
            p.copy_(torch.sin(2 * math.pi * freq * t + phase)[None])
    return model.eval()


def test_long_sequence_has_no_seam_at_window_borders():
    model = smooth_embeddings(small_hot())
    kp = walking_keypoints(600)
    lifter = Lifter(model, device="cpu", overlap=True)
    out = lifter.lift_sequence(kp, 1000, 600)
    assert out.shape == (600, 17, 3) and np.isfinite(out).all()
    assert np.all(out[:, 0] == 0)
    jump = np.abs(np.diff(out, axis=0)).max(axis=(1, 2))  # jump[t]: between frames t and t+1
    starts, _ = window_starts(600, 81, True)
    borders = np.unique(np.concatenate([starts[1:] - 1, starts[:-1] + 80]))  # where a window begins / ends
    borders = borders[(borders >= 0) & (borders < 599)]
    inside = np.setdiff1d(np.arange(599), borders)
    assert jump[borders].max() <= jump[inside].max()
    # without blending the official tiling does jump at its borders: the check can fail
    tiled = Lifter(model, device="cpu", overlap=False).lift_sequence(kp, 1000, 600)
    tjump = np.abs(np.diff(tiled, axis=0)).max(axis=(1, 2))
    tstarts, _ = window_starts(600, 81, False)
    tb = tstarts[1:] - 1
    tb = tb[(tb >= 0) & (tb < 599)]
    assert tjump[tb].max() > 2 * np.delete(tjump, tb).max()
    assert tjump[tb].max() > 2 * jump.max()


def test_smoothing_reduces_jitter_and_keeps_shape():
    model = small_hot()
    kp = walking_keypoints(200)
    raw = Lifter(model, device="cpu").lift_sequence(kp, 1000, 600)
    sm = lift_and_refine(Lifter(model, device="cpu"), kp, 1000, 600, PostSettings.from_options(smooth=True))
    assert sm.shape == raw.shape and np.all(sm[:, 0] == 0)
    assert np.abs(np.diff(sm, 2, axis=0)).mean() < np.abs(np.diff(raw, 2, axis=0)).mean()


def test_tpc_lifter_runs_one_centred_window_per_frame():
    torch.manual_seed(4)
    model = randomize_embeddings(build_model("tpc_mixste", frames=27, dim=32, depth=3, heads=4,
                                             token_num=9, layer_index=1))
    kp = walking_keypoints(40)
    out = Lifter(model, device="cpu", flip=False).lift_sequence(kp, 1000, 600)
    assert out.shape == (40, 17, 3)
    for t in (0, 20, 39):
        idx = np.clip(np.arange(27) - 13 + t, 0, 39)
        x = torch.from_numpy((kp[idx].astype(np.float64) / 1000 * 2 - [1, 0.6]).astype(np.float32))[None]
        with torch.no_grad():
            want = model(x)[0, 0].numpy()
        want[0] = 0
        np.testing.assert_allclose(out[t], want, atol=1e-5)


def test_the_lifter_does_not_import_the_post_step():
    """Data flows one way: lift -> post. Loading and running a lifter imports nothing of hotdemo.post."""
    import subprocess
    import sys

    code = ("import sys, numpy as np; from hotdemo.lift.lifter import load_lifter; "
            "load_lifter(None, allow_untrained=True, device='cpu').lift_sequence(np.zeros((5, 17, 2)) + 50, 100, 100); "
            "print(sorted(m for m in sys.modules if m.startswith('hotdemo.post')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_post_settings_defaults_are_the_lift_and_refine_defaults():
    model = small_hot()
    kp = walking_keypoints(60)
    lifter = Lifter(model, device="cpu")
    a = lift_and_refine(lifter, kp, 1000, 600)
    b = lift_and_refine(lifter, kp, 1000, 600, PostSettings.from_options(smooth=True, bones=True, reproject=True))
    assert np.array_equal(a, b)
    raw = lift_and_refine(lifter, kp, 1000, 600, PostSettings.from_options(smooth=False, bones=False, reproject=False))
    assert np.array_equal(raw, lifter.lift_sequence(kp, 1000, 600))  # no post step: the lifter's own output
    assert not np.allclose(a, raw)


def test_call_on_tracks():
    model = small_hot()
    kp = walking_keypoints(30)
    frames = np.arange(100, 130)
    track = Track2D(track_id=5, frames=frames, keypoints=kp, scores=np.ones((30, 17), np.float32),
                    boxes=np.zeros((30, 4), np.float32), joint_format="h36m17")
    t3 = Lifter(model, device="cpu")(track, 1000, 600)
    assert t3.track_id == 5 and np.array_equal(t3.frames, frames) and t3.joints_cam.shape == (30, 17, 3)
    coco = Track2D(track_id=5, frames=frames, keypoints=kp, scores=np.ones((30, 17), np.float32),
                   boxes=np.zeros((30, 4), np.float32), joint_format="coco17")
    with pytest.raises(ValueError, match="Human3.6M"):
        Lifter(model, device="cpu")(coco, 1000, 600)


def test_load_lifter(tmp_path, monkeypatch):
    import hotdemo.lift.lifter as lift

    monkeypatch.setattr(lift, "default_weights_path", lambda: tmp_path / "missing.pt")
    with pytest.raises(WeightsError, match="--allow-untrained") as e:
        load_lifter(None)
    assert "\n" not in str(e.value)
    untrained = load_lifter(None, allow_untrained=True, device="cpu")
    assert untrained.seq2seq and untrained.frames == lift.UNTRAINED_CONFIG["frames"]
    with pytest.raises(InputError, match="unknown lifter"):
        load_lifter("videopose")
    # our own checkpoint (with its config): as --lifter FILE, and as the shipped default
    from hotdemo.lift.checkpoint import save_checkpoint

    src = small_hot()
    kp = walking_keypoints(90)

    ours = save_checkpoint(tmp_path / "ours.pt", src)
    a = load_lifter(str(ours), device="cpu").lift_sequence(kp, 1000, 600)
    b = Lifter(src, device="cpu").lift_sequence(kp, 1000, 600)
    assert np.array_equal(a, b)
    monkeypatch.setattr(lift, "default_weights_path", lambda: ours)
    c = load_lifter(None, device="cpu").lift_sequence(kp, 1000, 600)
    assert np.array_equal(a, c)


def test_load_lifter_official_checkpoint(tmp_path):
    cfg = dict(frames=27, dim=32, depth=8, heads=8, token_num=9, layer_index=3)  # official depth/heads/index
    src = randomize_embeddings(build_model("hot_mixste", **cfg))
    path = tmp_path / "official.pth"
    torch.save({"module." + k: v for k, v in src.state_dict().items()}, path)
    kp = walking_keypoints(40)
    want = lift_and_refine(Lifter(src, device="cpu"), kp, 1000, 600)
    for lifter in (load_lifter("hot_mixste", str(path), device="cpu"), load_lifter(str(path), device="cpu")):
        assert np.array_equal(lift_and_refine(lifter, kp, 1000, 600), want)
    mix = tmp_path / "mixste.pth"
    torch.save(build_model("mixste", frames=27, dim=32, depth=8).state_dict(), mix)
    with pytest.raises(WeightsError, match="mixste.pth: not a hot_mixste checkpoint: key pos_embed_token"):
        load_lifter("hot_mixste", str(mix), device="cpu")
    with pytest.raises(WeightsError, match="unexpected keys: .*pos_embed_token"):
        load_lifter("mixste", str(path), device="cpu")  # a HoT checkpoint is not a MixSTE one


def test_load_keypoints_plain_npz(tmp_path):
    kp = walking_keypoints(20)
    p = tmp_path / "k.npz"
    np.savez(p, keypoints=kp, width=1000, height=600, fps=25.0)
    tracks, w, h, fps = load_keypoints(p)
    assert (w, h, fps) == (1000, 600, 25.0) and len(tracks) == 1
    t = tracks[0]
    assert t.joint_format == "coco17" and np.array_equal(t.keypoints, kp) and np.all(t.scores == 1)
    assert np.array_equal(t.frames, np.arange(20))
    np.savez(p, keypoints=kp, scores=np.full((20, 17), 0.5), width=1000, height=600, joint_format="h36m17")
    tracks, w, h, fps = load_keypoints(p)
    assert tracks[0].joint_format == "h36m17" and fps == 0.0 and np.all(tracks[0].scores == 0.5)


@pytest.mark.parametrize("content,msg", [
    (dict(keypoints=np.zeros((5, 17, 2)), width=10), "missing height"),
    (dict(keypoints=np.zeros((5, 18, 2)), width=10, height=10), r"\(T, 17, 2\)"),
    (dict(keypoints=np.zeros((5, 17, 2)), width=10, height=10, scores=np.zeros((4, 17))), "scores"),
    (dict(keypoints=np.zeros((5, 17, 2)), width=10, height=10, joint_format="mpii"), "joint_format"),
    (dict(keypoints=np.full((5, 17, 2), np.nan), width=10, height=10), "NaN"),
    (dict(keypoints=np.zeros((5, 17, 2)), width=0, height=10), "positive"),
])
def test_load_keypoints_errors(tmp_path, content, msg):
    p = tmp_path / "k.npz"
    np.savez(p, **content)
    with pytest.raises(InputError, match=msg):
        load_keypoints(p)


def test_load_keypoints_file_errors(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_keypoints(tmp_path / "none.npz")
    with pytest.raises(InputError, match="folder"):
        load_keypoints(tmp_path)
    bad = tmp_path / "bad.npz"
    bad.write_text("nope")
    with pytest.raises(InputError, match="cannot read"):
        load_keypoints(bad)
    txt = tmp_path / "k.txt"
    txt.write_text("x")
    with pytest.raises(InputError, match="unsupported"):
        load_keypoints(txt)


def test_load_keypoints_hotdemo_export_is_delegated(tmp_path, monkeypatch):
    import hotdemo.io.formats.keypoints as export
    from hotdemo.core.types import VideoInfo

    kp = walking_keypoints(10)
    track = Track2D(track_id=2, frames=np.arange(10), keypoints=kp, scores=np.ones((10, 17), np.float32),
                    boxes=np.zeros((10, 4), np.float32))
    info = VideoInfo(path="v.mp4", width=640, height=480, fps=30.0, frame_count=10)
    seen = []
    monkeypatch.setattr(export, "load_tracks2d", lambda p: (seen.append(p), ([track], info))[1])
    for name, save in (("a.json", lambda p: p.write_text("{}")),
                       ("b.npz", lambda p: np.savez(p, schema_version=1))):
        p = tmp_path / name
        save(p)
        tracks, w, h, fps = load_keypoints(p)
        assert tracks[0].track_id == 2 and (w, h, fps) == (640, 480, 30.0)
    assert len(seen) == 2


@pytest.mark.parametrize("null", [None, [None, None]])
def test_lift_treats_a_null_keypoint_as_a_missing_joint(tmp_path, null):
    """docs/formats.md allows ``null`` for a missing value: a JSON export with one null keypoint
    is lifted in full (the joint is interpolated like a low-score one), not half lost to NaN."""
    import json

    from hotdemo.io.formats import write_exports
    from hotdemo.io.formats.keypoints import load_export
    from hotdemo.pipeline import PipelineConfig, lift_keypoints_file
    from hotdemo.core.synthetic import synthetic_scene

    info, t2, _, _, _ = synthetic_scene(1, 120, fps=25.0)
    write_exports(tmp_path, "clip", info, t2, [], formats=("json",))
    doc = json.loads((tmp_path / "clip.json").read_text())
    doc["tracks"][0]["keypoints_2d"][60][9] = null  # left wrist, frame 60
    (tmp_path / "clip.json").write_text(json.dumps(doc))
    lifter = load_lifter(None, allow_untrained=True, device="cpu")
    res = lift_keypoints_file(tmp_path / "clip.json", tmp_path / "out", PipelineConfig(exports=("npz",)),
                              lifter=lifter)
    (t3,) = load_export(tmp_path / "out" / "clip.npz").tracks3d
    assert len(t3) == 120 and res.people == 1
    assert np.isfinite(t3.joints_cam).all() and np.isfinite(t3.joints_world).all()
    # the same as lifting the clip with that joint given a zero score
    t = t2[0]
    kp, sc = t.keypoints.copy(), t.scores.copy()
    sc[60, 9] = 0.0
    ref = lift_track(lifter, to_h36m(Track2D(t.track_id, t.frames, kp, sc, t.boxes)), info.width, info.height)
    np.testing.assert_allclose(t3.joints_cam, ref.joints_cam, atol=1e-4)


def test_a_joint_missing_in_every_frame_is_a_clear_error():
    kp = walking_keypoints(20)
    kp[:, 0] = np.nan  # the nose has no mirror and no parent to be rebuilt from
    bad = Track2D(0, np.arange(20), kp, np.ones((20, 17), np.float32), np.zeros((20, 4), np.float32))
    with pytest.raises(InputError, match="track 0: nose missing"):
        to_h36m(bad)
    kp = walking_keypoints(20)
    kp[:, 9] = np.nan  # a wrist missing everywhere is rebuilt from its mirror
    out = to_h36m(Track2D(0, np.arange(20), kp, np.ones((20, 17), np.float32), np.zeros((20, 4), np.float32)))
    assert np.isfinite(out.keypoints).all()


@pytest.mark.parametrize("family", sorted(__import__("hotdemo.lift.registry", fromlist=["LIFTERS"]).LIFTERS))
def test_every_family_lifts_through_the_lifter(family):
    """Plumbing: each registered family's tiny untrained config runs through Lifter (windows, flip,
    seq2frame batching, confidence channel, root handling, units) and gives finite root-relative 3D."""
    from hotdemo.lift.lifter import load_lifter

    lifter = load_lifter(family, allow_untrained=True, device="cpu", batch_size=4)
    kp = walking_keypoints(40)
    out = lifter.lift_sequence(kp, 1000, 600, scores=np.full((40, 17), 0.9, np.float32))
    assert out.shape == (40, 17, 3) and np.isfinite(out).all() and np.all(out[:, 0] == 0)
    assert np.abs(out).max() > 0
