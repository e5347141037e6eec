"""MotionBERT (DSTformer, ICCV 2023) and HoT-MotionBERT (the Hourglass Tokenizer on DSTformer).

DSTformer: a joint embedding (``joints_embed``: x, y, confidence -> dim) plus a spatial
(``pos_embed``) and a temporal (``temp_embed``) position embedding, then ``depth`` dual-stream
layers. Each layer runs two blocks on the same input, ``blocks_st[i]`` (spatial attention + MLP,
then temporal attention + MLP) and ``blocks_ts[i]`` (temporal first), and fuses them with a
per-token softmax weight from ``ts_attn[i]`` (Linear 2·dim -> 2). A final LayerNorm, ``pre_logits``
(Linear dim -> dim_rep, tanh) and ``head`` (Linear dim_rep -> 3) give every frame's 3D pose.

Parameter names equal MotionBERT's ``lib/model/DSTformer.py`` (and HoT's
``model/motionbert/motionbert.py``), so MotionBERT's published checkpoints (``{'model_pos':
state_dict with 'module.' keys, ...}``) load strictly. Official sizes: full (``MB_ft_h36m``) dim
512, mlp_ratio 2; lite (``MB_ft_h36m_global_lite``) dim 256, mlp_ratio 4; both depth 5, 8 heads,
dim_rep 512, 243 frames. LayerNorm epsilon 1e-6 everywhere, as MotionBERT builds the model.

HoT-MotionBERT (HoT's ``model/motionbert/hot_motionbert.py``, which hard-codes the lite size,
81 tokens and layer_index 1; here all configurable): before dual-stream layer ``layer_index`` the
frames are pruned to ``token_num`` cluster centres (DPC-kNN on the joint-averaged features, as
:func:`hotdemo.lift.families.hot_mixste.cluster_index`), ``pos_embed_token`` is added, the remaining
layers run on the kept frames, and after the final LayerNorm the Token Recovering Attention
(``x_token`` queries, ``cross_attention``) brings back all frames before ``pre_logits`` / ``head``.

Input and output conventions (MotionBERT's Human3.6M setting): input (B, T, 17, 3) with x, y
screen-normalised as ``X / w * 2 - [1, h / w]`` and the 2D confidence as third channel; output
(B, T, 17, 3) in the same normalised units (MotionBERT's "2.5D": x, y as the input, depth at the
same scale), root-relative (its training zeroes the root). Pixels are ``out * w / 2``; metres need
the depth of the person and the focal length (MotionBERT's evaluation multiplies by the dataset's
per-frame 2.5D factor), which a video does not give: :class:`hotdemo.lift.lifter.Lifter` rescales each
sequence to a reference body size instead (see ``hotdemo.lift.lifter.REFERENCE_BONE_SUM_M``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from hotdemo.lift.families.hot_mixste import cluster_index
from hotdemo.lift.families.layers import CrossAttention, DropPath, Mlp
from hotdemo.lift.spec import LifterSpec, StateDict, block_count, check_config

#: LayerNorm epsilon of MotionBERT (``partial(nn.LayerNorm, eps=1e-6)``)
EPS = 1e-6


@dataclass(frozen=True)
class MotionBERTConfig:
    """DSTformer's constructor arguments (official full size: dim 512, mlp_ratio 2)."""

    frames: int = 243  # maxlen
    dim: int = 512  # dim_feat
    depth: int = 5
    heads: int = 8
    mlp_ratio: float = 2.0
    dim_rep: int = 512
    joints: int = 17
    in_channels: int = 3  # dim_in: x, y, confidence
    drop_path: float = 0.0

    def __post_init__(self) -> None:
        check_config(self, ("frames", "dim", "depth", "heads", "joints", "dim_rep", "in_channels"))

    @property
    def mlp_hidden(self) -> int:
        return int(self.dim * self.mlp_ratio)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class HoTMotionBERTConfig(MotionBERTConfig):
    """:class:`MotionBERTConfig` plus pruning (official HoT file: lite size, 81 tokens after layer 1)."""

    dim: int = 256
    mlp_ratio: float = 4.0
    token_num: int = 81
    layer_index: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.token_num <= self.frames:
            raise ValueError(f"token_num must be in [1, frames={self.frames}], got {self.token_num}")
        if not 1 <= self.layer_index < self.depth:
            raise ValueError(f"layer_index must be in [1, depth={self.depth}), got {self.layer_index}")


class STAttention(nn.Module):
    """Self-attention of a (B·T, J, C) tensor across joints (``spatial``) or across frames of each
    joint (``temporal``, ``seqlen`` = T). Keys ``qkv``, ``proj`` as MotionBERT."""

    def __init__(self, dim: int, heads: int, mode: str) -> None:
        super().__init__()
        self.heads, self.mode = heads, mode
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, seqlen: int) -> torch.Tensor:
        BT, J, C = x.shape
        H = self.heads
        if self.mode == "spatial":
            qkv = self.qkv(x).view(BT, J, 3, H, C // H).permute(2, 0, 3, 1, 4)  # 3, BT, H, J, c
            out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])  # BT, H, J, c
            out = out.transpose(1, 2).reshape(BT, J, C)
        else:
            B = BT // seqlen
            qkv = self.qkv(x).view(B, seqlen, J, 3, H, C // H).permute(3, 0, 4, 2, 1, 5)  # 3, B, H, J, T, c
            out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])  # B, H, J, T, c
            out = out.permute(0, 3, 2, 1, 4).reshape(BT, J, C)
        return self.proj(out)


