"""HRNet (High-Resolution Net) for top-down 2D keypoints, written for hotdemo.

The module and parameter names follow the HRNet authors' ``pose_hrnet`` (``conv1``, ``bn1``,
``layer1``, ``transition1..3``, ``stage2..4`` of ``branches`` / ``fuse_layers``,
``final_layer``), so their checkpoints (e.g. ``pose_hrnet_w32_256x192.pth``,
``pose_hrnet_w48_384x288.pth`` used by the HoT demo) load as they are. mmpose checkpoints
use the same backbone names under ``backbone.`` and the 1x1 output conv under
``keypoint_head.final_layer`` (mmpose 0.x) or ``head.final_layer`` (mmpose 1.x);
:func:`load_hrnet` maps them. The width (32, 48, ...) and the joint count are read from the
checkpoint's tensor shapes.

Input: (B, 3, H, W) float, RGB normalised with the ImageNet mean/std (0-1 scale).
Output: (B, J, H/4, W/4) heatmaps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from hotdemo.core.errors import CheckpointError, WeightsError
from hotdemo.io.torchfile import load_state_dict_strict, safe_torch_load, unwrap_state_dict
from hotdemo.pose2d.spec import CheckpointInfo, Pose2DFamily, Pose2DSpec

__all__ = ["HRNet", "load_hrnet", "convert_state_dict", "width_from_state_dict", "match_checkpoint",
           "build_from_arch", "FAMILY"]

_BLOCKS_PER_BRANCH = 4
# (modules, branches) for stages 2, 3 and 4 of every COCO pose HRNet
_STAGES = ((1, 2), (4, 3), (3, 4))


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, momentum=0.1)


def _conv3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride, 1, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, c: int, stride: int = 1, downsample: Optional[nn.Module] = None):
        super().__init__()
        self.conv1 = _conv3(cin, c, stride)
        self.bn1 = _bn(c)
        self.conv2 = _conv3(c, c)
        self.bn2 = _bn(c)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        skip = x if self.downsample is None else self.downsample(x)
        return self.relu(y + skip)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, c: int, stride: int = 1, downsample: Optional[nn.Module] = None):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, c, 1, bias=False)
        self.bn1 = _bn(c)
        self.conv2 = _conv3(c, c, stride)
        self.bn2 = _bn(c)
        self.conv3 = nn.Conv2d(c, c * 4, 1, bias=False)
        self.bn3 = _bn(c * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        skip = x if self.downsample is None else self.downsample(x)
        return self.relu(y + skip)


class HRModule(nn.Module):
    """Parallel branches of BasicBlocks followed by all-to-all multi-resolution fusion."""

    def __init__(self, channels: Sequence[int], multi_scale_output: bool = True):
        super().__init__()
        n = len(channels)
        self.branches = nn.ModuleList(
            nn.Sequential(*[BasicBlock(c, c) for _ in range(_BLOCKS_PER_BRANCH)]) for c in channels
        )
        fuse = []
        for i in range(n if multi_scale_output else 1):
            row: List[Optional[nn.Module]] = []
            for j in range(n):
                if j > i:  # lower resolution -> 1x1 conv + nearest upsampling
                    row.append(nn.Sequential(
                        nn.Conv2d(channels[j], channels[i], 1, bias=False), _bn(channels[i]),
                        nn.Upsample(scale_factor=2 ** (j - i), mode="nearest"),
                    ))
                elif j == i:
                    row.append(None)
                else:  # higher resolution -> (i - j) stride-2 3x3 convs
                    steps = []
                    for k in range(i - j):
                        last = k == i - j - 1
                        cout = channels[i] if last else channels[j]
                        layers: List[nn.Module] = [_conv3(channels[j], cout, 2), _bn(cout)]
                        if not last:
                            layers.append(nn.ReLU(inplace=True))
                        steps.append(nn.Sequential(*layers))
                    row.append(nn.Sequential(*steps))
            fuse.append(nn.ModuleList(row))
        self.fuse_layers = nn.ModuleList(fuse)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, xs: List[torch.Tensor]) -> List[torch.Tensor]:
        xs = [b(x) for b, x in zip(self.branches, xs)]
        out = []
        for row in self.fuse_layers:
            y = None
            for j, f in enumerate(row):
                t = xs[j] if f is None else f(xs[j])
                y = t if y is None else y + t
            out.append(self.relu(y))
        return out


def _transition(prev: Sequence[int], cur: Sequence[int]) -> nn.ModuleList:
    layers: List[Optional[nn.Module]] = []
    for i, c in enumerate(cur):
        if i < len(prev):
            if prev[i] != c:
                layers.append(nn.Sequential(_conv3(prev[i], c), _bn(c), nn.ReLU(inplace=True)))
            else:
                layers.append(None)
        else:  # a new, lower-resolution branch made from the lowest existing one
            steps = []
            for k in range(i + 1 - len(prev)):
                cin = prev[-1]
                cout = c if k == i - len(prev) else cin
                steps.append(nn.Sequential(_conv3(cin, cout, 2), _bn(cout), nn.ReLU(inplace=True)))
            layers.append(nn.Sequential(*steps))
    return nn.ModuleList(layers)


def add_stem(m: nn.Module) -> None:
    """Give ``m`` the pose_hrnet stem under the official names (``conv1``/``bn1``, ``conv2``/``bn2``:
    3x3 stride-2 convolutions to 64 channels; ``relu``; ``layer1``: 4 Bottlenecks to 256 channels),
    so that HRNet and TokenPose checkpoints load into it unchanged. Run it with :func:`stem_forward`."""
    m.conv1 = nn.Conv2d(3, 64, 3, 2, 1, bias=False)
    m.bn1 = _bn(64)
    m.conv2 = nn.Conv2d(64, 64, 3, 2, 1, bias=False)
    m.bn2 = _bn(64)
    m.relu = nn.ReLU(inplace=True)
    down = nn.Sequential(nn.Conv2d(64, 256, 1, bias=False), _bn(256))
    m.layer1 = nn.Sequential(Bottleneck(64, 64, downsample=down), *[Bottleneck(256, 64) for _ in range(3)])


def stem_forward(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The stem added by :func:`add_stem`: (B, 3, H, W) -> (B, 256, H/4, W/4)."""
    x = m.relu(m.bn1(m.conv1(x)))
    x = m.relu(m.bn2(m.conv2(x)))
    return m.layer1(x)


