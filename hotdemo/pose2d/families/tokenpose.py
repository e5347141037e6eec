"""TokenPose (Li et al. 2021, "TokenPose: Learning Keypoint Tokens for Human Pose Estimation"),
written for hotdemo in the key layout of the official code (github.com/leeyegy/TokenPose,
``lib/models/pose_tokenpose_{s,b,l}.py`` and ``tokenpose_base.py``), so checkpoints trained with
that repository load as they are. The authors never published trained weights.

Variants (COCO configs of the official repository):

* **S-v1**: ``features.*`` = ResNet stem (``conv1``, ``bn1``, ``conv2``, ``bn2``, ``layer1``: 256
  channels at 1/4) + tokens; patches 4x3 of the 1/4 map; 12 layers, 8 heads, attention scaled by
  ``dim ** -0.5`` (not per head);
* **B**: ``pre_feature.*`` = HRNet-W32 stem with stages 2 and 3 only (the highest-resolution
  branch out) + ``transformer.*`` tokens; 12 layers, 8 heads, scaled by ``(dim / heads) ** -0.5``;
* **L/D24**: HRNet-W48 stages 2-3 + three 8-layer transformers (``transformer.transformer1..3``),
  12 heads, per-head scale; the three keypoint-token outputs are concatenated (3 x dim) before
  the head.

Tokens: the (B, C, H/4, W/4) feature map is cut into ph x pw patches, each flattened in
(row, column, channel) order and embedded by ``patch_to_embedding``; with ``sine`` / ``sine-full``
position embeddings the 2-D sine table is added to the patch tokens, then J learned
``keypoint_token``\\s are put in front (``learnable``: the table covers keypoint and patch tokens
and is added after). With ``sine-full`` the table is added again to the patch tokens before
every layer after the first, in each transformer. Pre-norm blocks: ``x + attn(LN(x))``,
``x + MLP(LN(x))`` (GELU). ``mlp_head`` (``LN, Linear`` or ``LN, Linear, LN, Linear``) maps each
keypoint token to a heatmap_h x heatmap_w map (64x48 at 256x192 input).

Input: (B, 3, H, W) ImageNet-normalised RGB. Output: (B, J, H/4, W/4) heatmaps.
"""

from __future__ import annotations

import math
from typing import Dict, List, Mapping, Optional, Tuple

import torch
from torch import nn

from hotdemo.core.errors import CheckpointError
from hotdemo.pose2d.families.hrnet import HRModule, _transition, add_stem, stem_forward, through_stages
from hotdemo.pose2d.spec import CheckpointInfo, Pose2DFamily

__all__ = ["TokenPose", "HRNetStages23", "sine_position_embedding", "convert_state_dict", "match_checkpoint",
           "build_from_arch", "VARIANT_HEADS"]

#: attention heads of each official COCO config (not recorded in the weights)
VARIANT_HEADS = {"S": 8, "B": 8, "L": 12}


def sine_position_embedding(h: int, w: int, dim: int, temperature: float = 10000.0) -> torch.Tensor:
    """(1, h*w, dim) 2-D sine table, row-major over the h x w grid: the first dim/2 channels
    encode the row, the last dim/2 the column; in each half channel 2i is sin and 2i+1 cos of
    ``pos / temperature ** (2 * (c // 2) / (dim / 2))`` with ``pos`` = (index + 1) / (n + 1e-6) * 2 pi."""
    half = dim // 2
    rows = torch.arange(1, h + 1, dtype=torch.float32) / (h + 1e-6) * (2 * math.pi)
    cols = torch.arange(1, w + 1, dtype=torch.float32) / (w + 1e-6) * (2 * math.pi)
    c = torch.arange(half, dtype=torch.float32)
    freq = temperature ** (2 * torch.div(c, 2, rounding_mode="floor") / half)

    def enc(p: torch.Tensor) -> torch.Tensor:  # (n,) -> (n, half): sin on even, cos on odd channels
        a = p[:, None] / freq
        out = torch.empty_like(a)
        out[:, 0::2] = a[:, 0::2].sin()
        out[:, 1::2] = a[:, 1::2].cos()
        return out

    ey = enc(rows)[:, None, :].expand(h, w, half)
    ex = enc(cols)[None, :, :].expand(h, w, half)
    return torch.cat([ey, ex], dim=2).reshape(1, h * w, 2 * half)


# ----------------------------------------------------------------------------- transformer

class _Residual(nn.Module):
    def __init__(self, fn: nn.Module):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return x + self.fn(x)


class _PreNorm(nn.Module):
    def __init__(self, dim: int, fn: nn.Module):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fn = fn

    def forward(self, x):
        return self.fn(self.norm(x))