class DSTBlock(nn.Module):
    """Spatial and temporal attention + MLP pairs, in the order ``st`` or ``ts`` (pre-norm)."""

    def __init__(self, cfg: MotionBERTConfig, order: str, drop_path: float) -> None:
        super().__init__()
        dim = cfg.dim
        self.order = order
        self.norm1_s = nn.LayerNorm(dim, eps=EPS)
        self.norm1_t = nn.LayerNorm(dim, eps=EPS)
        self.attn_s = STAttention(dim, cfg.heads, "spatial")
        self.attn_t = STAttention(dim, cfg.heads, "temporal")
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2_s = nn.LayerNorm(dim, eps=EPS)
        self.norm2_t = nn.LayerNorm(dim, eps=EPS)
        self.mlp_s = Mlp(dim, cfg.mlp_hidden)
        self.mlp_t = Mlp(dim, cfg.mlp_hidden)

    def _spatial(self, x: torch.Tensor, T: int) -> torch.Tensor:
        x = x + self.drop_path(self.attn_s(self.norm1_s(x), T))
        return x + self.drop_path(self.mlp_s(self.norm2_s(x)))

    def _temporal(self, x: torch.Tensor, T: int) -> torch.Tensor:
        x = x + self.drop_path(self.attn_t(self.norm1_t(x), T))
        return x + self.drop_path(self.mlp_t(self.norm2_t(x)))

    def forward(self, x: torch.Tensor, T: int) -> torch.Tensor:
        if self.order == "st":
            return self._temporal(self._spatial(x, T), T)
        return self._spatial(self._temporal(x, T), T)


class MotionBERT(nn.Module):
    """DSTformer lifter (seq2seq): (B, T, J, 3) x, y, confidence -> (B, T, J, 3) normalised 2.5D.
    T may be shorter than ``cfg.frames`` (the temporal embedding is cut, as in MotionBERT)."""

    seq2seq = True

    def __init__(self, cfg: MotionBERTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        dim = cfg.dim
        self.joints_embed = nn.Linear(cfg.in_channels, dim)
        rates = [cfg.drop_path * i / max(1, cfg.depth - 1) for i in range(cfg.depth)]  # linspace(0, drop_path, depth)
        self.blocks_st = nn.ModuleList(DSTBlock(cfg, "st", rates[i]) for i in range(cfg.depth))
        self.blocks_ts = nn.ModuleList(DSTBlock(cfg, "ts", rates[i]) for i in range(cfg.depth))
        self.norm = nn.LayerNorm(dim, eps=EPS)
        self.pre_logits = nn.Sequential()
        self.pre_logits.add_module("fc", nn.Linear(dim, cfg.dim_rep))
        self.pre_logits.add_module("act", nn.Tanh())
        self.head = nn.Linear(cfg.dim_rep, 3)
        self.temp_embed = nn.Parameter(torch.zeros(1, cfg.frames, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, cfg.joints, dim))
        nn.init.trunc_normal_(self.temp_embed, std=0.02)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.apply(self._init)
        self.ts_attn = nn.ModuleList(nn.Linear(dim * 2, 2) for _ in range(cfg.depth))
        for lin in self.ts_attn:  # equal fusion weights at the start, as MotionBERT initialises them
            nn.init.zeros_(lin.weight)
            nn.init.constant_(lin.bias, 0.5)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def _check_input(self, x: torch.Tensor) -> None:
        c = self.cfg
        if x.dim() != 4 or not 1 <= x.shape[1] <= c.frames or x.shape[2] != c.joints or x.shape[3] != c.in_channels:
            raise ValueError(f"expected input (B, T <= {c.frames}, {c.joints}, {c.in_channels}), got {tuple(x.shape)}")

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, J, Cin) -> (B·T, J, C) with both position embeddings."""
        B, T, J, _ = x.shape
        x = self.joints_embed(x) + self.pos_embed[:, None]
        return (x + self.temp_embed[:, :T]).reshape(B * T, J, -1)

    def layer(self, x: torch.Tensor, i: int, T: int) -> torch.Tensor:
        """Dual-stream layer ``i`` on (B·T, J, C)."""
        x_st = self.blocks_st[i](x, T)
        x_ts = self.blocks_ts[i](x, T)
        alpha = self.ts_attn[i](torch.cat([x_st, x_ts], dim=-1)).softmax(dim=-1)
        return x_st * alpha[..., 0:1] + x_ts * alpha[..., 1:2]

    def regress(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pre_logits(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        B, T, J, _ = x.shape
        h = self.embed(x)
        for i in range(self.cfg.depth):
            h = self.layer(h, i, T)
        return self.regress(self.norm(h).view(B, T, J, -1))


class HoTMotionBERT(MotionBERT):
    """HoT-MotionBERT (seq2seq): T -> token_num -> T frames; input T must equal ``cfg.frames``."""

    seq2seq = True

    def __init__(self, cfg: HoTMotionBERTConfig) -> None:
        super().__init__(cfg)
        self.pos_embed_token = nn.Parameter(torch.zeros(1, cfg.token_num, cfg.dim))
        self.x_token = nn.Parameter(torch.zeros(1, cfg.frames, cfg.dim))
        self.cross_attention = CrossAttention(cfg.dim, cfg.heads, qkv_bias=True)

    def forward_with_index(self, x: torch.Tensor, index: Optional[torch.Tensor] = None
                           ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Like :meth:`forward`, also returning the kept frame indices (B, token_num)."""
        c = self.cfg
        self._check_input(x)
        B, T, J, _ = x.shape
        if T != c.frames:
            raise ValueError(f"HoT-MotionBERT needs windows of exactly {c.frames} frames, got {T}")
        h = self.embed(x)
        for i in range(c.depth):
            if i == c.layer_index:
                h = h.view(B, T, J, -1)
                if index is None:
                    index = cluster_index(h.detach().mean(dim=2), c.token_num, k=2)
                h = h[torch.arange(B, device=h.device)[:, None], index] + self.pos_embed_token[:, :, None, :]
                T = c.token_num
                h = h.reshape(B * T, J, -1)
            h = self.layer(h, i, T)
        h = self.norm(h).view(B, T, J, -1).transpose(1, 2).reshape(B * J, T, -1)
        q = self.x_token.expand(B * J, -1, -1)
        h = q + self.cross_attention(q, h, h)
        return self.regress(h.view(B, J, c.frames, -1).transpose(1, 2)), index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_index(x)[0]


