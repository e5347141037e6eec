"""RTMPose (Jiang et al. 2023): CSPNeXt backbone + RTMCC SimCC head, in PyTorch.

Our own implementation of the architecture that mmpose's RTMPose configs define
(``configs/body_2d_keypoint/rtmpose/body8/rtmpose-{t,s,m,l,x}_..._body8-{256x192,384x288}.py``),
with the parameter names of mmpose's ``TopdownPoseEstimator`` state dicts (``backbone.*``,
``head.*``), so an mmpose RTMPose ``.pth`` checkpoint loads with ``strict=True``
(:func:`load_rtmpose`).

Input: (B, 3, H, W) float, RGB, normalised with mean (123.675, 116.28, 103.53) and std
(58.395, 57.12, 57.375) on 0-255 pixel values. Output: ``(simcc_x (B, K, W*k), simcc_y (B, K, H*k))``
with split ratio ``k = 2``: raw (un-softmaxed) 1-D classification logits, as in RTMPose's SDK
ONNX export (outputs ``simcc_x`` / ``simcc_y``). Decoding: argmax / k, score = min of the two maxima.

Architecture (CSPNeXt P5, ``expand_ratio`` 0.5, channel attention, SiLU, BatchNorm eps 1e-5 as
the configs' ``SyncBN``):

* stem: three 3x3 conv-BN-SiLU (stride 2, 1, 1) to ``64 * widen / 2``, ``/ 2`` and ``64 * widen``;
* stages 1-4: 3x3 stride-2 conv, (stage 4 only: SPP bottleneck with max-pools 5, 9, 13), and a CSP
  layer: 1x1 ``main_conv`` -> ``round(n * deepen)`` CSPNeXt blocks (3x3 conv, then depthwise 5x5 +
  pointwise conv, residual where enabled), concatenated with 1x1 ``short_conv``, channel
  attention (global average pool, 1x1 conv, hard sigmoid), 1x1 ``final_conv``; stage widths
  128/256/512/1024 and block counts 3/6/6/3 times ``widen`` / ``deepen``; the residual is off in
  stage 4;
* RTMCC head on the stride-32 map: 7x7 conv to K channels, flatten, ScaleNorm + Linear to 256,
  one GAU block (ScaleNorm, Linear to 2*512 + 128 with SiLU, per-token q/k from the 128-d base by
  gamma/beta, squared-ReLU attention scaled by 1/sqrt(128), gated by u, Linear back to 256,
  learned residual scale; no relative-position bias, no rotary encoding), then Linear
  ``cls_x`` / ``cls_y`` (no bias) to W*k and H*k.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from hotdemo.io.torchfile import load_state_dict_strict, safe_torch_load, unwrap_state_dict
from hotdemo.pose2d.spec import CheckpointInfo, Pose2DFamily, Pose2DSpec

__all__ = ["RTMPoseConfig", "RTMPose", "RTMPOSE_SIZES", "build_rtmpose", "load_rtmpose",
           "export_rtmpose_onnx", "random_rtmpose_onnx", "RTMPOSE_MEAN", "RTMPOSE_STD", "FAMILY"]

RTMPOSE_MEAN = (123.675, 116.28, 103.53)
RTMPOSE_STD = (58.395, 57.12, 57.375)


@dataclass(frozen=True)
class RTMPoseConfig:
    deepen: float
    widen: float
    input_wh: Tuple[int, int] = (192, 256)
    num_joints: int = 17
    split_ratio: float = 2.0
    hidden: int = 256
    s: int = 128
    expansion: int = 2
    final_kernel: int = 7

    def to_dict(self) -> dict:
        return asdict(self)


#: mmpose's body8/body7 configs: deepen_factor, widen_factor per size (head in_channels = 1024 * widen)
RTMPOSE_SIZES: Dict[str, Tuple[float, float]] = {
    "t": (0.167, 0.375),
    "s": (0.33, 0.5),
    "m": (0.67, 0.75),
    "l": (1.0, 1.0),
    "x": (1.33, 1.25),
}

# in, out, blocks, residual, spp (CSPNeXt 'P5')
_P5 = ((64, 128, 3, True, False), (128, 256, 6, True, False), (256, 512, 6, True, False),
       (512, 1024, 3, False, True))


class ConvBNAct(nn.Module):
    """mmcv ``ConvModule`` layout: ``conv`` (no bias), ``bn``, SiLU."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, groups: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)
        self.act = nn.SiLU(inplace=True)

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class DWSepConv(nn.Module):
    """mmcv ``DepthwiseSeparableConvModule``: depthwise conv-BN-act then pointwise conv-BN-act."""

    def __init__(self, cin: int, cout: int, k: int):
        super().__init__()
        self.depthwise_conv = ConvBNAct(cin, cin, k, groups=cin)
        self.pointwise_conv = ConvBNAct(cin, cout, 1)

    def forward(self, x):
        return self.pointwise_conv(self.depthwise_conv(x))


