"""Lifter networks: shapes, options, registry, official key layout, pruning/recovery helpers."""

import itertools

import pytest
import torch

from hotdemo.lift.registry import (PRUNINGS, RECOVERIES, build_model, cluster_index, dpc_knn_scores,
                            interpolate_tokens, model_config, model_name, motion_index, uniform_index)

torch.set_num_threads(1)

SMALL = dict(frames=27, dim=32, depth=4, heads=4)
PRUNE = dict(token_num=9, layer_index=2)


def small(name, **kw):
    extra = {} if name == "mixste" else PRUNE
    torch.manual_seed(0)
    return build_model(name, **{**SMALL, **extra, **kw}).eval()


@pytest.mark.parametrize("name,out_frames", [("mixste", 27), ("hot_mixste", 27), ("tpc_mixste", 1)])
def test_output_shapes(name, out_frames):
    m = small(name)
    y = m(torch.randn(3, 27, 17, 2))
    assert y.shape == (3, out_frames, 17, 3)
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("pruning,recovery", list(itertools.product(PRUNINGS, RECOVERIES)))
def test_hot_every_option(pruning, recovery):
    m = small("hot_mixste", pruning=pruning, recovery=recovery)
    y = m(torch.randn(2, 27, 17, 2))
    assert y.shape == (2, 27, 17, 3) and torch.isfinite(y).all()
    has_tra = any(k.startswith("cross_attention.") for k in m.state_dict())
    assert has_tra == (recovery == "attention")


@pytest.mark.parametrize("pruning", PRUNINGS)
def test_tpc_every_pruning_keeps_centre(pruning):
    m = small("tpc_mixste", pruning=pruning)
    out, index = m.forward_tokens(torch.randn(2, 27, 17, 2))
    assert out.shape == (2, 9, 17, 3)
    assert (index == 13).any(dim=1).all()
    assert (index[:, 1:] > index[:, :-1]).all()


def test_wrong_input_shape_raises():
    with pytest.raises(ValueError, match="expected input"):
        small("mixste")(torch.randn(1, 26, 17, 2))


def test_registry_rejects_unknown_options_and_names():
    with pytest.raises(TypeError, match="token_num"):
        build_model("mixste", token_num=9)
    with pytest.raises(TypeError, match="recovery"):
        build_model("tpc_mixste", recovery="linear")
    with pytest.raises(ValueError, match="unknown lifter 'videopose'; known: mixste, hot_mixste"):
        build_model("videopose")
    with pytest.raises(ValueError, match="pruning"):
        build_model("hot_mixste", pruning="random")
    with pytest.raises(ValueError, match="layer_index"):
        build_model("hot_mixste", depth=4, layer_index=4)


@pytest.mark.parametrize("name", ["mixste", "hot_mixste", "tpc_mixste"])
def test_model_config_rebuilds_same_layout(name):
    m = small(name)
    cfg = model_config(m)
    assert model_name(m) == name
    m2 = build_model(name, **cfg)
    a, b = m.state_dict(), m2.state_dict()
    assert {k: v.shape for k, v in a.items()} == {k: v.shape for k, v in b.items()}


def test_official_key_layout():
    """Key names and shapes of the official HoT code at its published size (facts from
    model/mixste/{mixste,hot_mixste,tpc_mixste}.py)."""
    hot = build_model("hot_mixste").state_dict()
    mix = build_model("mixste").state_dict()
    tpc = build_model("tpc_mixste").state_dict()
    expect = {
        "Spatial_patch_to_embedding.weight": (512, 2), "Spatial_pos_embed": (1, 17, 512),
        "Temporal_pos_embed": (1, 243, 512), "STEblocks.7.attn.qkv.weight": (1536, 512),
        "STEblocks.0.attn.qkv.bias": (1536,), "TTEblocks.3.mlp.fc1.weight": (1024, 512),
        "TTEblocks.3.mlp.fc2.weight": (512, 1024), "STEblocks.2.norm1.weight": (512,),
        "TTEblocks.5.norm2.bias": (512,), "TTEblocks.0.attn.proj.weight": (512, 512),
        "Spatial_norm.weight": (512,), "Temporal_norm.bias": (512,),
        "head.0.weight": (512,), "head.1.weight": (3, 512), "head.1.bias": (3,),
    }
    hot_only = {"pos_embed_token": (1, 81, 512), "x_token": (1, 243, 512),
                "cross_attention.linear_q.weight": (512, 512), "cross_attention.linear_k.bias": (512,),
                "cross_attention.linear_v.weight": (512, 512), "cross_attention.proj.weight": (512, 512)}
    for sd in (hot, mix, tpc):
        for k, shape in expect.items():
            assert tuple(sd[k].shape) == shape, k
    for k, shape in hot_only.items():
        assert tuple(hot[k].shape) == shape, k
    assert set(mix) == set(tpc)
    assert set(hot) - set(mix) == {"pos_embed_token", "x_token"} | {
        f"cross_attention.{n}.{p}" for n in ("linear_q", "linear_k", "linear_v", "proj") for p in ("weight", "bias")}
    assert len(mix) == 2 + 2 + 2 * 8 * 12 + 4 + 4  # embedding w/b, 2 pos embeds, 16 blocks, 2 norms, head
    n_params = sum(v.numel() for v in build_model("mixste").parameters())
    assert 33e6 < n_params < 34e6  # MixSTE at 243 frames / dim 512 / depth 8: 33.7M


