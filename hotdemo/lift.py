"""2D -> 3D lifting of whole sequences with any registered lifter (HoT-MixSTE by default).

:class:`Lifter` runs a model over sequences of any length, following the model family's spec
(:class:`hotdemo.models.spec.LifterSpec`):

* screen normalisation as the official HoT demo and MotionBERT's Human3.6M setting:
  ``X / w * 2 - [1, h / w]``; families with 3 input channels (MotionBERT) also get the 2D
  confidence (1 where none is given);
* flip augmentation (on by default): the input is mirrored (x negated, Human3.6M left/right
  joints swapped), lifted, mirrored back and averaged with the plain prediction;
* windows of the model's frame count. With ``overlap`` on (default, half a window), windows
  overlap and are blended with a smooth weight that fades out towards each window's ends, so
  there is no seam at window borders; clips shorter than a window are edge-padded, centred.
  With ``overlap=False`` the windows are placed exactly as the official demo
  (``vis.py get_pose3D``) places them: ``T // F + 1`` non-overlapping windows, centred on the
  clip, edge-padded at both ends; then (with ``smooth=False``) the output is the official demo's;
* seq2frame models (``tpc_mixste``) run one window centred on every frame (batched) and keep the
  centre frame; the flipped pass reuses what the plain pass decided (the kept frames), as the
  official test does;
* root handling (``root``): "zero" sets the pelvis to 0 (official demo), "subtract" subtracts the
  predicted pelvis (weights trained by hotdemo's trainer); the checkpoint reader says which;
* output units (``output``): "metres" as is; "normalised" (MotionBERT's 2.5D units, which carry
  no absolute scale) is rescaled per sequence so that the median over frames of the summed
  length of the 16 bones equals :data:`REFERENCE_BONE_SUM_M` (the Human3.6M S1 skeleton);
* optional light temporal Gaussian smoothing of the output (``smooth``).

Output: metres, root-relative (pelvis at 0), camera frame. Everything runs in batches under
:func:`torch.inference_mode`, fp16 autocast on CUDA, and is deterministic for a given device.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional, Tuple, Union

import numpy as np
import torch
import torch.nn as nn

from .errors import InputError, WeightsError
from .skeletons import H36M17, get_skeleton
from .types import Track2D, Track3D

#: default overlap of consecutive windows, as a fraction of the window length
DEFAULT_OVERLAP = 0.5
#: default sigma (frames) of the output's temporal Gaussian smoothing
DEFAULT_SMOOTH_SIGMA = 1.0
#: summed length (metres) of the 16 Human3.6M-17 bones of the S1 skeleton (../shared's motion data,
#: every frame): the body size that "normalised" (MotionBERT 2.5D) output is rescaled to
REFERENCE_BONE_SUM_M = 4.15
#: size of the random-weights hot_mixste used with ``allow_untrained`` (plumbing tests only);
#: other families use their spec's ``tiny`` config
UNTRAINED_CONFIG = dict(frames=81, dim=64, depth=4, heads=4, token_num=27, layer_index=2)

_FLIP_PERM = torch.from_numpy(np.asarray(H36M17.flip_permutation, dtype=np.int64))


def normalize_screen_coordinates(kp: np.ndarray, width: float, height: float) -> np.ndarray:
    """Pixels -> [-1, 1] along x with the aspect ratio kept (the official demo's formula)."""
    return kp / width * 2 - np.array([1.0, height / width])


def flip_h36m(x: torch.Tensor) -> torch.Tensor:
    """Mirror Human3.6M joints (..., 17, C): negate x and swap left/right joints."""
    x = x[..., _FLIP_PERM, :].clone()
    x[..., 0] = -x[..., 0]
    return x


def gaussian_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian filter along axis 0 (time) with edge-reflecting padding; ``sigma`` in frames."""
    if sigma <= 0 or len(x) < 2:
        return x
    r = max(1, int(round(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    flat = torch.from_numpy(np.ascontiguousarray(x.reshape(len(x), -1).T, dtype=np.float64))[:, None]
    pad_mode = "reflect" if len(x) > r else "replicate"
    flat = torch.nn.functional.pad(flat, (r, r), mode=pad_mode)
    out = torch.nn.functional.conv1d(flat, torch.from_numpy(k)[None, None])[:, 0]
    return out.T.numpy().reshape(x.shape).astype(x.dtype)


def window_weight(frames: int) -> np.ndarray:
    """Blending weight over a window: sin^2 taper, positive everywhere, largest in the middle."""
    return np.sin(np.pi * (np.arange(frames) + 0.5) / frames) ** 2


def window_starts(T: int, F: int, overlap: Union[bool, float, int]) -> Tuple[np.ndarray, bool]:
    """First frame of every window over ``T`` frames (may be negative: edge padding), and
    whether the windows overlap (blended) or tile (official placement).

    ``overlap``: False / 0 -> the official demo's tiling; True -> :data:`DEFAULT_OVERLAP`;
    a float in (0, 1) -> that fraction of a window; an int >= 1 -> the stride in frames.
    """
    if overlap is False or (not isinstance(overlap, bool) and overlap == 0):
        n = T // F + 1
        offset = (n * F - T) // 2
        return np.arange(n) * F - offset, False
    if overlap is True:
        stride = F - int(round(F * DEFAULT_OVERLAP))
    elif isinstance(overlap, float) and 0 < overlap < 1:
        stride = F - int(round(F * overlap))
    elif isinstance(overlap, int) and overlap >= 1:
        stride = min(overlap, F)
    else:
        raise ValueError(f"overlap must be a bool, a fraction in (0, 1) or a stride >= 1, got {overlap!r}")
    stride = max(1, stride)
    if T <= F:
        return np.array([-((F - T) // 2)]), True
    starts = np.arange(0, T - F, stride)
    return np.unique(np.append(starts, T - F)), True


class Lifter:
    """Lifts Human3.6M-17 2D keypoint sequences to 3D with any registered lifter.

    ``model``: built by :func:`hotdemo.models.build_model` (weights loaded). ``device``: "cpu",
    "cuda", "cuda:N" or "auto". ``flip``: flip-augmentation averaging. ``overlap``: see
    :func:`window_starts`. ``batch_size``: windows per forward pass (each is run twice with
    flip). ``half``: fp16 autocast, default on for CUDA. ``smooth``: False, True (sigma
    :data:`DEFAULT_SMOOTH_SIGMA` frames) or a sigma in frames. ``root`` / ``output``: root
    handling and output units (module docstring); None: the family's official convention.
    """

    def __init__(self, model: nn.Module, *, device: str = "auto", flip: bool = True,
                 overlap: Union[bool, float, int] = True, batch_size: int = 8, half: Optional[bool] = None,
                 smooth: Union[bool, float] = True, root: Optional[str] = None,
                 output: Optional[str] = None) -> None:
        from .models import LIFTERS

        #: the family's spec (None for a model that is not registered: then the model's own
        #: ``seq2seq`` attribute, 2 input channels, root "zero", metres)
        spec = next((s for s in LIFTERS.values() if type(model) is s.model), None)
        self.spec = spec
        root = (spec.root if spec else "zero") if root is None else root
        if root not in ("zero", "subtract"):
            raise ValueError(f"root must be 'zero' or 'subtract', got {root!r}")
        #: how the output is made root-relative: "zero" sets the pelvis to 0 as the official demo
        #: does (models trained with a root-relative target learn a pelvis near 0); "subtract"
        #: subtracts the predicted pelvis from every joint (models trained on root-subtracted
        #: predictions, as hotdemo's trainer does, have an arbitrary predicted pelvis).
        self.root = root
        output = (spec.output if spec else "metres") if output is None else output
        if output not in ("metres", "normalised"):
            raise ValueError(f"output must be 'metres' or 'normalised', got {output!r}")
        self.output = output
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.frames: int = int(model.cfg.frames)
        self.seq2seq: bool = spec.seq2seq if spec else bool(getattr(model, "seq2seq", True))
        self.channels: int = spec.input_channels if spec else 2
        self.flip = bool(flip)
        window_starts(self.frames + 1, self.frames, overlap)  # validate early
        self.overlap = overlap
        self.batch_size = max(1, int(batch_size))
        self.half = (self.device.type == "cuda") if half is None else bool(half and self.device.type == "cuda")
        if smooth is True:
            self.smooth_sigma = DEFAULT_SMOOTH_SIGMA
        elif smooth is False or smooth is None:
            self.smooth_sigma = 0.0
        else:
            self.smooth_sigma = float(smooth)

    # ---------------------------------------------------------------- model calls
    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """Windows (N, F, 17, C) -> 3D (N, F, 17, 3) for seq2seq, (N, 1, 17, 3) for seq2frame,
        flip-averaged when ``flip``."""
        m = self.model
        if self.seq2seq:
            if not self.flip:
                return m(x).float()
            y = m(torch.cat([x, flip_h36m(x)])).float()
            y, yf = y[: len(x)], y[len(x):]
            return (y + flip_h36m(yf)) / 2
        y, reuse = m.predict_centre(x)
        if not self.flip:
            return y.float()
        yf, _ = m.predict_centre(flip_h36m(x), reuse)
        return (y.float() + flip_h36m(yf.float())) / 2

    def _run_windows(self, xn: torch.Tensor, idx: np.ndarray) -> torch.Tensor:
        """Gather windows ``xn[idx]`` (idx (W, F), clipped frame indices) and run them in batches."""
        outs = []
        idx_t = torch.from_numpy(idx).to(self.device)
        autocast = torch.autocast("cuda", dtype=torch.float16) if self.half else _null()
        with autocast:
            for b in range(0, len(idx), self.batch_size):
                outs.append(self._forward(xn[idx_t[b: b + self.batch_size]]))
        return torch.cat(outs)

    # ---------------------------------------------------------------- public API
    @torch.inference_mode()
    def lift_sequence(self, kp: np.ndarray, width: float, height: float,
                      scores: Optional[np.ndarray] = None) -> np.ndarray:
        """(T, 17, 2) Human3.6M-order pixels -> (T, 17, 3) float32 metres, root-relative, camera frame.

        ``scores`` (T, 17): the 2D confidences, used by families with a confidence input
        (MotionBERT); 1 where not given."""
        kp = np.asarray(kp)
        if kp.ndim != 3 or kp.shape[1:] != (17, 2):
            raise ValueError(f"expected keypoints of shape (T, 17, 2), got {kp.shape}")
        if width <= 0 or height <= 0:
            raise ValueError(f"width and height must be positive, got {width}x{height}")
        T, F = len(kp), self.frames
        if T == 0:
            return np.zeros((0, 17, 3), np.float32)
        xn = normalize_screen_coordinates(kp.astype(np.float64), width, height).astype(np.float32)
        if self.channels == 3:
            conf = np.ones((T, 17), np.float32) if scores is None else np.asarray(scores, np.float32)
            if conf.shape != (T, 17):
                raise ValueError(f"expected scores of shape ({T}, 17), got {conf.shape}")
            xn = np.concatenate([xn, np.clip(conf, 0.0, 1.0)[..., None]], axis=-1)
        xn = torch.from_numpy(xn).to(self.device)
        if self.seq2seq:
            starts, blended = window_starts(T, F, self.overlap)
            pos = starts[:, None] + np.arange(F)[None, :]  # (W, F) frame of each window slot
            y = self._run_windows(xn, np.clip(pos, 0, T - 1))  # (W, F, 17, 3)
            valid = (pos >= 0) & (pos < T)
            w = (window_weight(F)[None, :] if blended else np.ones((1, F))) * valid
            w_t = torch.from_numpy(w.astype(np.float32)).to(y.device)
            dest = torch.from_numpy(np.clip(pos, 0, T - 1).reshape(-1)).to(y.device)
            acc = torch.zeros((T, 17, 3), device=y.device).index_add_(
                0, dest, (y * w_t[:, :, None, None]).reshape(-1, 17, 3))
            norm = torch.zeros(T, device=y.device).index_add_(0, dest, w_t.reshape(-1))
            out = acc / norm[:, None, None]
        else:
            c = (F - 1) // 2
            pos = np.arange(T)[:, None] - c + np.arange(F)[None, :]
            out = self._run_windows(xn, np.clip(pos, 0, T - 1))[:, 0]
        out = out.cpu().numpy().astype(np.float32)
        if self.root == "subtract":
            out -= out[:, :1]
        if self.smooth_sigma > 0:
            out = gaussian_smooth(out, self.smooth_sigma)
        out[:, 0, :] = 0.0
        if self.output == "normalised":
            out *= body_scale(out)
        return out

    def __call__(self, track: Track2D, width: float, height: float) -> Track3D:
        """Lift one Human3.6M-17 track (convert COCO tracks first, e.g. ``hotdemo.track.to_h36m``)."""
        if track.joint_format != "h36m17":
            raise ValueError(f"the lifter needs Human3.6M-17 keypoints, got {track.joint_format!r}; "
                             "convert the track first (hotdemo.track.to_h36m)")
        joints = self.lift_sequence(track.keypoints, width, height, scores=track.scores)
        return Track3D(track_id=track.track_id, frames=np.asarray(track.frames, np.int64), joints_cam=joints,
                       joint_format="h36m17")


def body_scale(pose: np.ndarray) -> float:
    """Factor that brings root-relative poses (T, 17, 3) in arbitrary units to metres: the median
    over frames of the summed bone length maps to :data:`REFERENCE_BONE_SUM_M`."""
    parents = np.asarray(H36M17.parents)
    child = np.flatnonzero(parents >= 0)
    size = float(np.median(np.linalg.norm(pose[:, child] - pose[:, parents[child]], axis=-1).sum(axis=-1)))
    return REFERENCE_BONE_SUM_M / size if size > 1e-9 else 1.0


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# -------------------------------------------------------------------- loading
def default_weights_path() -> Path:
    """Where the shipped HoT-MixSTE weights live (:func:`hotdemo.paths.bundled_lifter_path`)."""
    from .paths import bundled_lifter_path

    return bundled_lifter_path()


def _is_checkpoint_path(s: str) -> bool:
    return s.lower().endswith((".pt", ".pth", ".ckpt", ".bin")) or os.sep in s or Path(s).is_file()


def load_lifter(name_or_path: Optional[str] = None, checkpoint: Optional[str] = None, *, device: str = "auto",
                allow_untrained: bool = False, **opts) -> Lifter:
    """A ready :class:`Lifter`.

    ``name_or_path``: a lifter family (``hotdemo lifters``; default "hot_mixste") or a checkpoint
    file. ``checkpoint``: weights for the named family: any file
    :func:`hotdemo.checkpoint.read_lifter_checkpoint` reads (official layouts, size inferred from
    the shapes; hotdemo's files, config and root handling stored). Without a checkpoint,
    "hot_mixste" uses the shipped weights (:func:`default_weights_path`); if there are none,
    :class:`~hotdemo.errors.WeightsError` unless ``allow_untrained`` (random weights of the
    family's tiny config, for testing the plumbing only). ``opts`` go to :class:`Lifter`; root
    handling and output units come from the checkpoint unless given.
    """
    from .checkpoint import read_lifter_checkpoint
    from .models import LIFTERS, build_model, get_spec

    if name_or_path is not None and name_or_path not in LIFTERS:
        if not _is_checkpoint_path(name_or_path):
            raise InputError(f"unknown lifter {name_or_path!r}; use one of {', '.join(LIFTERS)} or a .pt/.pth file")
        if checkpoint is not None:
            raise InputError("give the checkpoint either as --lifter FILE or as --lifter-checkpoint FILE, not both")
        name, checkpoint = None, name_or_path
    else:
        name = name_or_path
    if checkpoint is None:
        name = name or "hot_mixste"
        path = default_weights_path()
        if name == "hot_mixste" and path.is_file():
            checkpoint = str(path)
    if checkpoint is not None:
        ck = read_lifter_checkpoint(checkpoint, name)
        model = ck.build()
        opts.setdefault("root", ck.root)
        opts.setdefault("output", ck.output)
    elif allow_untrained:
        torch.manual_seed(0)
        model = build_model(name, **(UNTRAINED_CONFIG if name == "hot_mixste" else dict(get_spec(name).tiny)))
    else:
        path = default_weights_path()
        what = f"no trained weights for {name} were found" + (f" ({path} is missing)" if name == "hot_mixste" else "")
        raise WeightsError(f"{what}; pass --lifter-checkpoint FILE (e.g. an official .pth), "
                           "or --allow-untrained to run random weights for testing")
    return Lifter(model, device=device, **opts)


# -------------------------------------------------------------------- keypoint files
def load_keypoints(path: Union[str, os.PathLike]) -> Tuple[List[Track2D], int, int, float]:
    """Read 2D keypoints for ``hotdemo lift``: ``(tracks, width, height, fps)``.

    Accepts hotdemo's own 2D export (``.json``, or ``.npz`` with ``schema_version``) and a plain
    ``.npz`` with ``keypoints`` (T, 17, 2) pixels, ``width``, ``height`` and optionally
    ``scores`` (T, 17), ``fps`` and ``joint_format`` ("coco17", the default, or "h36m17").
    Tracks keep their joint format (COCO tracks are converted before lifting). ``fps`` is 0.0
    when unknown.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p} is a folder; expected a keypoints file (.json or .npz)")
    suffix = p.suffix.lower()
    if suffix == ".json":
        return _load_export(p)
    if suffix != ".npz":
        raise InputError(f"{p}: unsupported keypoints file; expected .json (hotdemo export) or .npz")
    try:
        with np.load(p, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except Exception as e:
        raise InputError(f"{p}: cannot read as an NPZ file ({type(e).__name__})") from None
    if "schema_version" in data:
        return _load_export(p)
    return _load_plain_npz(p, data)


def _load_export(p: Path) -> Tuple[List[Track2D], int, int, float]:
    from .errors import HotdemoError
    from .export import load_tracks2d

    try:
        tracks, info = load_tracks2d(p)
    except HotdemoError:
        raise
    except Exception as e:
        raise InputError(f"{p}: not a readable hotdemo export ({type(e).__name__}: {e})") from None
    return list(tracks), int(info.width), int(info.height), float(info.fps or 0.0)


def _load_plain_npz(p: Path, data: dict) -> Tuple[List[Track2D], int, int, float]:
    missing = [k for k in ("keypoints", "width", "height") if k not in data]
    if missing:
        raise InputError(f"{p}: missing {', '.join(missing)} (a plain keypoints NPZ needs keypoints (T, 17, 2) "
                         "pixels, width and height)")
    kp = np.asarray(data["keypoints"])
    if kp.ndim != 3 or kp.shape[1:] != (17, 2) or not np.issubdtype(kp.dtype, np.number):
        raise InputError(f"{p}: keypoints must be a numeric (T, 17, 2) array, got shape {kp.shape}")
    kp = kp.astype(np.float32)
    if not np.isfinite(kp).all():
        raise InputError(f"{p}: keypoints contain NaN or infinite values")
    T = len(kp)
    if T == 0:
        raise InputError(f"{p}: keypoints hold no frames")
    try:
        width, height = float(np.asarray(data["width"]).reshape(())), float(np.asarray(data["height"]).reshape(()))
        fps = float(np.asarray(data["fps"]).reshape(())) if "fps" in data else 0.0
    except (ValueError, TypeError):
        raise InputError(f"{p}: width, height and fps must be single numbers") from None
    if not (width > 0 and height > 0):
        raise InputError(f"{p}: width and height must be positive, got {width} x {height}")
    fmt = str(np.asarray(data["joint_format"]).reshape(())) if "joint_format" in data else "coco17"
    if fmt not in ("coco17", "h36m17"):
        raise InputError(f"{p}: joint_format must be 'coco17' or 'h36m17', got {fmt!r}")
    if "scores" in data:
        scores = np.asarray(data["scores"], dtype=np.float32)
        if scores.shape != (T, 17):
            raise InputError(f"{p}: scores must have shape ({T}, 17), got {scores.shape}")
    else:
        scores = np.ones((T, 17), np.float32)
    get_skeleton(fmt)
    boxes = np.concatenate([kp.min(axis=1), kp.max(axis=1)], axis=1).astype(np.float32)
    track = Track2D(track_id=0, frames=np.arange(T, dtype=np.int64), keypoints=kp, scores=scores, boxes=boxes,
                    joint_format=fmt)
    return [track], int(round(width)), int(round(height)), fps