class CSPNeXtBlock(nn.Module):
    def __init__(self, c: int, residual: bool):
        super().__init__()
        self.conv1 = ConvBNAct(c, c, 3)
        self.conv2 = DWSepConv(c, c, 5)
        self.residual = residual

    def forward(self, x):
        y = self.conv2(self.conv1(x))
        return x + y if self.residual else y


class ChannelAttention(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.fc = nn.Conv2d(c, c, 1, bias=True)

    def forward(self, x):
        return x * F.hardsigmoid(self.fc(x.mean(dim=(2, 3), keepdim=True)))


class CSPLayer(nn.Module):
    def __init__(self, c: int, blocks: int, residual: bool):
        super().__init__()
        mid = c // 2  # expand_ratio 0.5
        self.main_conv = ConvBNAct(c, mid, 1)
        self.short_conv = ConvBNAct(c, mid, 1)
        self.final_conv = ConvBNAct(2 * mid, c, 1)
        self.blocks = nn.Sequential(*[CSPNeXtBlock(mid, residual) for _ in range(blocks)])
        self.attention = ChannelAttention(2 * mid)

    def forward(self, x):
        y = torch.cat((self.blocks(self.main_conv(x)), self.short_conv(x)), dim=1)
        return self.final_conv(self.attention(y))


class SPPBottleneck(nn.Module):
    def __init__(self, c: int, kernels=(5, 9, 13)):
        super().__init__()
        mid = c // 2
        self.conv1 = ConvBNAct(c, mid, 1)
        self.poolings = nn.ModuleList([nn.MaxPool2d(k, 1, k // 2) for k in kernels])
        self.conv2 = ConvBNAct(mid * (len(kernels) + 1), c, 1)

    def forward(self, x):
        x = self.conv1(x)
        return self.conv2(torch.cat([x] + [p(x) for p in self.poolings], dim=1))


class CSPNeXt(nn.Module):
    """CSPNeXt P5 backbone; returns the last (stride-32) feature map."""

    def __init__(self, deepen: float, widen: float):
        super().__init__()
        c0 = int(_P5[0][0] * widen)
        self.stem = nn.Sequential(ConvBNAct(3, c0 // 2, 3, 2), ConvBNAct(c0 // 2, c0 // 2, 3),
                                  ConvBNAct(c0 // 2, c0, 3))
        for i, (cin, cout, n, residual, spp) in enumerate(_P5):
            cin, cout = int(cin * widen), int(cout * widen)
            n = max(round(n * deepen), 1)
            layers = [ConvBNAct(cin, cout, 3, 2)]
            if spp:
                layers.append(SPPBottleneck(cout))
            layers.append(CSPLayer(cout, n, residual))
            self.add_module(f"stage{i + 1}", nn.Sequential(*layers))
        self.out_channels = int(_P5[-1][1] * widen)

    def forward(self, x):
        x = self.stem(x)
        for i in range(len(_P5)):
            x = getattr(self, f"stage{i + 1}")(x)
        return x


class ScaleNorm(nn.Module):
    """x / max(||x|| * dim**-0.5, eps) * g (one learned scalar ``g``)."""

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.scale = dim ** -0.5
        self.eps = eps
        self.g = nn.Parameter(torch.ones(1))

    def forward(self, x):
        norm = torch.linalg.vector_norm(x, dim=-1, keepdim=True) * self.scale
        return x / norm.clamp(min=self.eps) * self.g


class _ResScale(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * self.scale


class GAU(nn.Module):
    """RTMCC's gated attention unit (self-attention, SiLU, no relative bias, no rotary encoding)."""

    def __init__(self, dim: int, s: int = 128, expansion: int = 2):
        super().__init__()
        self.e = int(dim * expansion)
        self.s = s
        self.ln = ScaleNorm(dim)
        self.uv = nn.Linear(dim, 2 * self.e + s, bias=False)
        self.gamma = nn.Parameter(torch.rand(2, s))
        self.beta = nn.Parameter(torch.rand(2, s))
        self.o = nn.Linear(self.e, dim, bias=False)
        self.res_scale = _ResScale(dim)
        nn.init.xavier_uniform_(self.uv.weight)

    def forward(self, x):
        uv = F.silu(self.uv(self.ln(x)))
        u, v, base = torch.split(uv, [self.e, self.e, self.s], dim=2)
        q = base * self.gamma[0] + self.beta[0]
        k = base * self.gamma[1] + self.beta[1]
        kernel = torch.square(F.relu(torch.bmm(q, k.transpose(1, 2)) / math.sqrt(self.s)))
        return self.res_scale(x) + self.o(u * torch.bmm(kernel, v))


class RTMCCHead(nn.Module):
    def __init__(self, cfg: RTMPoseConfig, in_channels: int):
        super().__init__()
        W, H = cfg.input_wh
        flat = (W // 32) * (H // 32)
        self.num_joints = cfg.num_joints
        self.flat = flat
        self.final_layer = nn.Conv2d(in_channels, cfg.num_joints, cfg.final_kernel, 1, cfg.final_kernel // 2)
        self.mlp = nn.Sequential(ScaleNorm(flat), nn.Linear(flat, cfg.hidden, bias=False))
        self.gau = GAU(cfg.hidden, cfg.s, cfg.expansion)
        self.cls_x = nn.Linear(cfg.hidden, int(W * cfg.split_ratio), bias=False)
        self.cls_y = nn.Linear(cfg.hidden, int(H * cfg.split_ratio), bias=False)

    def forward(self, feat):
        f = self.final_layer(feat)
        # a constant joint count keeps ONNX's output shapes (batch, K, W*k) / (batch, K, H*k)
        x = self.gau(self.mlp(f.reshape(-1, self.num_joints, self.flat)))
        return self.cls_x(x), self.cls_y(x)


class RTMPose(nn.Module):
    """CSPNeXt + RTMCC head; ``forward(x)`` -> ``(simcc_x, simcc_y)`` (see the module docstring)."""

    def __init__(self, cfg: RTMPoseConfig):
        super().__init__()
        W, H = cfg.input_wh
        if W % 32 or H % 32:
            raise ValueError(f"RTMPose input size must be a multiple of 32, got {W}x{H}")
        self.cfg = cfg
        self.num_joints = cfg.num_joints
        self.backbone = CSPNeXt(cfg.deepen, cfg.widen)
        self.head = RTMCCHead(cfg, self.backbone.out_channels)

    def forward(self, x):
        return self.head(self.backbone(x))


def build_rtmpose(size: str = "m", input_wh: Tuple[int, int] = (192, 256), num_joints: int = 17) -> RTMPose:
    """RTMPose-``size`` (t, s, m, l, x) for ``input_wh`` = (W, H), random weights."""
    if size not in RTMPOSE_SIZES:
        raise ValueError(f"unknown RTMPose size {size!r}; known: {', '.join(RTMPOSE_SIZES)}")
    d, w = RTMPOSE_SIZES[size]
    return RTMPose(RTMPoseConfig(deepen=d, widen=w, input_wh=tuple(input_wh), num_joints=num_joints))


def _infer_config(sd: Dict[str, torch.Tensor]) -> RTMPoseConfig:
    """Size, input size and joint count of an mmpose RTMPose state dict, from its shapes."""
    try:
        c0 = sd["backbone.stem.2.conv.weight"].shape[0]
        nblocks = 1 + max(int(k.split(".")[4]) for k in sd if k.startswith("backbone.stage1.1.blocks."))
        flat = sd["head.mlp.1.weight"].shape[1]
        wx = sd["head.cls_x.weight"].shape[0]
        hy = sd["head.cls_y.weight"].shape[0]
        K = sd["head.final_layer.weight"].shape[0]
    except (KeyError, ValueError, IndexError) as e:
        raise ValueError(f"not an RTMPose (CSPNeXt + RTMCC head) state dict: {e}") from None
    for name, (d, w) in RTMPOSE_SIZES.items():
        if int(64 * w) == c0 and max(round(3 * d), 1) == nblocks:
            break
    else:
        raise ValueError(f"RTMPose with stem width {c0} and {nblocks} stage-1 blocks is not a known size")
    # cls sizes give W*k and H*k; the flattened map gives (W/32)*(H/32): solve for k
    for k in (2.0, 1.0, 1.5, 2.5, 3.0, 4.0):
        W, H = wx / k, hy / k
        if W == int(W) and H == int(H) and int(W) % 32 == 0 and int(H) % 32 == 0 and (W // 32) * (H // 32) == flat:
            return RTMPoseConfig(deepen=d, widen=w, input_wh=(int(W), int(H)), num_joints=K, split_ratio=k)
    raise ValueError(f"cannot tell the input size of this RTMPose from cls_x {wx} / cls_y {hy} / {flat} features")


def load_rtmpose(path) -> RTMPose:
    """An mmpose RTMPose ``.pth`` (``{'state_dict': {'backbone.*', 'head.*'}}`` or a bare state
    dict); size, input size, joints and split ratio come from the tensor shapes."""
    sd = unwrap_state_dict(safe_torch_load(path), where=f"{Path(path).name}: ")
    model = RTMPose(_infer_config(sd))
    load_state_dict_strict(model, sd, where=f"{Path(path).name}: ")
    return model.eval()


def export_rtmpose_onnx(model: RTMPose, path, opset: int = 17) -> Path:
    """Export with RTMPose's SDK signature: input ``input`` (B, 3, H, W) float32, outputs
    ``simcc_x`` (B, K, W*k) and ``simcc_y`` (B, K, H*k), dynamic batch. Written atomically."""
    from hotdemo.io.files import atomic_write
    from hotdemo.io.onnx_export import onnx_bytes

    W, H = model.cfg.input_wh
    data = onnx_bytes(model.eval(), (torch.zeros(1, 3, H, W),), input_names=["input"],
                      output_names=["simcc_x", "simcc_y"],
                      dynamic_axes={"input": {0: "batch"}, "simcc_x": {0: "batch"}, "simcc_y": {0: "batch"}}, opset=opset)
    path = Path(path)
    atomic_write(path, lambda f: f.write(data))
    return path


def random_rtmpose_onnx(size: str = "m", input_wh: Tuple[int, int] = (192, 256), *, seed: int = 0,
                        cache_dir=None) -> Path:
    """Path of an ONNX export of RTMPose-``size`` with random weights (seeded), cached in
    ``cache_dir`` (default: the system temp folder) and reused while it exists. For tests and
    benchmarks: the real architecture and cost without downloads."""
    import tempfile

    W, H = input_wh
    folder = Path(cache_dir) if cache_dir is not None else Path(tempfile.gettempdir()) / "hotdemo_random_models"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"rtmpose-{size}_random{seed}_{H}x{W}_torch{torch.__version__.split('+')[0]}.onnx"
    if path.is_file():
        return path
    g = torch.random.fork_rng()
    with g:
        torch.manual_seed(seed)
        model = build_rtmpose(size, input_wh)
        _randomise_norms(model)
    return export_rtmpose_onnx(model, path)


def _randomise_norms(model: nn.Module) -> None:
    """Give BatchNorm statistics and the ScaleNorm / GAU scalars non-trivial random values, so
    a random model exercises every parameter (fresh BN is an identity)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
            elif isinstance(m, (ScaleNorm,)):
                m.g.uniform_(0.5, 1.5)
            elif isinstance(m, _ResScale):
                m.scale.uniform_(0.5, 1.5)


# ----------------------------------------------------------------------------- 2D registry family API

def convert_state_dict(sd):
    """mmpose's RTMPose state dict is already in this module's names; drop ``module.`` and
    the BatchNorm counters."""
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in sd.items()
            if torch.is_tensor(v) and not k.endswith("num_batches_tracked")}


def match_checkpoint(sd):
    """A :class:`~hotdemo.pose2d.spec.CheckpointInfo` for an RTMPose state dict (CSPNeXt backbone
    + RTMCC head), else None. Size, input size, joints and split ratio come from the tensor
    shapes."""
    if "head.gau.uv.weight" not in sd or "backbone.stem.0.conv.weight" not in sd:
        return None
    try:
        cfg = _infer_config(sd)
    except ValueError:
        return None
    size = next(n for n, dw in RTMPOSE_SIZES.items() if dw == (cfg.deepen, cfg.widen))
    W, H = cfg.input_wh
    return CheckpointInfo(variant=f"RTMPose-{size} {H}x{W}", arch=cfg.to_dict(), head="simcc",
                          num_joints=cfg.num_joints, input_wh=cfg.input_wh, split_ratio=cfg.split_ratio,
                          head_options=dict(SIMCC_HEAD_OPTIONS))


def build_from_arch(arch) -> RTMPose:
    a = dict(arch)
    a["input_wh"] = tuple(a.get("input_wh", (192, 256)))
    return RTMPose(RTMPoseConfig(**a))


#: how mmpose decodes RTMPose (``SimCCLabel.decode`` -> ``get_simcc_maximum``): raw logits, no
#: softmax; location = argmax / split ratio, -1 where the score is <= 0; score = min of the maxima
SIMCC_HEAD_OPTIONS = {"softmax": None, "score": "min", "invalid_at": -1.0}


def _presets():
    """RTMPose (body7, COCO-17) as openmmlab publishes it for its SDK: ``end2end.onnx`` in a zip
    (weights manifest), run by ONNX Runtime. Pre-processing as mmpose's RTMPose pipeline: RGB
    (``bgr_to_rgb=True``), :data:`RTMPOSE_MEAN` / :data:`RTMPOSE_STD`, box padded 1.25 to the
    model's aspect, affine crop; decoding as :data:`SIMCC_HEAD_OPTIONS`."""
    from hotdemo.io.weights import MANIFEST

    for size, (h, w) in (("t", (256, 192)), ("s", (256, 192)), ("m", (256, 192)), ("l", (256, 192)),
                         ("l", (384, 288)), ("x", (384, 288))):
        name = f"rtmpose_{size}_body7_{h}x{w}"
        ws = MANIFEST[name]
        yield Pose2DSpec(
            name=name, family="rtmpose", input_wh=(w, h), head="simcc", split_ratio=2.0, mean=RTMPOSE_MEAN,
            std=RTMPOSE_STD, channel_order="rgb", head_options=dict(SIMCC_HEAD_OPTIONS), arch={"size": size},
            weights=name, url=ws.url, sha256=ws.sha256, description=ws.description)


#: the family: RTMPose checkpoints, and the built-in ``rtmpose_*_body7_*`` names (ONNX, by default)
FAMILY = Pose2DFamily(
    name="rtmpose", match=match_checkpoint, build=build_from_arch, convert=convert_state_dict,
    layout=("RTMPose SimCC (mmpose rtmpose-t/s/m/l/x: backbone.stem/stage1-4 CSPNeXt, "
            "head.final_layer/mlp/gau/cls_x/cls_y)"),
    presets=tuple(_presets()))
