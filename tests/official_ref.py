"""Minimal independent re-implementations of the official forwards (github leeyegy/TokenPose
``tokenpose_base.py`` / ``hr_base.py`` / ``pose_tokenpose_{s,b,l}.py`` and leeyegy/SimDR
``pose_hrnet.py``), written from reading that code for the equivalence tests: same module
names (so ``state_dict()`` is the official key layout), same operation order, including the
in-place ``x[:, J:] += pos`` of 'sine-full', einsum attention and the two attention scales.
Nothing here imports hotdemo. Test helper only (random weights; no trained models)."""

import math

import torch
from torch import nn

BN_MOMENTUM = 0.1


# ----------------------------------------------------------------------------- HRNet pieces

class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.downsample = downsample

    def forward(self, x):
        residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            residual = self.downsample(x)
        return self.relu(out + residual)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            residual = self.downsample(x)
        return self.relu(out + residual)


class HighResolutionModule(nn.Module):
    def __init__(self, num_branches, num_inchannels, multi_scale_output=True):
        super().__init__()
        self.num_branches = num_branches
        self.multi_scale_output = multi_scale_output
        self.branches = nn.ModuleList([nn.Sequential(*[BasicBlock(c, c) for _ in range(4)]) for c in num_inchannels])
        fuse_layers = []
        for i in range(num_branches if multi_scale_output else 1):
            fuse_layer = []
            for j in range(num_branches):
                if j > i:
                    fuse_layer.append(nn.Sequential(
                        nn.Conv2d(num_inchannels[j], num_inchannels[i], 1, 1, 0, bias=False),
                        nn.BatchNorm2d(num_inchannels[i]),
                        nn.Upsample(scale_factor=2 ** (j - i), mode="nearest")))
                elif j == i:
                    fuse_layer.append(None)
                else:
                    conv3x3s = []
                    for k in range(i - j):
                        if k == i - j - 1:
                            conv3x3s.append(nn.Sequential(
                                nn.Conv2d(num_inchannels[j], num_inchannels[i], 3, 2, 1, bias=False),
                                nn.BatchNorm2d(num_inchannels[i])))
                        else:
                            conv3x3s.append(nn.Sequential(
                                nn.Conv2d(num_inchannels[j], num_inchannels[j], 3, 2, 1, bias=False),
                                nn.BatchNorm2d(num_inchannels[j]), nn.ReLU(True)))
                    fuse_layer.append(nn.Sequential(*conv3x3s))
            fuse_layers.append(nn.ModuleList(fuse_layer))
        self.fuse_layers = nn.ModuleList(fuse_layers)
        self.relu = nn.ReLU(True)

    def forward(self, x):
        for i in range(self.num_branches):
            x[i] = self.branches[i](x[i])
        x_fuse = []
        for i in range(len(self.fuse_layers)):
            y = x[0] if i == 0 else self.fuse_layers[i][0](x[0])
            for j in range(1, self.num_branches):
                if i == j:
                    y = y + x[j]
                else:
                    y = y + self.fuse_layers[i][j](x[j])
            x_fuse.append(self.relu(y))
        return x_fuse


def _transition(pre, cur):
    layers = []
    for i in range(len(cur)):
        if i < len(pre):
            if cur[i] != pre[i]:
                layers.append(nn.Sequential(nn.Conv2d(pre[i], cur[i], 3, 1, 1, bias=False),
                                            nn.BatchNorm2d(cur[i]), nn.ReLU(inplace=True)))
            else:
                layers.append(None)
        else:
            convs = []
            for j in range(i + 1 - len(pre)):
                inc = pre[-1]
                outc = cur[i] if j == i - len(pre) else inc
                convs.append(nn.Sequential(nn.Conv2d(inc, outc, 3, 2, 1, bias=False), nn.BatchNorm2d(outc),
                                           nn.ReLU(inplace=True)))
            layers.append(nn.Sequential(*convs))
    return nn.ModuleList(layers)


def _stem(m):
    m.conv1 = nn.Conv2d(3, 64, 3, 2, 1, bias=False)
    m.bn1 = nn.BatchNorm2d(64, momentum=BN_MOMENTUM)
    m.conv2 = nn.Conv2d(64, 64, 3, 2, 1, bias=False)
    m.bn2 = nn.BatchNorm2d(64, momentum=BN_MOMENTUM)
    m.relu = nn.ReLU(inplace=True)
    down = nn.Sequential(nn.Conv2d(64, 256, 1, 1, bias=False), nn.BatchNorm2d(256, momentum=BN_MOMENTUM))
    m.layer1 = nn.Sequential(Bottleneck(64, 64, 1, down), *[Bottleneck(256, 64) for _ in range(3)])


