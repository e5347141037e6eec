"""2D -> 3D lifting of whole sequences with any registered lifter (HoT-MixSTE by default).

:class:`Lifter` runs a model over sequences of any length, following the model family's spec
(:class:`hotdemo.lift.spec.LifterSpec`):

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
* agreement with the 2D (``reproject``, on by default; :mod:`hotdemo.post.reproject`): how far the
  track's 2D can be trusted is measured from the track (its frame-to-frame jitter, and the
  lifter's reprojection residual at low frequency, which slow and static 2D errors leave); a
  static 2D bias the lifter did not follow is removed from the 2D and the track lifted again
  (where that residual persists), and the output's image-plane components are moved onto the
  2D's pinhole back-projection (in proportion to the trust);
* constant bone lengths (``bones``, on by default): each bone is held at its median length over
  the sequence, mostly by correcting its depth (:func:`hotdemo.post.bones.fit_bone_lengths`); with
  ``reproject``, alignment and fit run twice in turn (corrected depths move the back-projection)
  and the change they make is smoothed in time (:func:`hotdemo.post.reproject.agree_with_2d`);
* optional light temporal Gaussian smoothing of the output (``smooth``).

Output: metres, root-relative (pelvis at 0), camera frame. Everything runs in batches under
:func:`torch.inference_mode`, fp16 autocast on CUDA, and is deterministic for a given device.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Tuple, Union

import numpy as np
import torch
import torch.nn as nn

from hotdemo.post import reproject as _rp
from hotdemo.post.bones import DEFAULT_DEPTH_WEIGHT, DEFAULT_SIGN_MARGIN, fit_bone_lengths
from hotdemo.core.device import resolve_device
from hotdemo.core.errors import InputError, WeightsError
from hotdemo.core.skeletons import H36M17
from hotdemo.core.types import Track2D, Track3D

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

    ``model``: built by :func:`hotdemo.lift.registry.build_model` (weights loaded). ``device``: "cpu",
    "cuda", "cuda:N" or "auto". ``flip``: flip-augmentation averaging. ``overlap``: see
    :func:`window_starts`. ``batch_size``: windows per forward pass (each is run twice with
    flip). ``half``: fp16 autocast, default on for CUDA. ``smooth``: False, True (sigma
    :data:`DEFAULT_SMOOTH_SIGMA` frames) or a sigma in frames. ``bones``: hold each bone at its
    median length over the sequence (:func:`hotdemo.post.bones.fit_bone_lengths`): True (depth weight
    :data:`hotdemo.post.bones.DEFAULT_DEPTH_WEIGHT`, sign margin :data:`hotdemo.post.bones.DEFAULT_SIGN_MARGIN`),
    False, or a depth weight in (0, 1]. ``reproject``: agreement with the 2D (module docstring,
    :mod:`hotdemo.post.reproject`).
    ``root`` / ``output``: root handling and output units (module docstring); None: the
    family's official convention.
    """

    def __init__(self, model: nn.Module, *, device: str = "auto", flip: bool = True,
                 overlap: Union[bool, float, int] = True, batch_size: int = 8, half: Optional[bool] = None,
                 smooth: Union[bool, float] = True, root: Optional[str] = None,
                 output: Optional[str] = None, bones: Union[bool, float] = True,
                 reproject: bool = True) -> None:
        from hotdemo.lift.registry import LIFTERS

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
        self.device = torch.device(resolve_device(device))
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
        #: depth weight and sign margin of the constant-bone-length fit (weight 0: off)
        self.bone_depth_weight = DEFAULT_DEPTH_WEIGHT if bones is True else float(bones or 0.0)
        self.bone_sign_margin = DEFAULT_SIGN_MARGIN
        if not 0.0 <= self.bone_depth_weight <= 1.0:
            raise ValueError(f"bones must be a bool or a depth weight in (0, 1], got {bones!r}")
        self.reproject = bool(reproject)
        #: jitter at which the 2D gets weight 1/2 (:func:`hotdemo.post.reproject.trust_2d`)
        self.trust_jitter = _rp.DEFAULT_TRUST_JITTER
        #: low-frequency reprojection residual (metres) at which the 2D gets weight 1/2, and the
        #: sigma (frames) of its low-pass (:func:`hotdemo.post.reproject.residual_trust`); None: off
        self.trust_residual = _rp.DEFAULT_TRUST_RESIDUAL
        #: with ``reproject``: remove the static 2D bias the first run did not follow and lift again
        #: (:meth:`debias`); False: one model run, the alignment only
        self.debias_2d = True
        #: :meth:`debias` weighs the bias removal by ``1 -`` the median over frames of the
        #: low-frequency trust (True), or by ``1 -`` the jitter trust (False, session 13)
        self.debias_residual = True
        #: the residual (metres) at which that removal's trust is 1/2 (None: ``trust_residual``)
        self.debias_residual_at: Optional[float] = _rp.DEFAULT_DEBIAS_RESIDUAL
        self.trust_residual_sigma = _rp.DEFAULT_RESIDUAL_SIGMA
        self.trust_residual_length_sigma = _rp.DEFAULT_RESIDUAL_LENGTH_SIGMA

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

    def _run_windows(self, xn: torch.Tensor, idx: np.ndarray,
                     progress: Optional[Callable[[int], None]] = None) -> torch.Tensor:
        """Gather windows ``xn[idx]`` (idx (W, F), clipped frame indices) and run them in batches;
        ``progress(n)`` (optional) is told the frames of the sequence done after each batch."""
        outs = []
        idx_t = torch.from_numpy(idx).to(self.device)
        autocast = torch.autocast("cuda", dtype=torch.float16) if self.half else _null()
        T, W, told = len(xn), len(idx), 0
        with autocast:
            for b in range(0, W, self.batch_size):
                outs.append(self._forward(xn[idx_t[b: b + self.batch_size]]))
                if progress is not None:
                    done = T * min(b + self.batch_size, W) // W
                    if done > told:
                        progress(done - told)
                        told = done
        return torch.cat(outs)

    # ---------------------------------------------------------------- public API
    def lift_sequence(self, kp: np.ndarray, width: float, height: float,
                      progress: Optional[Callable[[int], None]] = None,
                      scores: Optional[np.ndarray] = None) -> np.ndarray:
        """(T, 17, 2) Human3.6M-order pixels -> (T, 17, 3) float32 metres, root-relative, camera frame.

        ``progress(n)``: called as the windows run, with the number of frames newly done (they
        add up to T): a per-frame progress bar. ``scores`` (T, 17): the 2D confidences, used by
        families with a confidence input (MotionBERT); 1 where not given. Without ``reproject``
        the same as ``finish(model_output(...))``; with it, the model may run a second time on
        the 2D with its static bias removed (:meth:`debias`), each run reporting half the
        progress."""
        kp = np.asarray(kp)
        if not (self.reproject and len(kp) >= _rp.MIN_FRAMES):
            return self.finish(self.model_output(kp, width, height, progress, scores), kp, width, height, scores)
        halves = _Halves(progress)
        out = self.model_output(kp, width, height, halves, scores)
        kp2 = self.debias(out, kp, width, height) if self.debias_2d else kp
        if kp2 is not kp:
            out = self.model_output(kp2, width, height, halves, scores)
        halves.finish(len(kp))
        return self.finish(out, kp2, width, height, scores)

    def debias(self, out: np.ndarray, kp: np.ndarray, width: float, height: float) -> np.ndarray:
        """``kp`` (T, 17, 2) less the static 2D bias that :meth:`model_output` ``out`` did not
        follow (:func:`hotdemo.post.reproject.static_offsets`), joint by joint in proportion to
        ``1 - trust`` (:func:`hotdemo.post.reproject.trust_2d`); ``kp`` itself (the same object) where
        the 2D is trusted (every joint's ``1 - trust`` under 0.05): then nothing needs lifting again."""
        if self.debias_residual:  # a bias shows as a residual that persists, whatever the jitter
            half = self.debias_residual_at or self.trust_residual
            trust = np.median(_rp.residual_trust(out, kp, width, height, half,
                                                 self.trust_residual_sigma, self.trust_residual_length_sigma),
                              axis=0)
        else:
            trust = _rp.trust_2d(kp, self.trust_jitter)
        distrust = 1.0 - trust
        if distrust.max() < 0.05:
            return kp
        off = _rp.static_offsets(out, kp, width, height)
        return (kp - distrust[:, None] * off).astype(kp.dtype)

    @torch.inference_mode()
    def model_output(self, kp: np.ndarray, width: float, height: float,
                     progress: Optional[Callable[[int], None]] = None,
                     scores: Optional[np.ndarray] = None) -> np.ndarray:
        """The model's output for a whole sequence, (T, 17, 3) float32 in the model's camera frame:
        windows run (with flip) and blended, nothing else (see :meth:`finish`). Arguments as
        :meth:`lift_sequence`."""
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
            y = self._run_windows(xn, np.clip(pos, 0, T - 1), progress)  # (W, F, 17, 3)
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
            out = self._run_windows(xn, np.clip(pos, 0, T - 1), progress)[:, 0]
        return out.cpu().numpy().astype(np.float32)

    def finish(self, out: np.ndarray, kp: Optional[np.ndarray] = None, width: Optional[float] = None,
               height: Optional[float] = None, scores: Optional[np.ndarray] = None) -> np.ndarray:
        """:meth:`model_output` (T, 17, 3) -> what :meth:`lift_sequence` returns: root handling,
        agreement with the 2D ``kp`` (T, 17, 2) pixels in a ``width`` x ``height`` image (when
        ``reproject`` and ``kp`` is given; joints whose ``scores`` are under 0.3, repaired by the
        2D stage, are not aligned), constant bone lengths, smoothing, pelvis at 0, units (from
        this lifter's settings)."""
        out = np.array(out, np.float32)
        if self.root == "subtract":
            out -= out[:, :1]

        def fit(x: np.ndarray) -> np.ndarray:
            if self.bone_depth_weight <= 0:
                return x
            return fit_bone_lengths(x, H36M17.parents, depth_weight=self.bone_depth_weight,
                                    sign_margin=self.bone_sign_margin)

        if self.reproject and kp is not None and len(out) >= _rp.MIN_FRAMES:
            weight = _rp.trust_2d(kp, self.trust_jitter)[None, :] * _rp.residual_trust(
                out, kp, width, height, self.trust_residual, self.trust_residual_sigma,
                self.trust_residual_length_sigma)
            if scores is not None:
                weight = weight * (np.asarray(scores) >= 0.3)
            out = _rp.agree_with_2d(out, kp, width, height, weight, fit)
        else:
            out = fit(out)
        if self.smooth_sigma > 0:
            out = gaussian_smooth(out, self.smooth_sigma)
        out[:, 0, :] = 0.0
        if self.output == "normalised":
            out *= body_scale(out)
        return out

    def __call__(self, track: Track2D, width: float, height: float,
                 progress: Optional[Callable[[int], None]] = None) -> Track3D:
        """Lift one Human3.6M-17 track (convert COCO tracks first, e.g. ``hotdemo.detect.track.to_h36m``);
        ``progress``: see :meth:`lift_sequence`."""
        if track.joint_format != "h36m17":
            raise ValueError(f"the lifter needs Human3.6M-17 keypoints, got {track.joint_format!r}; "
                             "convert the track first (hotdemo.detect.track.to_h36m)")
        joints = self.lift_sequence(track.keypoints, width, height, progress, scores=track.scores)
        return Track3D(track_id=track.track_id, frames=np.asarray(track.frames, np.int64), joints_cam=joints,
                       joint_format="h36m17")


