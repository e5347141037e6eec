"""MotionBERT / HoT-MotionBERT against an independent functional reference, from checkpoints
generated here in the official layouts (MotionBERT's ``{'model_pos': {'module.' + key: ...}}``;
HoT's bare state dict). The reference below is written from the official formulation
(explicit ``q @ k^T * scale`` softmax attention, MotionBERT's reshapes, the official DPC-kNN
clustering with its random tie-break noise), not from hotdemo's modules."""

import math

import numpy as np
import pytest
import torch

from hotdemo.lift.lifter import Lifter
from hotdemo.lift.registry import load_lifter_model

torch.set_num_threads(1)


# ----------------------------------------------------------------------------- official layout
def official_state_dict(dim, depth, mlp_hidden, dim_rep, frames, joints=17, dim_in=3, hot_tokens=None, seed=0):
    """Random weights under DSTformer's key names and shapes (plus HoT-MotionBERT's extras)."""
    g = torch.Generator().manual_seed(seed)
    shapes = {"joints_embed.weight": (dim, dim_in), "joints_embed.bias": (dim,),
              "temp_embed": (1, frames, 1, dim), "pos_embed": (1, joints, dim),
              "norm.weight": (dim,), "norm.bias": (dim,),
              "pre_logits.fc.weight": (dim_rep, dim), "pre_logits.fc.bias": (dim_rep,),
              "head.weight": (3, dim_rep), "head.bias": (3,)}
    for stream in ("blocks_st", "blocks_ts"):
        for i in range(depth):
            p = f"{stream}.{i}."
            for n in ("norm1_s", "norm1_t", "norm2_s", "norm2_t"):
                shapes[p + n + ".weight"], shapes[p + n + ".bias"] = (dim,), (dim,)
            for a in ("attn_s", "attn_t"):
                shapes[p + a + ".qkv.weight"], shapes[p + a + ".qkv.bias"] = (3 * dim, dim), (3 * dim,)
                shapes[p + a + ".proj.weight"], shapes[p + a + ".proj.bias"] = (dim, dim), (dim,)
            for m in ("mlp_s", "mlp_t"):
                shapes[p + m + ".fc1.weight"], shapes[p + m + ".fc1.bias"] = (mlp_hidden, dim), (mlp_hidden,)
                shapes[p + m + ".fc2.weight"], shapes[p + m + ".fc2.bias"] = (dim, mlp_hidden), (dim,)
    for i in range(depth):
        shapes[f"ts_attn.{i}.weight"], shapes[f"ts_attn.{i}.bias"] = (2, 2 * dim), (2,)
    if hot_tokens:
        shapes["pos_embed_token"] = (1, hot_tokens, dim)
        shapes["x_token"] = (1, frames, dim)
        for n in ("linear_q", "linear_k", "linear_v", "proj"):
            shapes[f"cross_attention.{n}.weight"], shapes[f"cross_attention.{n}.bias"] = (dim, dim), (dim,)
    sd = {}
    for k, s in shapes.items():
        fan = s[-1] if len(s) > 1 else 1
        sd[k] = torch.randn(s, generator=g) * (1.0 / math.sqrt(fan) if len(s) > 1 else 0.1)
        if k.endswith("norm1_s.weight") or ".norm" in k and k.endswith(".weight") or k == "norm.weight":
            sd[k] = 1.0 + 0.1 * torch.randn(s, generator=g)
    return sd


# ----------------------------------------------------------------------------- reference
def _lin(sd, name, x):
    return x @ sd[name + ".weight"].T + sd[name + ".bias"]


def _ln(sd, name, x):
    return torch.nn.functional.layer_norm(x, x.shape[-1:], sd[name + ".weight"], sd[name + ".bias"], eps=1e-6)