class _Attention(nn.Module):
    def __init__(self, dim: int, heads: int, scale_per_head: bool):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5 if scale_per_head else dim ** -0.5
        self.to_qkv = nn.Linear(dim, dim * 3, bias=False)
        self.to_out = nn.Sequential(nn.Linear(dim, dim), nn.Dropout(0.0))

    def forward(self, x):
        B, N, D = x.shape
        q, k, v = self.to_qkv(x).view(B, N, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        attn = (q @ k.transpose(-2, -1) * self.scale).softmax(dim=-1)
        return self.to_out((attn @ v).transpose(1, 2).reshape(B, N, D))


class _FeedForward(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(0.0), nn.Linear(hidden, dim),
                                 nn.Dropout(0.0))

    def forward(self, x):
        return self.net(x)


class _Transformer(nn.Module):
    """``layers.i.0`` attention block, ``layers.i.1`` MLP block (official names)."""

    def __init__(self, dim: int, depth: int, heads: int, mlp_dim: int, num_keypoints: int, repeat_pos: bool,
                 scale_per_head: bool):
        super().__init__()
        self.num_keypoints, self.repeat_pos = num_keypoints, repeat_pos
        self.layers = nn.ModuleList(
            nn.ModuleList([_Residual(_PreNorm(dim, _Attention(dim, heads, scale_per_head))),
                           _Residual(_PreNorm(dim, _FeedForward(dim, mlp_dim)))]) for _ in range(depth))

    def forward(self, x, pos: Optional[torch.Tensor]):
        J = self.num_keypoints
        for i, (attn, ff) in enumerate(self.layers):
            if i > 0 and self.repeat_pos:  # 'sine-full': the table again on the patch tokens
                x = torch.cat([x[:, :J], x[:, J:] + pos], dim=1)
            x = ff(attn(x))
        return x


class _Tokens(nn.Module):
    """Patch embedding, keypoint tokens, ``groups`` transformers and the heatmap head. With
    ``stem`` (TokenPose-S) the ResNet stem lives here too, under the official names."""

    def __init__(self, *, channels: int, grid_hw: Tuple[int, int], patch_hw: Tuple[int, int], num_keypoints: int,
                 dim: int, depth: int, heads: int, mlp_dim: int, heatmap_hw: Tuple[int, int],
                 hidden_heatmap_dim: Optional[int], pos_embedding: str, scale_per_head: bool, groups: int,
                 stem: bool):
        super().__init__()
        if pos_embedding not in ("sine", "sine-full", "learnable"):
            raise ValueError(f"unknown TokenPose position embedding {pos_embedding!r}")
        self.patch_hw, self.heatmap_hw, self.num_keypoints = tuple(patch_hw), tuple(heatmap_hw), num_keypoints
        self.pos_type, self.groups, self.has_stem = pos_embedding, groups, stem
        gh, gw = grid_hw
        n = gh * gw
        if stem:
            add_stem(self)
        self.keypoint_token = nn.Parameter(torch.zeros(1, num_keypoints, dim))
        if pos_embedding == "learnable":
            self.pos_embedding = nn.Parameter(torch.zeros(1, n + num_keypoints, dim))
        else:
            self.pos_embedding = nn.Parameter(sine_position_embedding(gh, gw, dim), requires_grad=False)
        self.patch_to_embedding = nn.Linear(channels * patch_hw[0] * patch_hw[1], dim)
        self.dropout = nn.Dropout(0.0)
        make = lambda: _Transformer(dim, depth, heads, mlp_dim, num_keypoints,  # noqa: E731
                                    pos_embedding == "sine-full", scale_per_head)
        if groups == 1:
            self.transformer = make()
        else:
            for g in range(1, groups + 1):
                setattr(self, f"transformer{g}", make())
        self.to_keypoint_token = nn.Identity()
        d = dim * groups
        hm = heatmap_hw[0] * heatmap_hw[1]
        if hidden_heatmap_dim:
            self.mlp_head = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, hidden_heatmap_dim),
                                          nn.LayerNorm(hidden_heatmap_dim), nn.Linear(hidden_heatmap_dim, hm))
        else:
            self.mlp_head = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, hm))

    def forward(self, x):
        if self.has_stem:
            x = stem_forward(self, x)
        B, C, H, W = x.shape
        ph, pw = self.patch_hw
        # (B, C, gh*ph, gw*pw) -> (B, gh*gw, ph*pw*C): patches row-major, each (row, col, channel)
        x = x.view(B, C, H // ph, ph, W // pw, pw).permute(0, 2, 4, 3, 5, 1).reshape(B, -1, ph * pw * C)
        x = self.patch_to_embedding(x)
        n = x.shape[1]
        tokens = self.keypoint_token.expand(B, -1, -1)
        if self.pos_type == "learnable":
            x = torch.cat([tokens, x], dim=1) + self.pos_embedding[:, :n + self.num_keypoints]
        else:
            x = torch.cat([tokens, x + self.pos_embedding[:, :n]], dim=1)
        x = self.dropout(x)
        J = self.num_keypoints
        if self.groups == 1:
            out = self.to_keypoint_token(self.transformer(x, self.pos_embedding)[:, :J])
        else:
            outs = []
            for g in range(1, self.groups + 1):
                x = getattr(self, f"transformer{g}")(x, self.pos_embedding)
                outs.append(self.to_keypoint_token(x[:, :J]))
            out = torch.cat(outs, dim=2)
        return self.mlp_head(out).view(B, J, *self.heatmap_hw)


# ----------------------------------------------------------------------------- HRNet stages 2-3

class HRNetStages23(nn.Module):
    """The HRNet stem with stages 2 and 3 only (TokenPose-B/L ``pre_feature``): the last stage-3
    module outputs the highest-resolution branch, (B, width, H/4, W/4)."""

    def __init__(self, width: int = 32, stage3_modules: int = 4):
        super().__init__()
        add_stem(self)
        c2 = [width, width * 2]
        c3 = [width, width * 2, width * 4]
        self.transition1 = _transition([256], c2)
        self.stage2 = nn.Sequential(HRModule(c2))
        self.transition2 = _transition(c2, c3)
        self.stage3 = nn.Sequential(*[HRModule(c3, multi_scale_output=m < stage3_modules - 1)
                                      for m in range(stage3_modules)])

    def forward(self, x):
        pairs = ((self.transition1, self.stage2), (self.transition2, self.stage3))
        return through_stages(stem_forward(self, x), pairs)[0]


# ----------------------------------------------------------------------------- the model

class TokenPose(nn.Module):
    """TokenPose-``variant`` ("S", "B" or "L") for a ``input_wh`` (W, H) input; see the module
    docstring. ``patch_wh``: patch size on the 1/4 feature map (3, 4 in the 256x192 configs)."""

    def __init__(self, variant: str = "B", *, input_wh: Tuple[int, int] = (192, 256), patch_wh: Tuple[int, int] = (3, 4),
                 num_joints: int = 17, dim: int = 192, depth: int = 12, heads: Optional[int] = None,
                 mlp_ratio: int = 3, width: int = 32, stage3_modules: int = 4,
                 hidden_heatmap_dim: Optional[int] = 384, pos_embedding: str = "sine-full"):
        super().__init__()
        variant = variant.upper()
        if variant not in VARIANT_HEADS:
            raise ValueError(f"unknown TokenPose variant {variant!r}; use S, B or L")
        self.variant, self.num_joints = variant, num_joints
        W, H = input_wh
        pw, ph = patch_wh
        fh, fw = H // 4, W // 4
        if fh % ph or fw % pw:
            raise ValueError(f"the {fw}x{fh} feature map is not a whole number of {pw}x{ph} patches")
        common = dict(grid_hw=(fh // ph, fw // pw), patch_hw=(ph, pw), num_keypoints=num_joints, dim=dim, depth=depth,
                      heads=heads or VARIANT_HEADS[variant], mlp_dim=dim * mlp_ratio, heatmap_hw=(fh, fw),
                      hidden_heatmap_dim=hidden_heatmap_dim, pos_embedding=pos_embedding)
        if variant == "S":
            self.features = _Tokens(channels=256, scale_per_head=False, groups=1, stem=True, **common)
        else:
            self.pre_feature = HRNetStages23(width, stage3_modules)
            self.transformer = _Tokens(channels=width, scale_per_head=True, groups=3 if variant == "L" else 1,
                                       stem=False, **common)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.variant == "S":
            return self.features(x)
        return self.transformer(self.pre_feature(x))


# ----------------------------------------------------------------------------- checkpoints

def convert_state_dict(sd: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """``module.`` (DataParallel) prefixes stripped; names otherwise as in the official code."""
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in sd.items()
            if not k.endswith("num_batches_tracked")}


def _factor_pairs(n: int) -> List[Tuple[int, int]]:
    return [(a, n // a) for a in range(1, n + 1) if n % a == 0]


def _geometry(pos: torch.Tensor, n_patches: int, patch_area: int, heatmap_area: int, dim: int, sine: bool
              ) -> Optional[Tuple[Tuple[int, int], Tuple[int, int]]]:
    """((W, H) input, (pw, ph) patch) consistent with the shapes. For sine tables the grid is the
    one whose table equals the stored one; among the rest, the official configs' shapes are
    preferred (a learnable table does not record the patch shape: a spec's arch can give it)."""
    cands = []
    for gh, gw in _factor_pairs(n_patches):
        for ph, pw in _factor_pairs(patch_area):
            if gh * ph * gw * pw == heatmap_area:
                cands.append(((gw * pw * 4, gh * ph * 4), (pw, ph), (gh, gw)))
    if sine:
        exact = [c for c in cands if torch.allclose(sine_position_embedding(*c[2], dim), pos[:, :n_patches].float(),
                                                    atol=1e-4)]
        cands = exact or cands
    if not cands:
        return None

    def pref(c):
        (W, H), (pw, ph), _ = c
        # a 4:3 (then square) input, then patches at least as tall as wide and closest to square,
        # as in every official config (4x3 at 256x192, 6x4 at 384x288)
        return (abs(H / W - 4 / 3) > 1e-6, abs(H / W - 1) > 1e-6, ph < pw, abs(math.log(ph / pw)))

    best = sorted(cands, key=pref)[0]
    return best[0], best[1]


def _is_sine(pos: torch.Tensor, geo, dim: int) -> bool:
    (W, H), (pw, ph) = geo
    table = sine_position_embedding(H // 4 // ph, W // 4 // pw, dim)
    return tuple(pos.shape) == tuple(table.shape) and torch.allclose(pos.float(), table, atol=1e-4)


def match_checkpoint(sd: Mapping[str, torch.Tensor]):
    if "features.keypoint_token" in sd:
        variant, p = "S", "features."
    elif "transformer.keypoint_token" in sd and any(k.startswith("pre_feature.") for k in sd):
        p = "transformer."
        variant = "L" if "transformer.transformer1.layers.0.0.fn.norm.weight" in sd else "B"
    else:
        return None
    J, dim = sd[p + "keypoint_token"].shape[1:]
    layer = p + ("transformer1" if variant == "L" else "transformer") + ".layers."
    depth = len({k[len(layer):].split(".")[0] for k in sd if k.startswith(layer)})
    mlp_dim = sd[layer + "0.1.fn.fn.net.0.weight"].shape[0]
    if variant == "S":
        channels, width, s3 = 256, 32, 4
    else:
        width = channels = int(sd["pre_feature.transition1.0.0.weight"].shape[0])
        s3 = len({k.split(".")[2] for k in sd if k.startswith("pre_feature.stage3.")})
    patch_area = sd[p + "patch_to_embedding.weight"].shape[1] // channels
    deep_head = p + "mlp_head.3.weight" in sd
    last = sd[p + ("mlp_head.3.weight" if deep_head else "mlp_head.1.weight")]
    hidden = int(sd[p + "mlp_head.1.weight"].shape[0]) if deep_head else None
    pos = sd[p + "pos_embedding"]
    heat = int(last.shape[0])
    # a sine table (requires_grad=False, but saved) is exactly ours for the right grid; a
    # learnable one also covers the J keypoint tokens. 'sine' and 'sine-full' share the table:
    # the official configs all use sine-full (a spec's arch can say otherwise)
    geo = _geometry(pos, pos.shape[1], patch_area, heat, int(dim), sine=True)
    pos_type = "sine-full"
    if geo is None or not _is_sine(pos, geo, int(dim)):
        n_learn = pos.shape[1] - int(J)
        learn = _geometry(pos, n_learn, patch_area, heat, int(dim), sine=False) if n_learn > 0 else None
        if learn is not None:
            geo, pos_type = learn, "learnable"
    if geo is None:
        raise CheckpointError(f"TokenPose-{variant}: {pos.shape[1]} position embeddings, {patch_area}-pixel patches "
                              f"and {last.shape[0]}-pixel heatmaps fit no input size")
    (W, H), (pw, ph) = geo
    arch = dict(variant=variant, input_wh=(W, H), patch_wh=(pw, ph), num_joints=int(J), dim=int(dim), depth=depth,
                heads=VARIANT_HEADS[variant], mlp_ratio=int(mlp_dim) // int(dim), width=width, stage3_modules=s3,
                hidden_heatmap_dim=hidden, pos_embedding=pos_type)
    name = {"S": "TokenPose-S", "B": "TokenPose-B", "L": f"TokenPose-L/D{3 * depth}"}[variant]
    # the official pipeline crops and maps back in pixel-centred coordinates (its transforms.py)
    return CheckpointInfo(variant=f"{name} {H}x{W}", arch=arch, head="heatmap", num_joints=int(J), input_wh=(W, H),
                          geometry="pixel")


def build_from_arch(arch: Mapping) -> TokenPose:
    a = dict(arch)
    return TokenPose(a.pop("variant", "B"), **{k: tuple(v) if isinstance(v, list) else v for k, v in a.items()})



#: the family (no built-in names: give a checkpoint)
FAMILY = Pose2DFamily(
    name="tokenpose", match=match_checkpoint, build=build_from_arch, convert=convert_state_dict,
    layout="TokenPose-S/B/L (leeyegy/TokenPose: features.* for S; pre_feature.* + transformer.* for B and L)")