def body_scale(pose: np.ndarray) -> float:
    """Factor that brings root-relative poses (T, 17, 3) in arbitrary units to metres: the median
    over frames of the summed bone length maps to :data:`REFERENCE_BONE_SUM_M`."""
    parents = np.asarray(H36M17.parents)
    child = np.flatnonzero(parents >= 0)
    size = float(np.median(np.linalg.norm(pose[:, child] - pose[:, parents[child]], axis=-1).sum(axis=-1)))
    return REFERENCE_BONE_SUM_M / size if size > 1e-9 else 1.0


class _Halves:
    """A per-frame progress callback shared by up to two model runs over the same T frames: each
    run's frames count half."""

    def __init__(self, progress: Optional[Callable[[int], None]]):
        self.progress, self.told, self.seen = progress, 0, 0

    def __call__(self, n: int) -> None:
        self.seen += n
        k = self.seen // 2 - self.told
        if self.progress is not None and k > 0:
            self.progress(k)
            self.told += k

    def finish(self, T: int) -> None:
        """Report whatever is left of the T frames (the second run may not happen)."""
        if self.progress is not None and T - self.told > 0:
            self.progress(T - self.told)
        self.told = T


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# -------------------------------------------------------------------- loading
def default_weights_path() -> Path:
    """Where the shipped HoT-MixSTE weights live (:func:`hotdemo.core.paths.bundled_lifter_path`)."""
    from hotdemo.core.paths import bundled_lifter_path

    return bundled_lifter_path()