def _run_stem(m, x):
    x = m.relu(m.bn1(m.conv1(x)))
    x = m.relu(m.bn2(m.conv2(x)))
    return m.layer1(x)


class HRNET_base(nn.Module):
    """TokenPose's hr_base.HRNET_base: stages 2 and 3 (4 modules), highest branch out."""

    def __init__(self, width):
        super().__init__()
        _stem(self)
        c2, c3 = [width, 2 * width], [width, 2 * width, 4 * width]
        self.transition1 = _transition([256], c2)
        self.stage2 = nn.Sequential(HighResolutionModule(2, c2))
        self.transition2 = _transition(c2, c3)
        self.stage3 = nn.Sequential(*[HighResolutionModule(3, c3, multi_scale_output=(i != 3)) for i in range(4)])

    def forward(self, x):
        x = _run_stem(self, x)
        x_list = [self.transition1[i](x) if self.transition1[i] is not None else x for i in range(2)]
        y_list = self.stage2(x_list)
        x_list = [self.transition2[i](y_list[-1]) if self.transition2[i] is not None else y_list[i] for i in range(3)]
        return self.stage3(x_list)[0]


class SimDRPoseHRNet(nn.Module):
    """SimDR's pose_hrnet with COORD_REPRESENTATION simdr / sa-simdr."""

    def __init__(self, width, num_joints, image_size, split_ratio):
        super().__init__()
        _stem(self)
        c2, c3, c4 = [width * 2 ** i for i in range(2)], [width * 2 ** i for i in range(3)], [width * 2 ** i for i in range(4)]
        self.transition1 = _transition([256], c2)
        self.stage2 = nn.Sequential(HighResolutionModule(2, c2))
        self.transition2 = _transition(c2, c3)
        self.stage3 = nn.Sequential(*[HighResolutionModule(3, c3) for _ in range(4)])
        self.transition3 = _transition(c3, c4)
        self.stage4 = nn.Sequential(*[HighResolutionModule(4, c4, multi_scale_output=(i != 2)) for i in range(3)])
        self.final_layer = nn.Conv2d(width, num_joints, 1, 1, 0)
        head_input = (image_size[1] // 4) * (image_size[0] // 4)
        self.mlp_head_x = nn.Linear(head_input, int(image_size[0] * split_ratio))
        self.mlp_head_y = nn.Linear(head_input, int(image_size[1] * split_ratio))

    def forward(self, x):
        x = _run_stem(self, x)
        x_list = [self.transition1[i](x) if self.transition1[i] is not None else x for i in range(2)]
        y_list = self.stage2(x_list)
        x_list = [self.transition2[i](y_list[-1]) if self.transition2[i] is not None else y_list[i] for i in range(3)]
        y_list = self.stage3(x_list)
        x_list = [self.transition3[i](y_list[-1]) if self.transition3[i] is not None else y_list[i] for i in range(4)]
        y_list = self.stage4(x_list)
        x_ = self.final_layer(y_list[0])
        b, c, h, w = x_.shape
        x = x_.reshape(b, c, h * w)  # rearrange 'b c h w -> b c (h w)'
        return self.mlp_head_x(x), self.mlp_head_y(x)


# ----------------------------------------------------------------------------- TokenPose pieces

class Residual(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x, **kwargs):
        return self.fn(x, **kwargs) + x


class PreNorm(nn.Module):
    def __init__(self, dim, fn):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fn = fn

    def forward(self, x, **kwargs):
        return self.fn(self.norm(x), **kwargs)


class FeedForward(nn.Module):
    def __init__(self, dim, hidden_dim):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden_dim), nn.GELU(), nn.Dropout(0.0), nn.Linear(hidden_dim, dim),
                                 nn.Dropout(0.0))

    def forward(self, x):
        return self.net(x)


class Attention(nn.Module):
    def __init__(self, dim, heads, scale_with_head):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5 if scale_with_head else dim ** -0.5
        self.to_qkv = nn.Linear(dim, dim * 3, bias=False)
        self.to_out = nn.Sequential(nn.Linear(dim, dim), nn.Dropout(0.0))

    def forward(self, x, mask=None):
        b, n, _ = x.shape
        h = self.heads
        q, k, v = [t.reshape(b, n, h, -1).permute(0, 2, 1, 3) for t in self.to_qkv(x).chunk(3, dim=-1)]
        dots = torch.einsum("bhid,bhjd->bhij", q, k) * self.scale
        attn = dots.softmax(dim=-1)
        out = torch.einsum("bhij,bhjd->bhid", attn, v)
        out = out.permute(0, 2, 1, 3).reshape(b, n, -1)
        return self.to_out(out)