# -------------------------------------------------------------------------------- specs
def _is_dstformer(sd: StateDict) -> bool:
    return all(k in sd for k in ("joints_embed.weight", "temp_embed", "pos_embed", "blocks_st.0.mlp_s.fc1.weight",
                                 "blocks_ts.0.attn_t.qkv.weight", "pre_logits.fc.weight", "head.weight"))


def _infer(sd: StateDict) -> dict:
    """All fields but ``heads`` (not in the shapes; official 8) and ``drop_path``."""
    _, frames, _, dim = sd["temp_embed"].shape
    return dict(frames=int(frames), dim=int(dim), depth=block_count(sd, "blocks_st"),
                mlp_ratio=sd["blocks_st.0.mlp_s.fc1.weight"].shape[0] / dim,
                dim_rep=int(sd["pre_logits.fc.weight"].shape[0]), joints=int(sd["pos_embed"].shape[1]),
                in_channels=int(sd["joints_embed.weight"].shape[1]))


def _infer_hot(sd: StateDict) -> dict:
    return dict(_infer(sd), token_num=int(sd["pos_embed_token"].shape[1]))


_WEIGHTS = ("MotionBERT's authors (github Walter0807/MotionBERT): pose3d checkpoints, FT_MB_release_MB_ft_h36m "
            "(full) and FT_MB_lite_MB_ft_h36m_global_lite (lite)")
FULL = dict(frames=243, dim=512, depth=5, heads=8, mlp_ratio=2.0, dim_rep=512)
LITE = dict(frames=243, dim=256, depth=5, heads=8, mlp_ratio=4.0, dim_rep=512)

SPEC = LifterSpec(
    name="motionbert", config=MotionBERTConfig, model=MotionBERT,
    summary="MotionBERT (DSTformer): dual-stream spatio-temporal transformer, x/y/confidence input, seq2seq",
    seq2seq=True, input_channels=3,
    recognise=lambda sd: _is_dstformer(sd) and "pos_embed_token" not in sd,
    infer_config=_infer, official=FULL, tiny=dict(frames=27, dim=32, depth=2, heads=4, mlp_ratio=2.0, dim_rep=32),
    weights=_WEIGHTS, root="zero", output="normalised", loss="motionbert", paper="Zhu et al., ICCV 2023",
)

HOT_SPEC = LifterSpec(
    name="hot_motionbert", config=HoTMotionBERTConfig, model=HoTMotionBERT,
    summary="HoT-MotionBERT: DSTformer with token pruning (TPC) and recovery (TRA), seq2seq",
    seq2seq=True, input_channels=3,
    recognise=lambda sd: _is_dstformer(sd) and "pos_embed_token" in sd and "x_token" in sd,
    infer_config=_infer_hot, official=dict(LITE, token_num=81, layer_index=1),
    tiny=dict(frames=27, dim=32, depth=3, heads=4, mlp_ratio=2.0, dim_rep=32, token_num=9, layer_index=1),
    weights="none published (HoT repository has the model code only); train with hotdemo train --model hot_motionbert",
    root="zero", output="normalised", loss="motionbert", paper="Li et al., CVPR 2024",
    baseline="motionbert",
)