def _reference_dpc(x, k=2):
    """Straightforward per-token DPC-kNN with index tie-break (earlier = denser), float64."""
    x = x.double()
    N, C = x.shape
    dist = ((x[:, None] - x[None]) ** 2).sum(-1).sqrt() / C ** 0.5
    dens = torch.exp(-(torch.sort(dist, dim=1)[0][:, :k] ** 2).mean(1))
    order = sorted(range(N), key=lambda i: (-dens[i].item(), i))
    rank = {i: r for r, i in enumerate(order)}
    delta = torch.empty(N, dtype=torch.float64)
    for i in range(N):
        higher = [j for j in range(N) if rank[j] < rank[i]]
        delta[i] = dist[i, higher].min() if higher else dist.max()
    return delta * dens


def test_dpc_scores_match_straightforward_reference():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 30, 8, generator=g, dtype=torch.float64)
    x[:, 7] = x[:, 3]  # exact duplicates: equal densities, the tie-break decides
    got = dpc_knn_scores(x)
    for b in range(2):
        ref = _reference_dpc(x[b])
        assert torch.allclose(got[b], ref, atol=1e-9)


def test_cluster_index_sorted_unique_and_deterministic_on_ties():
    x = torch.zeros(2, 20, 4)  # all tokens identical: every density and score ties
    a = cluster_index(x, 5)
    b = cluster_index(x, 5)
    assert torch.equal(a, b)
    assert (a[:, 1:] > a[:, :-1]).all()
    x = torch.randn(3, 40, 6)
    idx = cluster_index(x, 10, keep=20)
    assert idx.shape == (3, 10) and (idx == 20).any(1).all()
    assert all(len(set(r.tolist())) == 10 for r in idx)


def test_cluster_keeps_one_token_per_well_separated_group():
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    pts = centres.repeat_interleave(4, 0) + 0.01 * torch.randn(12, 2)
    idx = cluster_index(pts[None], 3)[0]
    assert sorted((idx // 4).tolist()) == [0, 1, 2]


def test_motion_index_picks_moving_frames():
    x = torch.zeros(1, 30, 17, 2)
    x[0, 10:] += 1.0  # jump between frames 9 and 10
    x[0, 21:] += 2.0  # bigger jump between 20 and 21
    idx = motion_index(x, 4)[0].tolist()
    assert idx == [9, 10, 20, 21]


def test_uniform_index():
    idx = uniform_index(2, 27, 9, torch.device("cpu"))
    assert idx.shape == (2, 9) and idx[0, 0] == 0 and idx[0, -1] == 26
    assert (idx[:, 1:] > idx[:, :-1]).all()
    assert (uniform_index(1, 28, 4, torch.device("cpu"), keep=13) == 13).any()


@pytest.mark.parametrize("mode", ["linear", "nearest"])
def test_interpolate_tokens(mode):
    index = torch.tensor([[2, 5, 9]])
    tokens = index.double()[:, :, None, None].expand(1, 3, 2, 1)  # feature = frame number
    out = interpolate_tokens(tokens, index, 12, mode)[0, :, 0, 0]
    t = torch.arange(12).double()
    if mode == "linear":
        assert torch.allclose(out, t.clamp(2, 9))
    else:
        assert out.tolist() == [2, 2, 2, 2, 5, 5, 5, 5, 9, 9, 9, 9]  # 7 ties between 5 and 9: earlier


def test_training_mode_backward():
    m = small("hot_mixste").train()
    y = m(torch.randn(2, 27, 17, 2))
    y.square().mean().backward()
    assert m.x_token.grad is not None and m.x_token.grad.abs().sum() > 0
    assert m.pos_embed_token.grad is not None
