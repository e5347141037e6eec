"""HoT-MixSTE and TPC-MixSTE: MixSTE with the Hourglass Tokenizer (HoT, CVPR 2024).

* ``hot_mixste`` (seq2seq): after ``layer_index`` block pairs the T frame tokens are pruned to
  ``token_num`` representative frames by the Token Pruning Cluster (TPC), the deep block pairs run
  on the pruned tokens, then the Token Recovering Attention (TRA) brings back all T frames: zero-
  initialised learnable queries ``x_token`` (T, C) attend once over the pruned tokens, and the
  regression head maps every frame to 3D.
* ``tpc_mixste`` (seq2frame): pruning only, the centre frame is always kept; the output is the
  centre frame.

Alternatives from the paper are selectable: pruning by ``"uniform"`` sampling or by ``"motion"``
(top-k frames by 2D displacement of the input), recovery by ``"nearest"`` or ``"linear"``
interpolation of the pruned tokens back to T frames.

Parameter names equal the official ``model/mixste/hot_mixste.py`` / ``tpc_mixste.py``
(``pos_embed_token``, ``x_token``, ``cross_attention.linear_q/k/v/proj`` on top of MixSTE's).

Determinism: the official clustering adds ``torch.rand * 1e-6`` to the density to break ties, so
two runs can differ. Here ties are broken by frame index instead (an earlier frame counts as
denser than a later frame of exactly equal density, and equal scores keep the earlier frame), the
limit of an infinitesimal index-dependent offset: identical inputs give identical outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import torch
import torch.nn as nn

from hotdemo.lift.families.layers import CrossAttention
from hotdemo.lift.families.mixste import MIXSTE_OFFICIAL, MixSTEBackbone, MixSTEConfig, infer_mixste_config, is_mixste_family
from hotdemo.lift.spec import LifterSpec, StateDict

PRUNINGS = ("cluster", "uniform", "motion")
RECOVERIES = ("attention", "nearest", "linear")


# --------------------------------------------------------------------------------------------
# Token pruning
# --------------------------------------------------------------------------------------------

def _top_indices(score: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the ``k`` largest entries of each row; ties keep the lower index (stable)."""
    return torch.sort(score, dim=-1, descending=True, stable=True)[1][:, :k]


@torch.no_grad()
def dpc_knn_scores(x: torch.Tensor, k: int = 2) -> torch.Tensor:
    """Density-peak clustering (DPC-kNN) centre scores of the tokens ``x`` (B, N, C) -> (B, N).

    density_i = exp(-mean of the squared distances to its k nearest tokens (itself included));
    delta_i = distance to the nearest denser token (the largest distance of the batch item for
    the densest token); score = delta * density. Distances are Euclidean / sqrt(C). Equal
    densities are ordered by index (the earlier token counts as denser). Runs in float32 at least.
    """
    B, N, C = x.shape
    x = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
    # Direct differences, not the |a|^2 + |b|^2 - 2ab shortcut: exact zeros on the diagonal and a
    # bitwise-symmetric matrix, so two mutual nearest neighbours get exactly equal densities
    # (with k=2 they are equal in exact arithmetic) and the index tie-break decides between them
    # in every implementation, instead of rounding noise.
    dist = torch.cdist(x, x, compute_mode="donot_use_mm_for_euclid_dist") / (C ** 0.5)
    nearest = torch.topk(dist, k=min(k, N), dim=-1, largest=False)[0]
    density = (-(nearest ** 2).mean(dim=-1)).exp()
    di, dj = density[:, :, None], density[:, None, :]
    idx = torch.arange(N, device=x.device)
    earlier = (idx[None, :] < idx[:, None])[None]  # [i, j]: j comes before i
    denser = (dj > di) | ((dj == di) & earlier)  # [b, i, j]: token j is denser than token i
    dist_max = dist.flatten(1).max(dim=-1)[0][:, None, None]
    delta = torch.where(denser, dist, dist_max).min(dim=-1)[0]
    return delta * density


