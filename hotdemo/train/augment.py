"""Training batches: clips of 3D motion seen through real and virtual cameras, with 2D noise.

Every function works on a whole batch at once (NumPy, no loops over frames or joints) and takes
an explicit ``numpy.random.Generator`` so that a batch is a pure function of its seed (the
trainer seeds each step with ``(seed, step)``, which makes resumed runs reproduce the data).

Pipeline of :func:`make_batch` (shapes: B clips, T frames, 17 joints):

1. :func:`sample_clips` - random clips (B, T, 17, 3) world metres, with playback-speed changes
   (linear interpolation between the 50 fps frames; 0.7-2.2 source frames per output frame
   covers 23-70 fps videos and faster/slower motion).
2. :func:`scale_bones` - per-clip bone-length scaling (every subject in the reconstruction has
   S1's proportions): a global factor and symmetric per-segment factors.
3. cameras - a real Human3.6M camera of the clip's subject (with its lens distortion), or a
   :func:`virtual_cameras` pinhole: any azimuth, camera height from below the hips to well above
   the head, 2.5-10 m away, 35 mm-equivalent focal lengths of phones and camcorders, landscape
   and portrait image sizes, the subject anywhere in the frame.
4. left/right flip in the camera frame (mirror x, swap joint sides).
5. :func:`detector_noise` - per-joint jitter scaled by the person's size, per-clip systematic
   offsets (larger for the joints that ``coco_to_h36m`` builds heuristically), occasional gross
   errors and left/right limb swaps, and low-confidence runs replaced by linear interpolation in
   time (:func:`interpolate_missing`), as the 2D stage repairs them. With ``p_error_model`` a
   fraction of the clips gets a named error model of :mod:`hotdemo.train.errors2d` instead
   (``error_model``, e.g. ``mixed``: drift at several time scales, static and scale bias, ...;
   one of several joined by ``+`` picked per clip), at a per-clip ``error_severity``, with the
   clip's frame rate (50 fps / playback speed).
6. screen normalisation ``x / w * 2 - [1, h / w]`` (as at inference); target: camera-frame
   metres, root-relative (pelvis = 0).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from hotdemo.core.camera import Camera, normalize_screen_coordinates, project, world_to_camera
from hotdemo.core.skeletons import H36M17
from hotdemo.train.data import MotionData, SequenceInfo

PARENTS = np.array(H36M17.parents)
FLIP_PERM = H36M17.flip_permutation
#: (17,) relative 2D jitter per joint: wrists/ankles are the least precise detector joints
JOINT_NOISE = np.array([1.0, 1.0, 1.1, 1.3, 1.0, 1.1, 1.3, 1.0, 1.0, 1.0, 1.0, 1.0, 1.3, 1.6, 1.0, 1.3, 1.6])
#: (17,) std of the per-clip systematic 2D offset, fraction of person size. Pelvis, hips, spine,
#: thorax, neck and head differ most between a COCO detector (+ coco_to_h36m) and the mocap joints.
JOINT_OFFSET = np.array([0.02, 0.02, 0.008, 0.008, 0.02, 0.008, 0.008, 0.025, 0.02, 0.02, 0.025,
                         0.01, 0.008, 0.008, 0.01, 0.008, 0.008])
LEGS = (1, 2, 3, 4, 5, 6)
ARMS = (11, 12, 13, 14, 15, 16)
#: image sizes (w, h) of virtual cameras: phone/camcorder landscape and portrait, webcam, square
IMAGE_SIZES = np.array([(1920, 1080), (1280, 720), (1080, 1920), (720, 1280), (640, 480),
                        (480, 640), (1000, 1000), (854, 480), (3840, 2160)], dtype=np.float64)


def _ancestors(parents: np.ndarray) -> np.ndarray:
    """(J, J) matrix A with A[j, i] = 1 when i is j or one of its ancestors (parents precede children)."""
    J = len(parents)
    a = np.zeros((J, J))
    for j in range(J):
        i = j
        while i >= 0:
            a[j, i] = 1.0
            i = parents[i]
    return a


ANCESTORS = _ancestors(PARENTS)
#: bone (child joint) -> segment group shared by left and right (scaled together)
_SEGMENT = np.array([0, 1, 2, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 8, 9, 10])


@dataclass
class AugmentConfig:
    """Probabilities and ranges of the training augmentations (see the module docstring)."""

    p_real_camera: float = 0.5
    p_speed: float = 0.5
    speed_range: Tuple[float, float] = (0.7, 2.2)  # source frames (50 fps) per output frame
    p_bone_scale: float = 0.8
    global_scale: Tuple[float, float] = (0.9, 1.1)
    segment_scale: Tuple[float, float] = (0.88, 1.12)
    side_asymmetry: float = 0.03
    p_flip: float = 0.5
    # virtual cameras
    distance: Tuple[float, float] = (2.5, 10.0)  # m, horizontal, to the clip's mean pelvis
    camera_height: Tuple[float, float] = (0.2, 3.5)  # m above the floor
    look_height: Tuple[float, float] = (0.5, 1.3)
    focal_35mm: Tuple[float, float] = (18.0, 90.0)  # log-uniform, 35 mm equivalent
    off_centre: float = 0.7  # fraction of the half field of view the subject may be off-centre
    roll_deg: float = 4.0
    min_depth: float = 1.2  # m, nearest joint depth allowed
    # 2D noise
    p_noise: float = 0.7
    noise_sigma: Tuple[float, float] = (0.002, 0.02)  # fraction of person size, per clip
    offset_scale: Tuple[float, float] = (0.0, 1.0)  # times JOINT_OFFSET, per clip
    p_gross: float = 0.002  # per joint and frame
    gross_size: Tuple[float, float] = (0.1, 0.4)  # fraction of person size
    p_swap: float = 0.002  # per frame: legs or arms swapped left/right
    p_lowconf: float = 0.004  # per joint and frame: start of a low-confidence run
    lowconf_max_len: int = 12
    # the named 2D error models (hotdemo.train.errors2d): a fraction of the clips gets one of them
    # on its clean 2D *instead of* detector_noise; 0 (the default) draws nothing extra, so older
    # configs reproduce their batches exactly
    p_error_model: float = 0.0
    error_model: str = "mixed"  # a name of hotdemo.train.errors2d.ERROR_MODELS, or several joined by "+"
    error_severity: Tuple[float, float] = (0.5, 1.5)  # per clip, uniform, times every size of the model

    def __post_init__(self) -> None:
        from hotdemo.train.errors2d import get_error_model

        for name in self.error_model.split("+"):
            get_error_model(name)  # InputError naming the known models

    def to_dict(self) -> dict:
        return asdict(self)


#: noise used by evaluation's "detector-like 2D" setting (fixed, moderate)
EVAL_NOISE = dict(noise_sigma=(0.01, 0.01), offset_scale=(0.5, 0.5), p_gross=0.002, p_swap=0.001,
                  p_lowconf=0.004, lowconf_max_len=12)


# ----------------------------------------------------------------------------- clips
def sample_clips(
    rng: np.random.Generator, data: MotionData, seqs: Sequence[SequenceInfo], batch: int, frames: int,
    speed: Optional[np.ndarray] = None,
) -> Tuple[np.ndarray, List[str]]:
    """Random clips (B, T, 17, 3) world metres from ``seqs`` (chosen in proportion to length).

    ``speed`` (B,): source frames per output frame (1 = 50 fps); capped so the clip fits.
    Returns the clips and each clip's subject.
    """
    lengths = np.array([s.length for s in seqs], dtype=np.float64)
    starts = np.array([s.start for s in seqs], dtype=np.int64)
    pick = rng.choice(len(seqs), size=batch, p=lengths / lengths.sum())
    L = lengths[pick]
    s = np.ones(batch) if speed is None else np.asarray(speed, dtype=np.float64)
    s = np.minimum(s, (L - 1) / max(frames - 1, 1))
    span = (frames - 1) * s
    t0 = rng.uniform(0.0, 1.0, batch) * (L - 1 - span)
    t = t0[:, None] + np.arange(frames)[None, :] * s[:, None]  # (B, T)
    i0 = np.floor(t).astype(np.int64)
    i1 = np.minimum(i0 + 1, (L - 1).astype(np.int64)[:, None])
    w = (t - i0)[:, :, None, None].astype(np.float32)
    base = starts[pick][:, None]
    clips = data.positions[base + i0] * (1 - w) + data.positions[base + i1] * w
    return clips.astype(np.float32), [seqs[i].subject for i in pick]


def scale_bones(rng: np.random.Generator, pos: np.ndarray, cfg: AugmentConfig) -> np.ndarray:
    """Scale bone lengths of clips (B, T, 17, 3), keeping the root trajectory. Returns a new array."""
    B = pos.shape[0]
    bones = pos - pos[:, :, np.maximum(PARENTS, 0)]
    bones[:, :, 0] = pos[:, :, 0]
    seg = rng.uniform(*cfg.segment_scale, size=(B, _SEGMENT.max() + 1))
    f = seg[:, _SEGMENT] * rng.uniform(1 - cfg.side_asymmetry, 1 + cfg.side_asymmetry, size=(B, 17))
    f *= rng.uniform(*cfg.global_scale, size=(B, 1))
    f[:, 0] = 1.0
    on = rng.random(B) < cfg.p_bone_scale
    f[~on] = 1.0
    return np.einsum("jk,btkc->btjc", ANCESTORS, bones * f[:, None, :, None].astype(np.float32)).astype(np.float32)


# ----------------------------------------------------------------------------- cameras
def _normalize(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def virtual_cameras(rng: np.random.Generator, pos: np.ndarray, cfg: AugmentConfig) -> Dict[str, np.ndarray]:
    """Random pinhole cameras looking at clips (B, T, 17, 3) world metres (z up, floor z = 0).

    Returns ``x_cam`` (B, T, 17, 3) camera-frame metres, ``focal`` (B, 2), ``center`` (B, 2),
    ``size`` (B, 2) image (w, h) pixels. The focal length is reduced and the principal point
    shifted only when needed to keep the whole clip inside the image.
    """
    B = pos.shape[0]
    pelvis = pos[:, :, 0].mean(axis=1).astype(np.float64)  # (B, 3)
    az = rng.uniform(0, 2 * np.pi, B)
    d = rng.uniform(*cfg.distance, B)
    cam = np.stack([pelvis[:, 0] + d * np.cos(az), pelvis[:, 1] + d * np.sin(az), rng.uniform(*cfg.camera_height, B)], -1)
    look = np.stack([pelvis[:, 0], pelvis[:, 1], rng.uniform(*cfg.look_height, B)], -1)
    size = IMAGE_SIZES[rng.integers(0, len(IMAGE_SIZES), B)]  # (B, 2)
    f35 = np.exp(rng.uniform(np.log(cfg.focal_35mm[0]), np.log(cfg.focal_35mm[1]), B))
    focal = f35 / 36.0 * size.max(axis=1)  # pixels
    up = np.array([0.0, 0.0, 1.0])
    fwd = _normalize(look - cam)
    right = _normalize(np.cross(fwd, up))
    down = np.cross(fwd, right)
    # aim off the subject by up to off_centre of the half field of view
    half = size / 2.0 / focal[:, None]  # tan of half FOV, (B, 2)
    a = rng.uniform(-1, 1, (B, 2)) * cfg.off_centre * half
    fwd = _normalize(fwd - a[:, :1] * right - a[:, 1:] * down)
    right = _normalize(np.cross(fwd, up))
    down = np.cross(fwd, right)
    roll = np.deg2rad(rng.normal(0, cfg.roll_deg, B))[:, None]
    right, down = np.cos(roll) * right + np.sin(roll) * down, -np.sin(roll) * right + np.cos(roll) * down
    R = np.stack([right, down, fwd], axis=1)  # (B, 3, 3) world -> camera rows
    x_cam = np.einsum("bij,btkj->btki", R, pos - cam[:, None, None, :]).astype(np.float32)
    # keep every joint at least min_depth in front of the camera (move the camera back)
    push = np.maximum(0.0, cfg.min_depth - x_cam[..., 2].min(axis=(1, 2)))
    x_cam[..., 2] += push[:, None, None].astype(np.float32)
    uv = x_cam[..., :2] / x_cam[..., 2:3]
    lo, hi = uv.min(axis=(1, 2)), uv.max(axis=(1, 2))  # (B, 2)
    margin = 0.03 * size
    fit = ((size - 2 * margin) / np.maximum(hi - lo, 1e-6)).min(axis=1)
    focal = np.minimum(focal, fit)
    center = size / 2.0
    center = np.clip(center, margin - focal[:, None] * lo, size - margin - focal[:, None] * hi)
    return {"x_cam": x_cam, "focal": np.repeat(focal[:, None], 2, 1), "center": center, "size": size}


def real_cameras(
    rng: np.random.Generator, pos: np.ndarray, subjects: Sequence[str], cameras: Dict[str, List[Camera]]
) -> Dict[str, np.ndarray]:
    """One of the subject's real cameras per clip: ``x_cam`` and the intrinsics (B, ...) arrays."""
    cams = [cameras[s][i] for s, i in zip(subjects, rng.integers(0, 4, len(subjects)))]
    q = np.stack([c.orientation for c in cams])[:, None, None]
    t = np.stack([c.translation for c in cams])[:, None, None]
    return {
        "x_cam": world_to_camera(pos, q, t).astype(np.float32),
        "focal": np.stack([c.focal for c in cams]).astype(np.float64),
        "center": np.stack([c.center for c in cams]).astype(np.float64),
        "radial": np.stack([c.radial for c in cams]),
        "tangential": np.stack([c.tangential for c in cams]),
        "size": np.array([(c.width, c.height) for c in cams], dtype=np.float64),
    }