def _is_checkpoint_path(s: str) -> bool:
    from hotdemo.core.paths import is_model_path

    return is_model_path(s)  # not a family name (load_lifter checks those first)


def load_lifter(name_or_path: Optional[str] = None, checkpoint: Optional[str] = None, *, device: str = "auto",
                allow_untrained: bool = False, tokens: Optional[int] = None, **opts) -> Lifter:
    """A ready :class:`Lifter`.

    ``name_or_path``: a lifter family (``hotdemo lifters``; default "hot_mixste") or a checkpoint
    file. ``checkpoint``: weights for the named family: any file
    :func:`hotdemo.lift.checkpoint.read_lifter_checkpoint` reads (official layouts, size inferred from
    the shapes; hotdemo's files, config and root handling stored). Without a checkpoint,
    "hot_mixste" uses the shipped weights (:func:`default_weights_path`); if there are none,
    :class:`~hotdemo.core.errors.WeightsError` unless ``allow_untrained`` (random weights of the
    family's tiny config, for testing the plumbing only). ``tokens``: for a HoT lifter, the number
    of tokens kept after pruning (``--tokens``; default the trained number; see
    :meth:`hotdemo.lift.families.hot_mixste.HoTMixSTE.set_token_num`). ``opts`` go to :class:`Lifter`;
    root handling and output units come from the checkpoint unless given.
    """
    from hotdemo.lift.checkpoint import read_lifter_checkpoint
    from hotdemo.lift.registry import LIFTERS, build_model, get_spec

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
    if tokens is not None:
        set_tokens(model, tokens)
    return Lifter(model, device=device, **opts)


def set_tokens(model: nn.Module, tokens: int) -> None:
    """``--tokens N`` on a loaded lifter: InputError for a family without token pruning or an N out of
    range."""
    if not hasattr(model, "set_token_num"):
        from hotdemo.lift.registry import LIFTERS

        hot = [n for n, s in LIFTERS.items() if hasattr(s.model, "set_token_num")]
        raise InputError(f"--tokens applies to HoT lifters ({', '.join(hot)}), not to {type(model).__name__}")
    try:
        model.set_token_num(tokens)
    except ValueError as e:
        raise InputError(f"--tokens: {e}") from None