class Transformer(nn.Module):
    def __init__(self, dim, depth, heads, mlp_dim, num_keypoints, all_attn, scale_with_head):
        super().__init__()
        self.layers = nn.ModuleList([nn.ModuleList([
            Residual(PreNorm(dim, Attention(dim, heads, scale_with_head))),
            Residual(PreNorm(dim, FeedForward(dim, mlp_dim)))]) for _ in range(depth)])
        self.all_attn, self.num_keypoints = all_attn, num_keypoints

    def forward(self, x, mask=None, pos=None):
        for idx, (attn, ff) in enumerate(self.layers):
            if idx > 0 and self.all_attn:
                x[:, self.num_keypoints:] += pos
            x = attn(x, mask=mask)
            x = ff(x)
        return x


def sine_table(h, w, d_model, temperature=10000, scale=2 * math.pi):
    area = torch.ones(1, h, w)
    y_embed = area.cumsum(1, dtype=torch.float32)
    x_embed = area.cumsum(2, dtype=torch.float32)
    one = d_model // 2
    eps = 1e-6
    y_embed = y_embed / (y_embed[:, -1:, :] + eps) * scale
    x_embed = x_embed / (x_embed[:, :, -1:] + eps) * scale
    dim_t = torch.arange(one, dtype=torch.float32)
    dim_t = temperature ** (2 * (dim_t // 2) / one)
    pos_x = x_embed[:, :, :, None] / dim_t
    pos_y = y_embed[:, :, :, None] / dim_t
    pos_x = torch.stack((pos_x[:, :, :, 0::2].sin(), pos_x[:, :, :, 1::2].cos()), dim=4).flatten(3)
    pos_y = torch.stack((pos_y[:, :, :, 0::2].sin(), pos_y[:, :, :, 1::2].cos()), dim=4).flatten(3)
    pos = torch.cat((pos_y, pos_x), dim=3).permute(0, 3, 1, 2)
    return pos.flatten(2).permute(0, 2, 1)


class TokenBase(nn.Module):
    """TokenPose_S_base (stem=True), TokenPose_TB_base (groups=1) and TokenPose_L_base (groups=3)."""

    def __init__(self, *, feature_hw, patch_size, num_keypoints, dim, depth, heads, mlp_dim, hidden_heatmap_dim,
                 heatmap_size, channels, pos_embedding_type, scale_with_head, groups=1, stem=False,
                 apply_multi=True):
        super().__init__()
        self.patch_size, self.heatmap_size, self.num_keypoints = patch_size, heatmap_size, num_keypoints
        self.pos_embedding_type, self.groups, self.stem = pos_embedding_type, groups, stem
        h, w = feature_hw[0] // patch_size[0], feature_hw[1] // patch_size[1]
        num_patches = h * w
        if stem:
            _stem(self)
        self.keypoint_token = nn.Parameter(torch.zeros(1, num_keypoints, dim))
        if pos_embedding_type == "learnable":
            self.pos_embedding = nn.Parameter(torch.zeros(1, num_patches + num_keypoints, dim))
        else:
            self.pos_embedding = nn.Parameter(sine_table(h, w, dim), requires_grad=False)
        self.patch_to_embedding = nn.Linear(channels * patch_size[0] * patch_size[1], dim)
        self.dropout = nn.Dropout(0.0)
        all_attn = pos_embedding_type == "sine-full"
        if groups == 1:
            self.transformer = Transformer(dim, depth, heads, mlp_dim, num_keypoints, all_attn, scale_with_head)
        else:
            for g in (1, 2, 3):
                setattr(self, f"transformer{g}",
                        Transformer(dim, depth, heads, mlp_dim, num_keypoints, all_attn, scale_with_head))
        self.to_keypoint_token = nn.Identity()
        d = dim * groups
        hm = heatmap_size[0] * heatmap_size[1]
        self.mlp_head = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, hidden_heatmap_dim), nn.LayerNorm(hidden_heatmap_dim),
                                      nn.Linear(hidden_heatmap_dim, hm)) \
            if (d <= hidden_heatmap_dim * 0.5 and apply_multi) else nn.Sequential(nn.LayerNorm(d), nn.Linear(d, hm))

    def forward(self, x, mask=None):
        if self.stem:
            x = _run_stem(self, x)
        p = self.patch_size
        b, c, H, W = x.shape
        # rearrange 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)'
        x = x.reshape(b, c, H // p[0], p[0], W // p[1], p[1]).permute(0, 2, 4, 3, 5, 1).reshape(b, -1, p[0] * p[1] * c)
        x = self.patch_to_embedding(x)
        b, n, _ = x.shape
        keypoint_tokens = self.keypoint_token.repeat(b, 1, 1)
        if self.pos_embedding_type in ("sine", "sine-full"):
            x += self.pos_embedding[:, :n]
            x = torch.cat((keypoint_tokens, x), dim=1)
        else:
            x = torch.cat((keypoint_tokens, x), dim=1)
            x += self.pos_embedding[:, :(n + self.num_keypoints)]
        x = self.dropout(x)
        J = self.num_keypoints
        if self.groups == 1:
            x = self.to_keypoint_token(self.transformer(x, mask, self.pos_embedding)[:, 0:J])
        else:
            x1 = self.transformer1(x, mask, self.pos_embedding)
            x2 = self.transformer2(x1, mask, self.pos_embedding)
            x3 = self.transformer3(x2, mask, self.pos_embedding)
            x = torch.cat((x1[:, 0:J], x2[:, 0:J], x3[:, 0:J]), dim=2)
        x = self.mlp_head(x)
        return x.reshape(x.shape[0], x.shape[1], self.heatmap_size[0], self.heatmap_size[1])


class TokenPoseRef(nn.Module):
    """pose_tokenpose_s / _b / _l: image_size, patch_size and heatmap_size in the configs' (w, h)."""

    def __init__(self, variant, *, image_size=(192, 256), patch_size=(3, 4), dim=192, depth=12, heads=8, mlp_ratio=3,
                 base_channel=32, hidden_heatmap_dim=None, num_joints=17, pos_embedding_type="sine-full"):
        super().__init__()
        self.variant = variant
        heatmap = [image_size[1] // 4, image_size[0] // 4]
        hidden = hidden_heatmap_dim or heatmap[0] * heatmap[1] // 8
        common = dict(feature_hw=[image_size[1] // 4, image_size[0] // 4], patch_size=[patch_size[1], patch_size[0]],
                      num_keypoints=num_joints, dim=dim, depth=depth, heads=heads, mlp_dim=dim * mlp_ratio,
                      hidden_heatmap_dim=hidden, heatmap_size=heatmap, pos_embedding_type=pos_embedding_type)
        if variant == "S":
            self.features = TokenBase(channels=256, scale_with_head=False, stem=True, **common)
        else:
            self.pre_feature = HRNET_base(base_channel)
            self.transformer = TokenBase(channels=base_channel, scale_with_head=True,
                                         groups=3 if variant == "L" else 1, **common)

    def forward(self, x):
        if self.variant == "S":
            return self.features(x)
        return self.transformer(self.pre_feature(x))


def randomize(model, seed=0):
    """Random weights everywhere (LayerNorm and BN affine too) and non-trivial BN statistics."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("pos_embedding") and not p.requires_grad:
                continue
            p.copy_(torch.randn(p.shape, generator=g) * (0.5 / math.sqrt(max(p[0].numel(), 1)) if p.ndim > 1 else 0.1)
                    + (1.0 if name.endswith(("bn1.weight", "bn2.weight", "bn3.weight", "norm.weight")) else 0.0))
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
    return model.eval()


def compare_state_dict_reading(reference, path, batch=1, seed=1):
    """Save ``reference``'s state dict to ``path``, read it back with hotdemo's 2D checkpoint
    reader and run both on the same seeded input of the model's size. Returns ``(ours,
    reference outputs as a tuple, max |ours - reference| over the outputs)``."""
    from hotdemo.lift.registry import load_pose2d_model

    torch.save(reference.state_dict(), path)
    ours = load_pose2d_model(path)
    W, H = ours.pose2d_info.input_wh
    x = torch.randn(batch, 3, H, W, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        a, b = ours(x), reference(x)
    a = a if isinstance(a, tuple) else (a,)
    b = tuple(b) if isinstance(b, (tuple, list)) else (b,)
    return ours, b, max(float((u - v).abs().max()) for u, v in zip(a, b))