def flip_camera_frame(x_cam: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mirror clips (B, T, 17, 3) where ``mask`` (B,) is set: negate x and swap left/right joints."""
    out = x_cam.copy()
    m = np.asarray(mask, dtype=bool)
    flipped = x_cam[m][:, :, FLIP_PERM]
    flipped[..., 0] *= -1
    out[m] = flipped
    return out


# ----------------------------------------------------------------------------- 2D noise
def person_size(x2d: np.ndarray) -> np.ndarray:
    """(B,) median over frames of the larger side of the 2D joints' bounding box, pixels."""
    ext = x2d.max(axis=2) - x2d.min(axis=2)  # (B, T, 2)
    return np.median(ext.max(axis=-1), axis=1)


def interpolate_missing(x: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Replace ``missing`` (B, T, J) entries of ``x`` (B, T, J, C) by linear interpolation in time.

    Before the first / after the last valid frame the nearest valid value is held. A joint with
    no valid frame in a clip is left unchanged.
    """
    B, T, J = missing.shape
    valid = ~missing
    idx = np.arange(T)[None, :, None]
    prev = np.maximum.accumulate(np.where(valid, idx, -1), axis=1)
    nxt = np.minimum.accumulate(np.where(valid, idx, T)[:, ::-1], axis=1)[:, ::-1]
    none = ~valid.any(axis=1, keepdims=True)
    p = np.where(prev < 0, nxt, prev)
    n = np.where(nxt >= T, p, nxt)
    p = np.clip(p, 0, T - 1)
    n = np.clip(n, 0, T - 1)
    span = np.maximum(n - p, 1)
    w = np.clip((idx - p) / span, 0.0, 1.0)[..., None]
    xp = np.take_along_axis(x, p[..., None], axis=1)
    xn = np.take_along_axis(x, n[..., None], axis=1)
    fill = xp * (1 - w) + xn * w
    use = (missing & ~none)[..., None]
    return np.where(use, fill, x).astype(x.dtype)


def detector_noise(rng: np.random.Generator, x2d: np.ndarray, cfg: AugmentConfig, apply: Optional[np.ndarray] = None) -> np.ndarray:
    """Detector-like corruption of clean 2D (B, T, 17, 2) pixels; ``apply`` (B,) selects clips."""
    B, T, J, _ = x2d.shape
    apply = np.ones(B, bool) if apply is None else np.asarray(apply, bool)
    size = person_size(x2d)[:, None, None, None]  # (B, 1, 1, 1)
    sig = rng.uniform(*cfg.noise_sigma, (B, 1, 1, 1)) * size * JOINT_NOISE[None, None, :, None]
    out = x2d + rng.normal(size=x2d.shape) * sig
    off = rng.normal(size=(B, 1, J, 2)) * JOINT_OFFSET[None, None, :, None] * size
    out = out + off * rng.uniform(*cfg.offset_scale, (B, 1, 1, 1))
    # gross errors: a joint thrown far off for one frame
    gross = rng.random((B, T, J)) < cfg.p_gross
    ang = rng.uniform(0, 2 * np.pi, (B, T, J))
    mag = rng.uniform(*cfg.gross_size, (B, T, J)) * size[..., 0]
    out = out + gross[..., None] * np.stack([np.cos(ang), np.sin(ang)], -1) * mag[..., None]
    # left/right limb swaps for single frames
    for group in (LEGS, ARMS):
        perm = np.arange(J)
        half = len(group) // 2
        perm[list(group[:half])] = group[half:]
        perm[list(group[half:])] = group[:half]
        swap = (rng.random((B, T)) < cfg.p_swap)[..., None, None]
        out = np.where(swap, out[:, :, perm], out)
    # low-confidence runs, repaired by interpolation as the 2D stage does
    start = rng.random((B, T, J)) < cfg.p_lowconf
    run = rng.integers(1, cfg.lowconf_max_len + 1, (B, T, J))
    missing = np.zeros((B, T, J), bool)
    for k in range(min(cfg.lowconf_max_len, T)):  # over run offsets, not frames
        m = start & (run > k)
        missing[:, k:] |= m[:, :T - k]
    out = interpolate_missing(out, missing)
    return np.where(apply[:, None, None, None], out, x2d).astype(np.float32)


def error_model_noise(rng: np.random.Generator, clean: np.ndarray, noisy: np.ndarray, cfg: AugmentConfig,
                      fps: np.ndarray, size: np.ndarray) -> np.ndarray:
    """``noisy`` (B, T, 17, 2) with a fraction ``cfg.p_error_model`` of its clips replaced by their
    ``clean`` 2D corrupted by ``cfg.error_model`` (:mod:`hotdemo.train.errors2d`; several names
    joined by ``+``: one picked per clip) at a per-clip severity; ``fps`` (B,), ``size`` (B, 2)."""
    from hotdemo.train.errors2d import apply_error_model

    B = len(clean)
    names = [n for n in cfg.error_model.split("+") if n]
    sel = rng.random(B) < cfg.p_error_model
    which = rng.integers(0, len(names), B)
    sev = rng.uniform(*cfg.error_severity, B)
    out = noisy.copy()
    for k, name in enumerate(names):
        idx = np.flatnonzero(sel & (which == k))
        if len(idx):
            out[idx] = apply_error_model(name, rng, clean[idx], fps=fps[idx], severity=sev[idx],
                                         image_size=size[idx])
    return out


# ----------------------------------------------------------------------------- batches
def project_cameras(cam: Dict[str, np.ndarray]) -> np.ndarray:
    """Pixels (B, T, 17, 2) of ``cam['x_cam']`` with per-clip intrinsics (distortion if given)."""
    e = (slice(None), None, None)
    radial = cam.get("radial")
    tang = cam.get("tangential")
    if radial is None:
        return project(cam["x_cam"], cam["focal"][e], cam["center"][e], clamp=False).astype(np.float32)
    return project(cam["x_cam"], cam["focal"][e], cam["center"][e], radial[e], tang[e]).astype(np.float32)


def make_batch(
    rng: np.random.Generator,
    data: MotionData,
    seqs: Sequence[SequenceInfo],
    cameras: Dict[str, List[Camera]],
    batch: int,
    frames: int,
    cfg: AugmentConfig,
) -> Tuple[np.ndarray, np.ndarray]:
    """One training batch: inputs (B, T, 17, 2) screen-normalised, targets (B, T, 17, 3) metres root-relative."""
    speed = np.where(
        rng.random(batch) < cfg.p_speed,
        np.exp(rng.uniform(np.log(cfg.speed_range[0]), np.log(cfg.speed_range[1]), batch)),
        1.0,
    )
    pos, subjects = sample_clips(rng, data, seqs, batch, frames, speed)
    pos = scale_bones(rng, pos, cfg)
    real = (rng.random(batch) < cfg.p_real_camera) & np.array([s in cameras for s in subjects])
    x2d = np.empty(pos.shape[:3] + (2,), np.float32)
    x3d = np.empty(pos.shape, np.float32)
    size = np.empty((batch, 2))
    flip = rng.random(batch) < cfg.p_flip
    for sel, is_real in ((real, True), (~real, False)):
        if not sel.any():
            continue
        idx = np.flatnonzero(sel)
        if is_real:
            cam = real_cameras(rng, pos[idx], [subjects[i] for i in idx], cameras)
        else:
            cam = virtual_cameras(rng, pos[idx], cfg)
        cam["x_cam"] = flip_camera_frame(cam["x_cam"], flip[idx])
        x2d[idx] = project_cameras(cam)
        x3d[idx] = cam["x_cam"]
        size[idx] = cam["size"]
    clean = x2d
    x2d = detector_noise(rng, x2d, cfg, apply=rng.random(batch) < cfg.p_noise)
    if cfg.p_error_model > 0:  # no extra draws otherwise: older configs reproduce their batches
        x2d = error_model_noise(rng, clean, x2d, cfg, fps=50.0 / speed, size=size)
    inp = normalize_screen_coordinates(x2d, size[:, None, None, 0], size[:, None, None, 1]).astype(np.float32)
    target = (x3d - x3d[:, :, :1]).astype(np.float32)
    return inp, target