@torch.no_grad()
def cluster_index(x: torch.Tensor, num: int, k: int = 2, keep: Optional[int] = None) -> torch.Tensor:
    """Token Pruning Cluster: the ``num`` cluster centres of ``x`` (B, N, C), sorted in time order.

    ``keep``: a token index that is always kept (the centre frame for seq2frame models); the other
    ``num - 1`` are the best-scoring centres among the rest.
    """
    score = dpc_knn_scores(x, k)
    if keep is not None:
        score[:, keep] = float("inf")
    return torch.sort(_top_indices(score, num), dim=-1)[0]


def uniform_index(batch: int, frames: int, num: int, device: torch.device,
                  keep: Optional[int] = None) -> torch.Tensor:
    """``num`` evenly spaced frames of ``frames`` (first and last included), (B, num) sorted."""
    idx = torch.linspace(0, frames - 1, num, dtype=torch.float64).round().long()
    if keep is not None and not bool((idx == keep).any()):
        idx[(idx - keep).abs().argmin()] = keep
    return idx.to(device).expand(batch, num)


@torch.no_grad()
def motion_index(x2d: torch.Tensor, num: int, keep: Optional[int] = None) -> torch.Tensor:
    """The ``num`` frames of largest 2D motion of the input ``x2d`` (B, T, J, 2), in time order.

    A frame's motion is the mean joint displacement to its neighbours (one-sided at the ends).
    Ties keep the earlier frame.
    """
    d = (x2d[:, 1:] - x2d[:, :-1]).norm(dim=-1).mean(dim=-1)  # (B, T-1)
    if d.shape[1] == 0:
        motion = torch.zeros(x2d.shape[:2], device=x2d.device, dtype=x2d.dtype)
    else:
        motion = torch.cat([d[:, :1], (d[:, 1:] + d[:, :-1]) / 2, d[:, -1:]], dim=1)
    if keep is not None:
        motion[:, keep] = float("inf")
    return torch.sort(_top_indices(motion, num), dim=-1)[0]


# --------------------------------------------------------------------------------------------
# Token recovery by interpolation
# --------------------------------------------------------------------------------------------

def interpolate_tokens(tokens: torch.Tensor, index: torch.Tensor, frames: int, mode: str) -> torch.Tensor:
    """Recover (B, T, J, C) from pruned tokens (B, K, J, C) kept at sorted frame ``index`` (B, K).

    ``mode`` "nearest" takes the closest kept frame (the earlier one on a tie); "linear"
    interpolates between the two kept frames around each frame (constant outside them).
    """
    B, K = index.shape
    t = torch.arange(frames, device=index.device).expand(B, frames).contiguous()
    right = torch.searchsorted(index.contiguous(), t).clamp(max=K - 1)  # first kept >= t
    left = (right - 1).clamp(min=0)
    right_is_ge = index.gather(1, right) >= t
    left = torch.where(right_is_ge, left, right)  # t after the last kept frame
    ti, tl, tr = t.to(tokens.dtype), index.gather(1, left).to(tokens.dtype), index.gather(1, right).to(tokens.dtype)
    span = (tr - tl).clamp(min=1)
    w = ((ti - tl) / span).clamp(0, 1)  # weight of the right neighbour
    if mode == "nearest":
        w = (w > 0.5).to(tokens.dtype)
    elif mode != "linear":
        raise ValueError(f"unknown interpolation {mode!r}")

    def take(pos: torch.Tensor) -> torch.Tensor:
        return tokens.gather(1, pos[:, :, None, None].expand(B, frames, *tokens.shape[2:]))

    w = w[:, :, None, None]
    return take(left) * (1 - w) + take(right) * w


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------

def _check_pruning(cfg) -> None:
    if cfg.pruning not in PRUNINGS:
        raise ValueError(f"unknown pruning {cfg.pruning!r}; choose one of {', '.join(PRUNINGS)}")
    if not 1 <= cfg.token_num <= cfg.frames:
        raise ValueError(f"token_num must be in [1, frames={cfg.frames}], got {cfg.token_num}")
    if not 1 <= cfg.layer_index < cfg.depth:
        raise ValueError(f"layer_index must be in [1, depth={cfg.depth}), got {cfg.layer_index}")


@dataclass(frozen=True)
class HoTMixSTEConfig(MixSTEConfig):
    """:class:`MixSTEConfig` plus the Hourglass Tokenizer settings (official: 81 tokens after 3)."""

    token_num: int = 81
    layer_index: int = 3
    pruning: str = "cluster"
    recovery: str = "attention"

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_pruning(self)
        if self.recovery not in RECOVERIES:
            raise ValueError(f"unknown recovery {self.recovery!r}; choose one of {', '.join(RECOVERIES)}")