def through_stages(x: torch.Tensor, pairs) -> List[torch.Tensor]:
    """Run the stem's output ``x`` through ``pairs`` of (transition, stage): each transition entry
    keeps a branch (None), changes its channels, or opens a new branch from the lowest-resolution
    one; each stage is a sequence of :class:`HRModule`. Returns the last stage's branches, highest
    resolution first."""
    ys: List[torch.Tensor] = [x]
    for trans, stage in pairs:
        xs = [ys[i] if t is None else t(ys[i] if i < len(ys) else ys[-1]) for i, t in enumerate(trans)]
        for m in stage:
            xs = m(xs)
        ys = xs
    return ys


class HRNet(nn.Module):
    """Pose HRNet-W``width``: stem, 4 stages, 1x1 head on the highest-resolution branch."""

    def __init__(self, width: int = 32, num_joints: int = 17):
        super().__init__()
        self.width = width
        self.num_joints = num_joints
        add_stem(self)
        prev = [256]
        for s, (n_mod, n_br) in enumerate(_STAGES, start=2):
            chans = [width * 2 ** b for b in range(n_br)]
            setattr(self, f"transition{s - 1}", _transition(prev, chans))
            last_stage = s == 4
            mods = [HRModule(chans, multi_scale_output=not (last_stage and m == n_mod - 1))
                    for m in range(n_mod)]
            setattr(self, f"stage{s}", nn.Sequential(*mods))
            prev = chans
        self.final_layer = nn.Conv2d(width, num_joints, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pairs = [(getattr(self, f"transition{s - 1}"), getattr(self, f"stage{s}")) for s in (2, 3, 4)]
        ys = through_stages(stem_forward(self, x), pairs)
        return self.final_layer(ys[0])


# ----------------------------------------------------------------------------- checkpoints

_HEAD_PREFIXES = ("keypoint_head.", "head.")


def convert_state_dict(sd: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Map an HRNet authors' or mmpose state dict to this module's names.

    Strips ``module.`` (DataParallel), ``backbone.`` and maps the mmpose head
    (``keypoint_head.final_layer`` / ``head.final_layer``) to ``final_layer``. Keys that do not
    belong to the pose network (``num_batches_tracked``, auxiliary heads) are dropped.
    """
    out: Dict[str, torch.Tensor] = {}
    for k, v in sd.items():
        if not torch.is_tensor(v):
            continue
        if k.startswith("module."):
            k = k[len("module."):]
        if k.startswith("backbone."):
            k = k[len("backbone."):]
        else:
            for p in _HEAD_PREFIXES:
                if k.startswith(p):
                    k = k[len(p):]
                    break
        if k.endswith("num_batches_tracked"):
            continue
        out[k] = v
    return out


def width_from_state_dict(sd: Mapping[str, torch.Tensor]) -> Tuple[int, int]:
    """(width, num_joints) of an HRNet state dict (already converted)."""
    try:
        width = int(sd["transition1.0.0.weight"].shape[0])
        joints = int(sd["final_layer.weight"].shape[0])
    except KeyError as e:
        raise CheckpointError(f"not an HRNet pose checkpoint: key {e.args[0]!r} is missing") from None
    return width, joints


def match_checkpoint(sd: Mapping[str, torch.Tensor]):
    """A :class:`~hotdemo.pose2d.spec.CheckpointInfo` for an HRNet heatmap state dict (already
    converted), else None. The input size is not in the weights (fully convolutional), so
    ``input_wh`` is None."""
    if "transition1.0.0.weight" not in sd or "final_layer.weight" not in sd or "conv1.weight" not in sd:
        return None
    if any(k.startswith(("mlp_head", "transformer", "keypoint_token")) for k in sd):
        return None  # an HRNet backbone under another family's head
    if sd["final_layer.weight"].ndim != 4:
        return None
    width, joints = width_from_state_dict(sd)
    return CheckpointInfo(variant=f"HRNet-W{width}", arch={"width": width, "num_joints": joints},
                          head="heatmap", num_joints=joints)


def build_from_arch(arch: Mapping) -> HRNet:
    return HRNet(int(arch.get("width", 32)), int(arch.get("num_joints", 17)))


def load_hrnet(path: Union[str, Path], *, trust_checkpoint: bool = False) -> HRNet:
    """Build the HRNet that ``path`` was trained as and load its weights (strict). A file that holds
    more than tensors is refused unless ``trust_checkpoint`` (then it is unpickled fully)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"HRNet checkpoint {path} does not exist")
    try:
        raw = safe_torch_load(path, trust=trust_checkpoint)
    except WeightsError as e:
        raise CheckpointError(f"cannot read HRNet checkpoint {e}") from None
    sd = convert_state_dict(unwrap_state_dict(raw, where=f"{path.name}: "))
    width, joints = width_from_state_dict(sd)
    model = HRNet(width, joints)
    load_state_dict_strict(model, sd, where=f"{path.name}: ", what=f"an HRNet-W{width} pose network",
                           allow_unexpected=True, optional=_is_counter)
    return model.eval()


def _is_counter(key: str) -> bool:
    return key.endswith("num_batches_tracked")


#: the family: HRNet heatmaps, and the built-in ``hrnet_w32_coco_256x192``
FAMILY = Pose2DFamily(
    name="hrnet", match=match_checkpoint, build=build_from_arch, convert=convert_state_dict,
    layout=("HRNet heatmaps (HRNet authors' pose_hrnet or mmpose td-hm_hrnet: conv1, transition1-3, "
            "stage2-4, final_layer)"),
    default_input_wh=(192, 256),
    presets=(Pose2DSpec(
        name="hrnet_w32_coco_256x192", family="hrnet", input_wh=(192, 256), arch={"width": 32},
        weights="hrnet_w32_coco_256x192",
        url=("https://download.openmmlab.com/mmpose/v1/body_2d_keypoint/topdown_heatmap/coco/"
             "td-hm_hrnet-w32_8xb64-210e_coco-256x192-81c58e40_20220909.pth"),
        sha256="81c58e40", description="HRNet-W32 COCO-17 heatmaps, 256x192 (mmpose, COCO val AP 0.749)"),),
)
