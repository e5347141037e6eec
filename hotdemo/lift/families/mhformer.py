"""MHFormer (CVPR 2022) and TPC-MHFormer (HoT's token pruning on MHFormer), seq2frame lifters.

MHFormer, as in HoT's ``model/mhformer``:

* Multi-Hypothesis Generation (MHG): the input (B, T, J, 2) is laid out (B, 2J, T) (one token per
  joint coordinate, the T frames as features); three residual transformer encoders
  (``Transformer_encoder_1..3``, 4 blocks, width T, MLP 2T, 9 heads, LayerNorm ``norm_1..3``
  over T before each) give three hypotheses;
* each hypothesis is embedded per frame by a 1x1 convolution (``embedding_1..3``: 2J -> C; for
  T <= 27 followed by BatchNorm, ReLU and dropout);
* the hypothesis transformer over the T frame tokens (``Transformer_hypothesis``): position
  embeddings ``pos_embed_1..3``, ``depth - 1`` Self-Hypothesis-Refinement blocks (``SHR_blocks``:
  self-attention per hypothesis, then one MLP over the three concatenated) and one
  Cross-Hypothesis-Interaction block (``CHI_blocks.0``: each hypothesis attends across the
  others), a final LayerNorm over 3C;
* ``regression`` (BatchNorm + 1x1 convolution 3C -> 3J) gives every frame's 3D.

The official test keeps only the centre frame (seq2frame): hotdemo runs one window per output
frame, batched. TPC-MHFormer prunes the frame tokens to ``token_num`` before SHR block
``layer_index`` (DPC-kNN centres of the concatenated hypotheses, the centre frame always kept) and
returns the kept frames' 3D and their indices, as the official model.

Parameter names equal the official files, so the published MHFormer / TPC-MHFormer checkpoints
(bare state dicts, ``module.`` prefixes) load strictly. Official size: 351 frames, channel 512,
d_hid 1024; TPC keeps 117 tokens after SHR block 1 (the official test command).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional, Tuple

import torch
import torch.nn as nn

from hotdemo.lift.families.hot_mixste import cluster_index
from hotdemo.lift.families.layers import Attention, Block, CrossAttention, Mlp
from hotdemo.lift.spec import LifterSpec, StateDict, block_count, check_config

EPS = 1e-6


@dataclass(frozen=True)
class MHFormerConfig:
    """MHFormer's arguments (official: 351 frames, channel 512, d_hid 1024, 3 hypothesis layers)."""

    frames: int = 351
    dim: int = 512  # channel
    d_hid: int = 1024
    depth: int = 3  # hypothesis transformer: depth - 1 SHR blocks + 1 CHI block
    heads: int = 8
    joints: int = 17
    mhg_depth: int = 4
    mhg_heads: int = 9

    def __post_init__(self) -> None:
        check_config(self, ("frames", "dim", "d_hid", "depth", "heads", "joints", "mhg_depth", "mhg_heads"),
                     ratio=False)
        if self.depth < 2:
            raise ValueError(f"depth must be >= 2 (at least one SHR block), got {self.depth}")
        if self.frames % self.mhg_heads:
            raise ValueError(f"frames {self.frames} is not divisible by mhg_heads {self.mhg_heads}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TPCMHFormerConfig(MHFormerConfig):
    """:class:`MHFormerConfig` plus pruning (official test: 117 tokens before SHR block 1)."""

    token_num: int = 117
    layer_index: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.token_num <= self.frames:
            raise ValueError(f"token_num must be in [1, frames={self.frames}], got {self.token_num}")
        if not 0 <= self.layer_index < self.depth - 1:
            raise ValueError(f"layer_index must be in [0, depth - 1 = {self.depth - 1}), got {self.layer_index}")


class Encoder(nn.Module):
    """MHG encoder: ``pos_embed`` (1, N, C), ``blocks``, ``norm`` (official ``trans.Transformer``)."""

    def __init__(self, depth: int, dim: int, hidden: int, heads: int, length: int) -> None:
        super().__init__()
        self.pos_embed = nn.Parameter(torch.zeros(1, length, dim))
        self.blocks = nn.ModuleList(Block(dim, heads, hidden) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.pos_embed
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)


class SHRBlock(nn.Module):
    """Self-hypothesis refinement: per-hypothesis self-attention, then one MLP over all three."""

    def __init__(self, dim: int, heads: int, hidden: int) -> None:
        super().__init__()
        for i in (1, 2, 3):
            self.add_module(f"norm1_{i}", nn.LayerNorm(dim, eps=EPS))
            self.add_module(f"attn_{i}", Attention(dim, heads))
        self.norm2 = nn.LayerNorm(dim * 3, eps=EPS)
        self.mlp = Mlp(dim * 3, hidden)

    def forward(self, x1, x2, x3):
        x1 = x1 + self.attn_1(self.norm1_1(x1))
        x2 = x2 + self.attn_2(self.norm1_2(x2))
        x3 = x3 + self.attn_3(self.norm1_3(x3))
        x = torch.cat([x1, x2, x3], dim=2)
        return (x + self.mlp(self.norm2(x))).chunk(3, dim=2)


class CHIBlock(nn.Module):
    """Cross-hypothesis interaction: hypothesis i's values attended with queries and keys from the
    other two (updated in order), then one MLP over all three."""

    def __init__(self, dim: int, heads: int, hidden: int) -> None:
        super().__init__()
        for i in (1, 2, 3):
            for j in (1, 2, 3):
                self.add_module(f"norm3_{i}{j}", nn.LayerNorm(dim, eps=EPS))
            self.add_module(f"attn_{i}", CrossAttention(dim, heads))
        self.norm2 = nn.LayerNorm(dim * 3, eps=EPS)
        self.mlp = Mlp(dim * 3, hidden)

    def forward(self, x1, x2, x3):
        x1 = x1 + self.attn_1(self.norm3_11(x2), self.norm3_12(x3), self.norm3_13(x1))
        x2 = x2 + self.attn_2(self.norm3_21(x1), self.norm3_22(x3), self.norm3_23(x2))
        x3 = x3 + self.attn_3(self.norm3_31(x1), self.norm3_32(x2), self.norm3_33(x3))
        x = torch.cat([x1, x2, x3], dim=2)
        return x + self.mlp(self.norm2(x))


class HypothesisTransformer(nn.Module):
    def __init__(self, cfg: MHFormerConfig) -> None:
        super().__init__()
        for i in (1, 2, 3):
            self.register_parameter(f"pos_embed_{i}", nn.Parameter(torch.zeros(1, cfg.frames, cfg.dim)))
        self.SHR_blocks = nn.ModuleList(SHRBlock(cfg.dim, cfg.heads, cfg.d_hid) for _ in range(cfg.depth - 1))
        self.CHI_blocks = nn.ModuleList([CHIBlock(cfg.dim, cfg.heads, cfg.d_hid)])
        self.norm = nn.LayerNorm(cfg.dim * 3, eps=EPS)


def _embedding(cfg: MHFormerConfig) -> nn.Module:
    conv = nn.Conv1d(2 * cfg.joints, cfg.dim, kernel_size=1)
    if cfg.frames > 27:
        return conv
    return nn.Sequential(conv, nn.BatchNorm1d(cfg.dim, momentum=0.1), nn.ReLU(inplace=True), nn.Dropout(0.25))


class MHFormer(nn.Module):
    """(B, T, J, 2) screen-normalised -> (B, T, J, 3) root-relative metres (official output);
    hotdemo uses the centre frame (:meth:`predict_centre`), as the official test."""

    seq2seq = False

    def __init__(self, cfg: MHFormerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        for i in (1, 2, 3):
            self.add_module(f"embedding_{i}", _embedding(cfg))
        self.Transformer_hypothesis = HypothesisTransformer(cfg)
        self.regression = nn.Sequential(nn.BatchNorm1d(cfg.dim * 3, momentum=0.1),
                                        nn.Conv1d(cfg.dim * 3, 3 * cfg.joints, kernel_size=1))
        for i in (1, 2, 3):
            self.add_module(f"norm_{i}", nn.LayerNorm(cfg.frames))
            self.add_module(f"Transformer_encoder_{i}", Encoder(cfg.mhg_depth, cfg.frames, cfg.frames * 2,
                                                                cfg.mhg_heads, 2 * cfg.joints))

    @property
    def center(self) -> int:
        return (self.cfg.frames - 1) // 2

    def _check_input(self, x: torch.Tensor) -> None:
        c = self.cfg
        if x.dim() != 4 or x.shape[1] != c.frames or x.shape[2] != c.joints or x.shape[3] != 2:
            raise ValueError(f"expected input (B, {c.frames}, {c.joints}, 2), got {tuple(x.shape)}")

    def hypotheses(self, x: torch.Tensor):
        """(B, T, J, 2) -> three embedded hypotheses (B, T, C) with their position embeddings."""
        self._check_input(x)
        B, T, J, _ = x.shape
        x = x.permute(0, 2, 3, 1).reshape(B, J * 2, T)
        x1 = x + self.Transformer_encoder_1(self.norm_1(x))
        x2 = x1 + self.Transformer_encoder_2(self.norm_2(x1))
        x3 = x2 + self.Transformer_encoder_3(self.norm_3(x2))
        h = self.Transformer_hypothesis
        return (self.embedding_1(x1).transpose(1, 2) + h.pos_embed_1,
                self.embedding_2(x2).transpose(1, 2) + h.pos_embed_2,
                self.embedding_3(x3).transpose(1, 2) + h.pos_embed_3)

    def regress(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T', 3C) -> (B, T', J, 3)."""
        B, T, _ = x.shape
        y = self.regression(x.transpose(1, 2))  # B, 3J, T
        return y.view(B, self.cfg.joints, 3, T).permute(0, 3, 1, 2)

    def refine(self, x1, x2, x3, index: Optional[torch.Tensor] = None):
        h = self.Transformer_hypothesis
        for blk in h.SHR_blocks:
            x1, x2, x3 = blk(x1, x2, x3)
        return h.norm(h.CHI_blocks[0](x1, x2, x3)), index

    def forward_all(self, x: torch.Tensor, index: Optional[torch.Tensor] = None
                    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        feats, index = self.refine(*self.hypotheses(x), index=index)
        return self.regress(feats), index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_all(x)[0]

    def predict_centre(self, x: torch.Tensor, reuse: Optional[torch.Tensor] = None):
        """Centre frame (B, 1, J, 3) and what the mirrored pass may reuse (kept frames for TPC)."""
        out, index = self.forward_all(x, reuse)
        if index is None:
            return out[:, self.center: self.center + 1], None
        pos = (index == self.center).long().argmax(dim=1)
        return out[torch.arange(out.shape[0], device=out.device), pos][:, None], index

    def train_forward(self, x: torch.Tensor, target: torch.Tensor):
        """The official training supervises every output frame (every kept frame for TPC)."""
        out, index = self.forward_all(x)
        if index is not None:
            target = target[torch.arange(x.shape[0], device=x.device)[:, None], index]
        return out, target


class TPCMHFormer(MHFormer):
    """TPC-MHFormer: forward returns (B, token_num, J, 3) for the kept frames, and their indices
    (B, token_num), as the official model (``forward(x, index=None) -> (x, index)``)."""

    def refine(self, x1, x2, x3, index: Optional[torch.Tensor] = None):
        h, c = self.Transformer_hypothesis, self.cfg
        for i, blk in enumerate(h.SHR_blocks):
            if i == c.layer_index:
                if index is None:
                    index = cluster_index(torch.cat([x1, x2, x3], dim=2).detach(), c.token_num, k=2,
                                          keep=self.center)
                rows = torch.arange(x1.shape[0], device=x1.device)[:, None]
                x1, x2, x3 = x1[rows, index], x2[rows, index], x3[rows, index]
            x1, x2, x3 = blk(x1, x2, x3)
        return h.norm(h.CHI_blocks[0](x1, x2, x3)), index

    def forward(self, x: torch.Tensor, index: Optional[torch.Tensor] = None):  # type: ignore[override]
        return self.forward_all(x, index)


# -------------------------------------------------------------------------------- specs
def _is_mhformer(sd: StateDict) -> bool:
    return all(k in sd for k in ("Transformer_encoder_1.pos_embed", "Transformer_hypothesis.pos_embed_1",
                                 "Transformer_hypothesis.CHI_blocks.0.norm2.weight", "norm_1.weight"))


def _infer(sd: StateDict) -> dict:
    _, frames, dim = sd["Transformer_hypothesis.pos_embed_1"].shape
    return dict(frames=int(frames), dim=int(dim), depth=block_count(sd, "Transformer_hypothesis.SHR_blocks") + 1,
                d_hid=int(sd["Transformer_hypothesis.CHI_blocks.0.mlp.fc1.weight"].shape[0]),
                joints=int(sd["Transformer_encoder_1.pos_embed"].shape[1]) // 2,
                mhg_depth=block_count(sd, "Transformer_encoder_1.blocks"))


def _infer_tpc(sd: StateDict) -> dict:
    cfg = _infer(sd)
    cfg["token_num"] = max(1, cfg["frames"] // 3)
    return cfg


_OFFICIAL = dict(frames=351, dim=512, d_hid=1024, depth=3)

SPEC = LifterSpec(
    name="mhformer", config=MHFormerConfig, model=MHFormer,
    summary="MHFormer: multi-hypothesis transformer, seq2frame (centre frame of each window)",
    seq2seq=False, input_channels=2, recognise=_is_mhformer, infer_config=_infer, official=_OFFICIAL,
    tiny=dict(frames=27, dim=32, d_hid=64, depth=3, heads=4),
    weights="HoT repository (github NationalGAILab/HoT), checkpoint/pretrained: MHFormer 351 frames",
    root="zero", output="metres", loss="mpjpe", paper="Li et al., CVPR 2022",
)

TPC_SPEC = LifterSpec(
    name="tpc_mhformer", config=TPCMHFormerConfig, model=TPCMHFormer,
    summary="TPC-MHFormer: MHFormer with token pruning (centre frame kept), seq2frame",
    seq2seq=False, input_channels=2, recognise=_is_mhformer, infer_config=_infer_tpc,
    official=dict(_OFFICIAL, token_num=117, layer_index=1),
    tiny=dict(frames=27, dim=32, d_hid=64, depth=3, heads=4, token_num=9, layer_index=1),
    weights="HoT repository (github NationalGAILab/HoT), checkpoint/pretrained: TPC-MHFormer 351 frames",
    root="zero", output="metres", loss="mpjpe", paper="Li et al., CVPR 2024", baseline="mhformer",
)