@dataclass(frozen=True)
class TPCMixSTEConfig(MixSTEConfig):
    """:class:`MixSTEConfig` plus the pruning settings of the seq2frame TPC model."""

    token_num: int = 81
    layer_index: int = 3
    pruning: str = "cluster"

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_pruning(self)


class _PrunedMixSTE(MixSTEBackbone):
    """Shared forward: block pairs, pruning before block ``layer_index``, the deep block pairs."""

    keep_center: bool = False

    @property
    def center(self) -> int:
        return (self.cfg.frames - 1) // 2

    def select(self, x: torch.Tensor, x2d: torch.Tensor) -> torch.Tensor:
        """Frame indices (B, token_num), sorted, to keep from features ``x`` (B, T, J, C)."""
        c = self.cfg
        keep = self.center if self.keep_center else None
        if c.pruning == "cluster":
            return cluster_index(x.detach().mean(dim=2), c.token_num, k=2, keep=keep)
        if c.pruning == "motion":
            return motion_index(x2d, c.token_num, keep=keep)
        return uniform_index(x.shape[0], c.frames, c.token_num, x.device, keep=keep)

    def encode(self, x2d: torch.Tensor, index: Optional[torch.Tensor] = None
               ) -> Tuple[torch.Tensor, torch.Tensor]:
        """(B, T, J, 2) -> pruned features (B, token_num, J, C) and their frame ``index`` (B, token_num)."""
        self._check_input(x2d)
        x = self.embed(x2d)
        for i in range(1, self.cfg.depth):
            if i == self.cfg.layer_index:
                if index is None:
                    index = self.select(x, x2d)
                x = x[torch.arange(x.shape[0], device=x.device)[:, None], index]
                x = self.after_prune(x)
            x = self.block_pair(x, i)
        return x, index

    def after_prune(self, x: torch.Tensor) -> torch.Tensor:
        return x


