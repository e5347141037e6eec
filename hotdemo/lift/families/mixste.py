"""MixSTE: the plain seq2seq spatio-temporal transformer lifter (the HoT paper's baseline).

Every block pair is a spatial block (attention across the J joints of one frame) followed by a
temporal block (attention across the T frames of one joint); every frame stays a token in every
block. Parameter names equal the official HoT ``model/mixste/mixste.py`` so that official
checkpoints load strictly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional

import torch
import torch.nn as nn

from hotdemo.lift.families.layers import NORM_EPS, Block
from hotdemo.lift.spec import LifterSpec, StateDict, block_count, check_config


@dataclass(frozen=True)
class MixSTEConfig:
    """Constructor arguments of :class:`MixSTE` (official size: 243 frames, dim 512, depth 8)."""

    frames: int = 243
    dim: int = 512
    depth: int = 8
    heads: int = 8
    mlp_ratio: float = 2.0
    joints: int = 17
    drop_path: float = 0.1

    def __post_init__(self) -> None:
        check_config(self, ("frames", "dim", "depth", "heads", "joints"))

    @property
    def mlp_hidden(self) -> int:
        return int(round(self.dim * self.mlp_ratio))

    def to_dict(self) -> dict:
        return asdict(self)


class MixSTEBackbone(nn.Module):
    """Embedding, the STE/TTE block pairs, their norms and the regression head.

    Subclasses decide what happens between the blocks (token pruning) and after them
    (token recovery). Tensors inside are laid out (B, T, J, C).
    """

    def __init__(self, cfg: MixSTEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        dim = cfg.dim
        self.Spatial_patch_to_embedding = nn.Linear(2, dim)
        self.Spatial_pos_embed = nn.Parameter(torch.zeros(1, cfg.joints, dim))
        self.Temporal_pos_embed = nn.Parameter(torch.zeros(1, cfg.frames, dim))
        rates = [cfg.drop_path * i / max(1, cfg.depth - 1) for i in range(cfg.depth)]  # linspace(0, drop_path, depth)
        self.STEblocks = nn.ModuleList(Block(dim, cfg.heads, cfg.mlp_hidden, rates[i]) for i in range(cfg.depth))
        self.TTEblocks = nn.ModuleList(Block(dim, cfg.heads, cfg.mlp_hidden, rates[i]) for i in range(cfg.depth))
        self.Spatial_norm = nn.LayerNorm(dim, eps=NORM_EPS)
        self.Temporal_norm = nn.LayerNorm(dim, eps=NORM_EPS)
        self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 3))

    def _check_input(self, x: torch.Tensor) -> None:
        c = self.cfg
        if x.dim() != 4 or x.shape[1] != c.frames or x.shape[2] != c.joints or x.shape[3] != 2:
            raise ValueError(f"expected input (B, {c.frames}, {c.joints}, 2), got {tuple(x.shape)}")

    def block_pair(self, x: torch.Tensor, i: int, temporal_pos: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Spatial block ``i`` + ``Spatial_norm``, then temporal block ``i`` + ``Temporal_norm``.

        ``x``: (B, T, J, C). ``temporal_pos`` (1, T, C) is added before the temporal block.
        """
        B, T, J, C = x.shape
        x = self.Spatial_norm(self.STEblocks[i](x.reshape(B * T, J, C)))
        x = x.view(B, T, J, C).transpose(1, 2).reshape(B * J, T, C)
        if temporal_pos is not None:
            x = x + temporal_pos
        x = self.Temporal_norm(self.TTEblocks[i](x))
        return x.view(B, J, T, C).transpose(1, 2)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, J, 2) -> (B, T, J, C) after the first block pair (with both position embeddings)."""
        x = self.Spatial_patch_to_embedding(x) + self.Spatial_pos_embed
        return self.block_pair(x, 0, self.Temporal_pos_embed)


class MixSTE(MixSTEBackbone):
    """Seq2seq lifter: (B, T, J, 2) screen-normalised 2D -> (B, T, J, 3) root-relative 3D."""

    seq2seq = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        x = self.embed(x)
        for i in range(1, self.cfg.depth):
            x = self.block_pair(x, i)
        return self.head(x)


# -------------------------------------------------------------------------------- spec
def is_mixste_family(sd: StateDict) -> bool:
    """The MixSTE keys (official ``model/mixste``) are there."""
    return all(k in sd for k in ("Temporal_pos_embed", "Spatial_pos_embed", "STEblocks.0.mlp.fc1.weight",
                                 "Spatial_patch_to_embedding.weight"))


def infer_mixste_config(sd: StateDict) -> dict:
    """``frames`` and ``dim`` from ``Temporal_pos_embed``, ``joints`` from ``Spatial_pos_embed``,
    ``depth`` from the block count, ``mlp_ratio`` from ``mlp.fc1``; ``heads`` is not readable
    from shapes (the official 8 is the default)."""
    _, frames, dim = sd["Temporal_pos_embed"].shape
    hidden = sd["STEblocks.0.mlp.fc1.weight"].shape[0]
    return dict(frames=int(frames), dim=int(dim), depth=block_count(sd, "STEblocks"),
                joints=int(sd["Spatial_pos_embed"].shape[1]), mlp_ratio=hidden / dim)


MIXSTE_OFFICIAL = dict(frames=243, dim=512, depth=8, heads=8, mlp_ratio=2.0)

SPEC = LifterSpec(
    name="mixste", config=MixSTEConfig, model=MixSTE,
    summary="MixSTE: seq2seq spatio-temporal transformer, every frame a token in every block",
    seq2seq=True, input_channels=2,
    recognise=lambda sd: is_mixste_family(sd) and "pos_embed_token" not in sd,
    infer_config=infer_mixste_config,
    official=MIXSTE_OFFICIAL, tiny=dict(frames=27, dim=32, depth=2, heads=4),
    weights="HoT repository (github NationalGAILab/HoT), checkpoint/pretrained: MixSTE 243 frames",
    root="zero", output="metres", loss="mixste", paper="Zhang et al., CVPR 2022",
)