def _attention(sd, name, x, heads, mode, seqlen):
    B, N, C = x.shape
    qkv = _lin(sd, name + ".qkv", x).reshape(B, N, 3, heads, C // heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    scale = (C // heads) ** -0.5
    if mode == "spatial":
        attn = ((q @ k.transpose(-2, -1)) * scale).softmax(dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(B, N, C)
    else:
        c = C // heads
        qt = q.reshape(-1, seqlen, heads, N, c).permute(0, 2, 3, 1, 4)
        kt = k.reshape(-1, seqlen, heads, N, c).permute(0, 2, 3, 1, 4)
        vt = v.reshape(-1, seqlen, heads, N, c).permute(0, 2, 3, 1, 4)
        attn = ((qt @ kt.transpose(-2, -1)) * scale).softmax(dim=-1)
        out = (attn @ vt).permute(0, 3, 2, 1, 4).reshape(B, N, C)
    return _lin(sd, name + ".proj", out)


def _mlp(sd, name, x):
    return _lin(sd, name + ".fc2", torch.nn.functional.gelu(_lin(sd, name + ".fc1", x)))


def _block(sd, p, x, heads, order, T):
    def s(x):
        x = x + _attention(sd, p + "attn_s", _ln(sd, p + "norm1_s", x), heads, "spatial", T)
        return x + _mlp(sd, p + "mlp_s", _ln(sd, p + "norm2_s", x))

    def t(x):
        x = x + _attention(sd, p + "attn_t", _ln(sd, p + "norm1_t", x), heads, "temporal", T)
        return x + _mlp(sd, p + "mlp_t", _ln(sd, p + "norm2_t", x))

    return t(s(x)) if order == "st" else s(t(x))


def _official_cluster(x, num, tie="random"):
    """HoT's cluster_dpc_knn (k=2) index selection.

    ``tie="random"``: the official tie-break, ``torch.rand * 1e-6`` added to the density.
    ``tie="index"``: the same algorithm with a deterministic tie-break instead (distances computed
    exactly symmetric, so two mutual nearest neighbours have equal densities, and of two equal
    densities the earlier frame counts as denser) - one of the outcomes the random rule allows.
    """
    B, N, C = x.shape
    if tie == "index":  # exact differences: zero diagonal, bitwise-symmetric distances
        dist = torch.cdist(x, x, compute_mode="donot_use_mm_for_euclid_dist") / (C ** 0.5)
    else:
        dist = torch.cdist(x, x) / (C ** 0.5)
    nearest, _ = torch.topk(dist, k=2, dim=-1, largest=False)
    density = (-(nearest ** 2).mean(dim=-1)).exp()
    if tie == "random":
        density = density + torch.rand(density.shape) * 1e-6
        mask = (density[:, None, :] > density[:, :, None]).float()
    else:  # mask[b, i, j] = 1 where frame j counts as denser than frame i
        dj, di = density[:, None, :], density[:, :, None]
        earlier = torch.arange(N)[None, :] < torch.arange(N)[:, None]
        mask = ((dj > di) | ((dj == di) & earlier[None])).float()
    dmax = dist.flatten(1).max(dim=-1)[0][:, None, None]
    delta = (dist * mask + dmax * (1 - mask)).min(dim=-1)[0]
    return torch.topk(delta * density, k=num, dim=-1)[1]


def reference_forward(sd, x, heads, depth, hot_tokens=None, layer_index=1, index=None, tie="random"):
    B, F, J, _ = x.shape
    h = _lin(sd, "joints_embed", x.reshape(-1, J, x.shape[-1])) + sd["pos_embed"]
    C = h.shape[-1]
    h = (h.reshape(B, F, J, C) + sd["temp_embed"][:, :F]).reshape(B * F, J, C)
    T = F
    for i in range(depth):
        if hot_tokens and i == layer_index:
            h4 = h.reshape(B, T, J, C)
            if index is None:
                index = torch.sort(_official_cluster(h4.mean(dim=2), hot_tokens, tie))[0]
            h4 = h4[torch.arange(B)[:, None], index]
            T = hot_tokens
            h4 = (h4.permute(0, 2, 1, 3).reshape(B * J, T, C) + sd["pos_embed_token"])
            h = h4.reshape(B, J, T, C).permute(0, 2, 1, 3).reshape(B * T, J, C)
        x_st = _block(sd, f"blocks_st.{i}.", h, heads, "st", T)
        x_ts = _block(sd, f"blocks_ts.{i}.", h, heads, "ts", T)
        alpha = _lin(sd, f"ts_attn.{i}", torch.cat([x_st, x_ts], dim=-1)).softmax(dim=-1)
        h = x_st * alpha[:, :, 0:1] + x_ts * alpha[:, :, 1:2]
    h = _ln(sd, "norm", h)
    if hot_tokens:
        h = h.reshape(B, T, J, C).permute(0, 2, 1, 3).reshape(B * J, T, C)
        q0 = sd["x_token"].expand(B * J, -1, -1)
        c = C // heads

        def split(t):
            return t.reshape(t.shape[0], t.shape[1], heads, c).permute(0, 2, 1, 3)

        q, k, v = (split(_lin(sd, f"cross_attention.linear_{n}", t)) for n, t in (("q", q0), ("k", h), ("v", h)))
        attn = ((q @ k.transpose(-2, -1)) * c ** -0.5).softmax(dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(B * J, F, C)
        h = q0 + _lin(sd, "cross_attention.proj", out)
        h = h.reshape(B, J, F, C).permute(0, 2, 1, 3)
    else:
        h = h.reshape(B, F, J, C)
    return _lin(sd, "head", torch.tanh(_lin(sd, "pre_logits.fc", h)))


# ----------------------------------------------------------------------------- tests
@pytest.mark.parametrize("size", ["lite", "full"])
def test_motionbert_equals_reference_from_official_file(tmp_path, size):
    # the official widths/ratios (lite: 256 x4, full: 512 x2), fewer frames/layers to keep it quick
    dim, ratio = (256, 4) if size == "lite" else (512, 2)
    sd = official_state_dict(dim=dim, depth=2, mlp_hidden=dim * ratio, dim_rep=512, frames=27, seed=1)
    path = tmp_path / "mb.bin"  # laid out as MotionBERT's train.py saves (its best error a numpy float64)
    torch.save({"epoch": 60, "lr": 1e-4, "model_pos": {"module." + k: v for k, v in sd.items()}, "min_loss": np.float64(40.0)},
               path)
    model = load_lifter_model(path)  # strict; family recognised from the keys
    assert model.cfg.dim == dim and model.cfg.mlp_ratio == ratio and model.cfg.frames == 27
    x = torch.randn(2, 27, 17, 3, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        want = reference_forward(sd, x, heads=8, depth=2)
        assert (model(x) - want).abs().max() < 1e-4
        # shorter input than maxlen: the temporal embedding is cut, as in MotionBERT
        assert (model(x[:, :10]) - reference_forward(sd, x[:, :10], heads=8, depth=2)).abs().max() < 1e-4


def test_hot_motionbert_equals_reference_from_official_file(tmp_path):
    sd = official_state_dict(dim=64, depth=3, mlp_hidden=256, dim_rep=128, frames=27, hot_tokens=9, seed=3)
    path = tmp_path / "hot_mb.pth"
    torch.save(sd, path)
    model = load_lifter_model(path, layer_index=1)
    assert type(model).__name__ == "HoTMotionBERT" and model.cfg.token_num == 9
    x = torch.randn(2, 27, 17, 3, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        got, index = model.forward_with_index(x)
        same_tokens = reference_forward(sd, x, heads=8, depth=3, hot_tokens=9, layer_index=1, index=index)
        # the official clustering breaks exact density ties with random noise, so two official runs
        # may keep different frames; with its tie-break made deterministic (earlier frame wins,
        # one of the outcomes the noise allows) it must pick our frames and give our output
        by_index = reference_forward(sd, x, heads=8, depth=3, hot_tokens=9, layer_index=1, tie="index")
    # with the frames we keep, the official computation gives our output
    assert (got - same_tokens).abs().max() < 1e-4
    # and the official selection rule (deterministic tie-break) keeps those frames
    assert (got - by_index).abs().max() < 1e-4
    # a strict load: a key missing from the file is named
    bad = dict(sd)
    del bad["x_token"]
    torch.save(bad, tmp_path / "bad.pth")
    from hotdemo.core.errors import CheckpointError

    with pytest.raises(CheckpointError, match="x_token"):
        load_lifter_model(tmp_path / "bad.pth", "hot_motionbert")


def test_motionbert_lifter_uses_confidence_and_rescales_to_metres(tmp_path):
    """Lifter feeds (x, y, confidence) and brings the 2.5D output to a reference body size."""
    from hotdemo.lift.lifter import REFERENCE_BONE_SUM_M, body_scale

    sd = official_state_dict(dim=32, depth=1, mlp_hidden=64, dim_rep=32, frames=27, seed=5)
    torch.save({"model_pos": sd}, tmp_path / "mb.bin")
    model = load_lifter_model(tmp_path / "mb.bin", heads=4)
    lifter = Lifter(model, device="cpu")
    assert (lifter.root, lifter.output, lifter.channels) == ("zero", "normalised", 3)
    rng = np.random.default_rng(0)
    kp = rng.uniform(200, 600, (30, 17, 2)).astype(np.float32)
    out = lifter.lift_sequence(kp, 1000, 800)
    assert np.all(out[:, 0] == 0)
    assert body_scale(out) == pytest.approx(1.0, rel=1e-4)  # median summed bone length is the reference
    conf = rng.uniform(0.2, 1.0, (30, 17)).astype(np.float32)
    assert not np.allclose(lifter.lift_sequence(kp, 1000, 800, scores=conf), out)  # confidence is an input
    assert REFERENCE_BONE_SUM_M == pytest.approx(4.15, abs=0.01)