class HoTMixSTE(_PrunedMixSTE):
    """Seq2seq HoT lifter: (B, T, J, 2) -> (B, T, J, 3) with T -> token_num -> T tokens."""

    seq2seq = True

    def __init__(self, cfg: HoTMixSTEConfig) -> None:
        super().__init__(cfg)
        self.pos_embed_token = nn.Parameter(torch.zeros(1, cfg.token_num, cfg.dim))
        if cfg.recovery == "attention":
            self.x_token = nn.Parameter(torch.zeros(1, cfg.frames, cfg.dim))
            self.cross_attention = CrossAttention(cfg.dim, cfg.heads, qkv_bias=True)

    def after_prune(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.token_pos_embed(x.shape[1])[:, :, None, :]

    def token_pos_embed(self, n: int) -> torch.Tensor:
        """The kept tokens' positional embedding (1, n, C): the trained one for n = the trained token
        count, else that one resampled linearly along the token axis (kept tokens are in frame
        order, so slot k of n sits where slot k * (K - 1) / (n - 1) of the K trained ones did)."""
        pe = self.pos_embed_token
        if n == pe.shape[1]:
            return pe
        if pe.shape[1] == 1 or n == 1:
            return pe.mean(dim=1, keepdim=True).expand(1, n, -1)
        return torch.nn.functional.interpolate(pe.transpose(1, 2), size=n, mode="linear",
                                               align_corners=True).transpose(1, 2)

    def set_token_num(self, n: int) -> None:
        """Keep ``n`` tokens after pruning from now on, without retraining: TPC clusters the frames
        into any number of representatives and TRA's cross-attention recovers the full sequence from
        any number of them; only the kept tokens' positional embedding is resampled
        (:meth:`token_pos_embed`). ``n`` in [1, frames]."""
        from dataclasses import replace

        n = int(n)
        if not 1 <= n <= self.cfg.frames:
            raise ValueError(f"the token count must be in [1, {self.cfg.frames}] (the model's frames), got {n}")
        self.cfg = replace(self.cfg, token_num=n)

    @property
    def trained_token_num(self) -> int:
        return int(self.pos_embed_token.shape[1])

    def recover(self, x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """Pruned features (B, K, J, C) -> full-length features (B, T, J, C)."""
        c = self.cfg
        if c.recovery != "attention":
            return interpolate_tokens(x, index, c.frames, c.recovery)
        B, K, J, C = x.shape
        kv = x.transpose(1, 2).reshape(B * J, K, C)
        q = self.x_token.expand(B * J, -1, -1)
        out = q + self.cross_attention(q, kv, kv)
        return out.view(B, J, c.frames, C).transpose(1, 2)

    def forward_with_index(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Like :meth:`forward`, also returning the kept frame indices (B, token_num)."""
        feats, index = self.encode(x)
        return self.head(self.recover(feats, index)), index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_index(x)[0]


class TPCMixSTE(_PrunedMixSTE):
    """Seq2frame TPC lifter: (B, T, J, 2) -> centre frame (B, 1, J, 3)."""

    seq2seq = False
    keep_center = True

    def forward_tokens(self, x: torch.Tensor, index: Optional[torch.Tensor] = None
                       ) -> Tuple[torch.Tensor, torch.Tensor]:
        """3D of every kept frame (B, token_num, J, 3) and their indices (B, token_num), as the
        official model returns (for training on all kept frames). Pass ``index`` to reuse one."""
        feats, index = self.encode(x, index)
        return self.head(feats), index

    def predict_centre(self, x: torch.Tensor, reuse: Optional[torch.Tensor] = None
                       ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Centre frame (B, 1, J, 3) and the kept frame indices (pass them as ``reuse`` for the
        mirrored pass, as the official test does)."""
        out, index = self.forward_tokens(x, reuse)
        pos = (index == self.center).long().argmax(dim=1)
        return out[torch.arange(out.shape[0], device=out.device), pos][:, None], index

    def train_forward(self, x: torch.Tensor, target: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """The official training supervises every kept frame: (pred, target) (B, token_num, J, 3)."""
        out, index = self.forward_tokens(x)
        rows = torch.arange(x.shape[0], device=x.device)[:, None]
        return out, target[rows, index]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.predict_centre(x)[0]


# -------------------------------------------------------------------------------- specs
def _infer_hot(sd: StateDict) -> dict:
    cfg = infer_mixste_config(sd)
    cfg["token_num"] = int(sd["pos_embed_token"].shape[1])
    cfg["recovery"] = "attention" if "x_token" in sd else "linear"
    return cfg


def _infer_tpc(sd: StateDict) -> dict:
    cfg = infer_mixste_config(sd)
    cfg["token_num"] = max(1, cfg["frames"] // 3)
    return cfg


HOT_SPEC = LifterSpec(
    name="hot_mixste", config=HoTMixSTEConfig, model=HoTMixSTE,
    summary="HoT-MixSTE: MixSTE with token pruning (TPC) and recovery (TRA), seq2seq",
    seq2seq=True, input_channels=2,
    recognise=lambda sd: is_mixste_family(sd) and "pos_embed_token" in sd,
    infer_config=_infer_hot,
    official=dict(MIXSTE_OFFICIAL, token_num=81, layer_index=3),
    tiny=dict(frames=81, dim=64, depth=4, heads=4, token_num=27, layer_index=2),
    weights="shipped (hotdemo, trained here); official: HoT repository checkpoint/pretrained, HoT-MixSTE 243 frames",
    root="zero", output="metres", loss="mixste", paper="Li et al., CVPR 2024",
    baseline="mixste",
)

TPC_SPEC = LifterSpec(
    name="tpc_mixste", config=TPCMixSTEConfig, model=TPCMixSTE,
    summary="TPC-MixSTE: MixSTE with token pruning only, seq2frame (centre frame)",
    seq2seq=False, input_channels=2,
    recognise=lambda sd: is_mixste_family(sd) and "pos_embed_token" not in sd,
    infer_config=_infer_tpc,
    official=dict(MIXSTE_OFFICIAL, token_num=81, layer_index=3),
    tiny=dict(frames=27, dim=32, depth=3, heads=4, token_num=9, layer_index=1),
    weights="HoT repository (github NationalGAILab/HoT), checkpoint/pretrained: TPC-MixSTE 243 frames",
    root="zero", output="metres", loss="mixste", paper="Li et al., CVPR 2024",
    baseline="mixste",
)
