"""MHFormer / TPC-MHFormer against an independent functional reference, from checkpoints generated
here in the official layout (HoT's ``model/mhformer``: bare state dict, ``module.`` keys). The
reference is written from the official formulation (explicit softmax attention, the official
layouts and slicing), not from hotdemo's modules; the official code itself is compared by
``tests/reference/check_official.py``."""

import pytest
import torch
import torch.nn.functional as F

from hotdemo.lift.registry import load_lifter_model

torch.set_num_threads(1)
J = 17


def official_state_dict(frames, C, d_hid, depth=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    shapes, bn = {}, []

    def lin(name, o, i):
        shapes[name + ".weight"], shapes[name + ".bias"] = (o, i), (o,)

    def ln(name, n):
        shapes[name + ".weight"], shapes[name + ".bias"] = ("ln", n), (n,)

    for i in (1, 2, 3):
        ln(f"norm_{i}", frames)
        p = f"Transformer_encoder_{i}."
        shapes[p + "pos_embed"] = (1, 2 * J, frames)
        for b in range(4):
            q = p + f"blocks.{b}."
            ln(q + "norm1", frames), lin(q + "attn.qkv", 3 * frames, frames), lin(q + "attn.proj", frames, frames)
            ln(q + "norm2", frames), lin(q + "mlp.fc1", 2 * frames, frames), lin(q + "mlp.fc2", frames, 2 * frames)
        ln(p + "norm", frames)
        if frames > 27:
            shapes[f"embedding_{i}.weight"], shapes[f"embedding_{i}.bias"] = (C, 2 * J, 1), (C,)
        else:
            shapes[f"embedding_{i}.0.weight"], shapes[f"embedding_{i}.0.bias"] = (C, 2 * J, 1), (C,)
            bn.append((f"embedding_{i}.1", C))
        shapes[f"Transformer_hypothesis.pos_embed_{i}"] = (1, frames, C)
    h = "Transformer_hypothesis."
    for b in range(depth - 1):
        q = h + f"SHR_blocks.{b}."
        for i in (1, 2, 3):
            ln(q + f"norm1_{i}", C), lin(q + f"attn_{i}.qkv", 3 * C, C), lin(q + f"attn_{i}.proj", C, C)
        ln(q + "norm2", 3 * C), lin(q + "mlp.fc1", d_hid, 3 * C), lin(q + "mlp.fc2", 3 * C, d_hid)
    q = h + "CHI_blocks.0."
    for i in (1, 2, 3):
        for j in (1, 2, 3):
            ln(q + f"norm3_{i}{j}", C)
        for n in ("linear_q", "linear_k", "linear_v", "proj"):
            lin(q + f"attn_{i}.{n}", C, C)
    ln(q + "norm2", 3 * C), lin(q + "mlp.fc1", d_hid, 3 * C), lin(q + "mlp.fc2", 3 * C, d_hid)
    ln(h + "norm", 3 * C)
    bn.append(("regression.0", 3 * C))
    shapes["regression.1.weight"], shapes["regression.1.bias"] = (3 * J, 3 * C, 1), (3 * J,)
    sd = {}
    for k, s in shapes.items():
        if s[0] == "ln":
            sd[k] = 1 + 0.1 * torch.randn(s[1], generator=g)
        elif len(s) == 1:
            sd[k] = 0.1 * torch.randn(s, generator=g)
        else:
            sd[k] = torch.randn(s, generator=g) * (s[1] ** -0.5 if len(s) > 1 and k.endswith("weight") else 0.1)
    for name, n in bn:
        sd[name + ".weight"], sd[name + ".bias"] = 1 + 0.1 * torch.randn(n, generator=g), 0.1 * torch.randn(n, generator=g)
        sd[name + ".running_mean"] = 0.1 * torch.randn(n, generator=g)
        sd[name + ".running_var"] = 0.5 + torch.rand(n, generator=g)
        sd[name + ".num_batches_tracked"] = torch.tensor(10)
    return sd


# ----------------------------------------------------------------------------- reference
def _lin(sd, n, x):
    return x @ sd[n + ".weight"].T + sd[n + ".bias"]


def _ln(sd, n, x):
    eps = 1e-5 if n.startswith("norm_") else 1e-6  # the MHG's outer norms are nn.LayerNorm defaults
    return F.layer_norm(x, x.shape[-1:], sd[n + ".weight"], sd[n + ".bias"], eps=eps)


def _attn(sd, n, q_in, k_in=None, v_in=None, heads=8):
    B, N, C = q_in.shape
    c = C // heads
    if k_in is None:
        qkv = _lin(sd, n + ".qkv", q_in).reshape(B, N, 3, heads, c).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
    else:
        def sp(t):
            return t.reshape(B, t.shape[1], heads, c).permute(0, 2, 1, 3)
        q, k, v = sp(_lin(sd, n + ".linear_q", q_in)), sp(_lin(sd, n + ".linear_k", k_in)), sp(_lin(sd, n + ".linear_v", v_in))
    a = ((q @ k.transpose(-2, -1)) * c ** -0.5).softmax(dim=-1)
    return _lin(sd, n + ".proj", (a @ v).transpose(1, 2).reshape(B, N, C))


def _mlp(sd, n, x):
    return _lin(sd, n + ".fc2", F.gelu(_lin(sd, n + ".fc1", x)))


def _bn(sd, n, x):  # eval-mode BatchNorm1d over (B, C, T)
    return ((x - sd[n + ".running_mean"][:, None]) / torch.sqrt(sd[n + ".running_var"][:, None] + 1e-5)
            * sd[n + ".weight"][:, None] + sd[n + ".bias"][:, None])


def _conv1(w, b, x):  # 1x1 Conv1d over (B, Cin, T)
    return torch.einsum("oi,bit->bot", w[:, :, 0], x) + b[:, None]


def reference_forward(sd, x, depth=3, heads=8, index=None):
    B, T, _, _ = x.shape
    x = x.permute(0, 2, 3, 1).reshape(B, 2 * J, T)
    hyps, prev = [], x
    for i in (1, 2, 3):
        p = f"Transformer_encoder_{i}."
        h = _ln(sd, f"norm_{i}", prev) + sd[p + "pos_embed"]
        for b in range(4):
            q = p + f"blocks.{b}."
            h = h + _attn(sd, q + "attn", _ln(sd, q + "norm1", h), heads=9)
            h = h + _mlp(sd, q + "mlp", _ln(sd, q + "norm2", h))
        prev = prev + _ln(sd, p + "norm", h)
        hyps.append(prev)
    emb = []
    for i, h in zip((1, 2, 3), hyps):
        if f"embedding_{i}.weight" in sd:
            e = _conv1(sd[f"embedding_{i}.weight"], sd[f"embedding_{i}.bias"], h)
        else:
            e = F.relu(_bn(sd, f"embedding_{i}.1", _conv1(sd[f"embedding_{i}.0.weight"], sd[f"embedding_{i}.0.bias"], h)))
        emb.append(e.permute(0, 2, 1) + sd[f"Transformer_hypothesis.pos_embed_{i}"])
    x1, x2, x3 = emb
    hp = "Transformer_hypothesis."
    for b in range(depth - 1):
        if index is not None and b == 1:
            rows = torch.arange(B)[:, None]
            x1, x2, x3 = x1[rows, index], x2[rows, index], x3[rows, index]
        q = hp + f"SHR_blocks.{b}."
        x1 = x1 + _attn(sd, q + "attn_1", _ln(sd, q + "norm1_1", x1), heads=heads)
        x2 = x2 + _attn(sd, q + "attn_2", _ln(sd, q + "norm1_2", x2), heads=heads)
        x3 = x3 + _attn(sd, q + "attn_3", _ln(sd, q + "norm1_3", x3), heads=heads)
        cat = torch.cat([x1, x2, x3], dim=2)
        cat = cat + _mlp(sd, q + "mlp", _ln(sd, q + "norm2", cat))
        C = cat.shape[2] // 3
        x1, x2, x3 = cat[:, :, :C], cat[:, :, C:2 * C], cat[:, :, 2 * C:]
    q = hp + "CHI_blocks.0."
    x1 = x1 + _attn(sd, q + "attn_1", _ln(sd, q + "norm3_11", x2), _ln(sd, q + "norm3_12", x3), _ln(sd, q + "norm3_13", x1), heads)
    x2 = x2 + _attn(sd, q + "attn_2", _ln(sd, q + "norm3_21", x1), _ln(sd, q + "norm3_22", x3), _ln(sd, q + "norm3_23", x2), heads)
    x3 = x3 + _attn(sd, q + "attn_3", _ln(sd, q + "norm3_31", x1), _ln(sd, q + "norm3_32", x2), _ln(sd, q + "norm3_33", x3), heads)
    cat = torch.cat([x1, x2, x3], dim=2)
    cat = _ln(sd, hp + "norm", cat + _mlp(sd, q + "mlp", _ln(sd, q + "norm2", cat)))
    y = _conv1(sd["regression.1.weight"], sd["regression.1.bias"], _bn(sd, "regression.0", cat.permute(0, 2, 1)))
    return y.reshape(B, J, 3, -1).permute(0, 3, 1, 2)


@pytest.mark.parametrize("frames", [27, 45])  # <= 27: BatchNorm embeddings; > 27: plain 1x1 convolutions
def test_mhformer_equals_reference_from_official_file(tmp_path, frames):
    sd = official_state_dict(frames, C=32, d_hid=64, seed=frames)
    torch.save({"module." + k: v for k, v in sd.items()}, tmp_path / "mhformer.pth")
    model = load_lifter_model(tmp_path / "mhformer.pth", "mhformer")  # strict
    x = torch.randn(2, frames, J, 2, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = reference_forward(sd, x)
        assert (model(x) - want).abs().max() < 1e-4
        centre, _ = model.predict_centre(x)
        assert torch.equal(centre, model(x)[:, (frames - 1) // 2:(frames + 1) // 2])


def test_tpc_mhformer_equals_reference_with_its_kept_frames(tmp_path):
    frames = 27
    sd = official_state_dict(frames, C=32, d_hid=64, seed=7)
    torch.save(sd, tmp_path / "tpc.pth")
    model = load_lifter_model(tmp_path / "tpc.pth", "tpc_mhformer", token_num=9, layer_index=1)
    x = torch.randn(2, frames, J, 2, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        out, index = model(x)
        assert out.shape == (2, 9, J, 3) and bool((index == (frames - 1) // 2).any(dim=1).all())
        assert torch.equal(index, index.sort(dim=1)[0])
        assert (out - reference_forward(sd, x, index=index)).abs().max() < 1e-4
        # the mirrored pass may reuse the kept frames, as the official test does
        again, same = model(x, index)
        assert torch.equal(same, index) and torch.equal(again, out)
