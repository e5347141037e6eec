"""The post step after the lifter: agreement with the 2D, constant bone lengths, smoothing.

:func:`lift_and_refine` is the one way a track is lifted and post-processed (``hotdemo run``,
``hotdemo lift``, ``hotdemo eval`` and the trainer's validation all go through it); what it does
is set by a :class:`PostSettings`:

* agreement with the 2D (``reproject``, on by default; :mod:`hotdemo.post.reproject`): how far the
  track's 2D can be trusted is measured from the track (its frame-to-frame jitter, and the
  lifter's reprojection residual at low frequency, which slow and static 2D errors leave); a
  static 2D bias the lifter did not follow is removed from the 2D and the track lifted again
  (:func:`debias`, where that residual persists), and the output's image-plane components are
  moved onto the 2D's pinhole back-projection (in proportion to the trust);
* constant bone lengths (``bone_depth_weight`` > 0, on by default): each bone is held at its
  median length over the sequence, mostly by correcting its depth
  (:func:`hotdemo.post.bones.fit_bone_lengths`); with ``reproject``, alignment and fit run twice
  in turn (corrected depths move the back-projection) and the change they make is smoothed in
  time (:func:`hotdemo.post.reproject.agree_with_2d`);
* temporal smoothing (``smooth_method`` / ``smooth_param``, :mod:`hotdemo.post.smooth`): the
  offline Gaussian here, on the lifter's root-relative output; the causal one-euro filter needs
  the frame rate and runs on the lifted tracks (:func:`hotdemo.post.smooth.smooth_tracks`).

The lifter is used only through :meth:`~hotdemo.lift.lifter.Lifter.model_output`,
:meth:`~hotdemo.lift.lifter.Lifter.root_relative` and :meth:`~hotdemo.lift.lifter.Lifter.to_output`
(pelvis at 0, output units): the data flows lift -> post, and nothing in :mod:`hotdemo.lift`
knows this module.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Optional, Union

import numpy as np

from hotdemo.core.skeletons import H36M17
from hotdemo.core.types import Track2D, Track3D
from hotdemo.post import reproject as _rp
from hotdemo.post.bones import DEFAULT_DEPTH_WEIGHT, DEFAULT_SIGN_MARGIN, fit_bone_lengths
from hotdemo.post.smooth import DEFAULT_PARAM, check_smooth, smooth_joints

#: default sigma (frames) of the output's temporal Gaussian smoothing
DEFAULT_SMOOTH_SIGMA = DEFAULT_PARAM["gaussian"]
#: 2D joints whose score is under this (repaired by the 2D stage) are not aligned to the 2D
MIN_ALIGN_SCORE = 0.3


@dataclass
class PostSettings:
    """What the post step does (defaults: everything on, as ``hotdemo run`` / ``lift`` / ``eval``)."""

    #: agreement with the 2D (:mod:`hotdemo.post.reproject`)
    reproject: bool = True
    #: "none", "gaussian" or "one-euro" (:mod:`hotdemo.post.smooth`) and its parameter (gaussian:
    #: sigma in frames; one-euro: minimum cut-off in Hz)
    smooth_method: str = "gaussian"
    smooth_param: float = DEFAULT_SMOOTH_SIGMA
    #: depth weight (0: off) and sign margin of the constant-bone-length fit
    bone_depth_weight: float = DEFAULT_DEPTH_WEIGHT
    bone_sign_margin: float = DEFAULT_SIGN_MARGIN
    #: jitter at which the 2D gets weight 1/2 (:func:`hotdemo.post.reproject.trust_2d`)
    trust_jitter: float = _rp.DEFAULT_TRUST_JITTER
    #: low-frequency reprojection residual (metres) at which the 2D gets weight 1/2, and the sigmas
    #: (frames) of its low-pass (:func:`hotdemo.post.reproject.residual_trust`); None: off
    trust_residual: Optional[float] = _rp.DEFAULT_TRUST_RESIDUAL
    trust_residual_sigma: float = _rp.DEFAULT_RESIDUAL_SIGMA
    trust_residual_length_sigma: float = _rp.DEFAULT_RESIDUAL_LENGTH_SIGMA
    #: with ``reproject``: remove the static 2D bias the first run did not follow and lift again
    #: (:func:`debias`); False: one model run, the alignment only
    debias_2d: bool = True
    #: :func:`debias` weighs the bias removal by ``1 -`` the median over frames of the
    #: low-frequency trust (True), or by ``1 -`` the jitter trust (False, the older rule)
    debias_residual: bool = True
    #: the residual (metres) at which that removal's trust is 1/2 (None: ``trust_residual``)
    debias_residual_at: Optional[float] = _rp.DEFAULT_DEBIAS_RESIDUAL

    def __post_init__(self) -> None:
        self.smooth_method, self.smooth_param = check_smooth(self.smooth_method, self.smooth_param)
        self.bone_depth_weight = float(self.bone_depth_weight or 0.0)
        if not 0.0 <= self.bone_depth_weight <= 1.0:
            raise ValueError(f"bones must be a bool or a depth weight in (0, 1], got {self.bone_depth_weight!r}")

    @classmethod
    def from_options(cls, smooth: Union[bool, float, str] = True, bones: Union[bool, float] = True,
                     reproject: bool = True, smooth_param: Optional[float] = None, **fields) -> "PostSettings":
        """The settings from the options as the lifter took them: ``smooth`` False, True (Gaussian,
        sigma :data:`DEFAULT_SMOOTH_SIGMA`), a sigma in frames, or a method name (with
        ``smooth_param``); ``bones`` True (:data:`hotdemo.post.bones.DEFAULT_DEPTH_WEIGHT`), False, or a
        depth weight in (0, 1]; ``reproject`` on / off; ``fields``: any other field."""
        if isinstance(smooth, str):
            method, param = smooth, smooth_param
        elif smooth is True:
            method, param = "gaussian", smooth_param
        elif smooth is False or smooth is None or float(smooth) <= 0:
            method, param = "none", None
        else:
            method, param = "gaussian", float(smooth)
        if isinstance(bones, bool) or bones is None:
            weight = DEFAULT_DEPTH_WEIGHT if bones else 0.0
        else:
            weight = float(bones)
            if not 0.0 <= weight <= 1.0:
                raise ValueError(f"bones must be a bool or a depth weight in (0, 1], got {bones!r}")
        return cls(reproject=bool(reproject), smooth_method=method, smooth_param=param,
                   bone_depth_weight=weight, **fields)

    @property
    def smooth_sigma(self) -> float:
        """The Gaussian's sigma in frames (0 when the method is not the Gaussian); setting it picks
        the Gaussian with that sigma (0: no smoothing)."""
        return self.smooth_param if self.smooth_method == "gaussian" else 0.0

    @smooth_sigma.setter
    def smooth_sigma(self, sigma: float) -> None:
        sigma = float(sigma or 0.0)
        self.smooth_method, self.smooth_param = check_smooth("gaussian" if sigma > 0 else "none",
                                                             sigma if sigma > 0 else None)

    def replace(self, **changes) -> "PostSettings":
        return dataclasses.replace(self, **changes)


#: no post-processing at all: :func:`lift_and_refine` with it is the lifter's own output
RAW = PostSettings(reproject=False, smooth_method="none", bone_depth_weight=0.0)


def debias(raw3d: np.ndarray, kp: np.ndarray, width: float, height: float,
           settings: Optional[PostSettings] = None) -> np.ndarray:
    """``kp`` (T, 17, 2) less the static 2D bias that the lifter's output ``raw3d`` did not follow
    (:func:`hotdemo.post.reproject.static_offsets`), joint by joint in proportion to ``1 - trust``
    (:func:`hotdemo.post.reproject.residual_trust`, or :func:`hotdemo.post.reproject.trust_2d` without
    ``debias_residual``); ``kp`` itself (the same object) where the 2D is trusted (every joint's
    ``1 - trust`` under 0.05): then nothing needs lifting again."""
    s = settings or PostSettings()
    if s.debias_residual:  # a bias shows as a residual that persists, whatever the jitter
        half = s.debias_residual_at or s.trust_residual
        trust = np.median(_rp.residual_trust(raw3d, kp, width, height, half, s.trust_residual_sigma,
                                             s.trust_residual_length_sigma), axis=0)
    else:
        trust = _rp.trust_2d(kp, s.trust_jitter)
    distrust = 1.0 - trust
    if distrust.max() < 0.05:
        return kp
    off = _rp.static_offsets(raw3d, kp, width, height)
    return (kp - distrust[:, None] * off).astype(kp.dtype)


def refine(raw3d: np.ndarray, kp2d: Optional[np.ndarray], scores: Optional[np.ndarray],
           width: Optional[float], height: Optional[float],
           settings: Optional[PostSettings] = None) -> np.ndarray:
    """Root-relative lifted poses ``raw3d`` (T, 17, 3; :meth:`~hotdemo.lift.lifter.Lifter.root_relative`)
    -> post-processed (T, 17, 3) float32: agreement with the 2D ``kp2d`` (T, 17, 2) pixels in a
    ``width`` x ``height`` image (with ``reproject``, when ``kp2d`` is given and the track has
    :data:`hotdemo.post.reproject.MIN_FRAMES`; joints whose ``scores`` are under
    :data:`MIN_ALIGN_SCORE` are not aligned), constant bone lengths, the Gaussian smoothing."""
    s = settings or PostSettings()
    out = np.array(raw3d, np.float32)

    def fit(x: np.ndarray) -> np.ndarray:
        if s.bone_depth_weight <= 0:
            return x
        return fit_bone_lengths(x, H36M17.parents, depth_weight=s.bone_depth_weight,
                                sign_margin=s.bone_sign_margin)

    if s.reproject and kp2d is not None and len(out) >= _rp.MIN_FRAMES:
        weight = _rp.trust_2d(kp2d, s.trust_jitter)[None, :] * _rp.residual_trust(
            out, kp2d, width, height, s.trust_residual, s.trust_residual_sigma, s.trust_residual_length_sigma)
        if scores is not None:
            weight = weight * (np.asarray(scores) >= MIN_ALIGN_SCORE)
        out = _rp.agree_with_2d(out, kp2d, width, height, weight, fit)
    else:
        out = fit(out)
    if s.smooth_method == "gaussian":
        out = smooth_joints(out, "gaussian", s.smooth_param, 0.0)
    return out


def finish(lifter, raw: np.ndarray, kp2d: Optional[np.ndarray] = None, width: Optional[float] = None,
           height: Optional[float] = None, scores: Optional[np.ndarray] = None,
           settings: Optional[PostSettings] = None) -> np.ndarray:
    """A :meth:`~hotdemo.lift.lifter.Lifter.model_output` -> what :func:`lift_and_refine` returns:
    the lifter's root handling, :func:`refine`, the lifter's output convention (pelvis at 0, units)."""
    return lifter.to_output(refine(lifter.root_relative(raw), kp2d, scores, width, height, settings))


def lift_and_refine(lifter, kp: np.ndarray, width: float, height: float,
                    settings: Optional[PostSettings] = None,
                    progress: Optional[Callable[[int], None]] = None,
                    scores: Optional[np.ndarray] = None) -> np.ndarray:
    """Lift (T, 17, 2) Human3.6M-order pixels with ``lifter`` (a :class:`hotdemo.lift.lifter.Lifter`)
    and post-process them (``settings``; None: :class:`PostSettings` defaults) -> (T, 17, 3)
    float32 metres, root-relative, camera frame.

    ``progress(n)``: told the frames newly done (they add up to T). ``scores`` (T, 17): the 2D
    confidences (a model input for MotionBERT; low ones are not aligned). With ``reproject`` and
    ``debias_2d``, the model may run a second time on the 2D with its static bias removed
    (:func:`debias`), each run reporting half the progress."""
    s = settings or PostSettings()
    kp = np.asarray(kp)
    if not (s.reproject and len(kp) >= _rp.MIN_FRAMES):
        return finish(lifter, lifter.model_output(kp, width, height, progress, scores), kp, width, height,
                      scores, s)
    halves = _Halves(progress)
    out = lifter.model_output(kp, width, height, halves, scores)
    kp2 = debias(out, kp, width, height, s) if s.debias_2d else kp
    if kp2 is not kp:
        out = lifter.model_output(kp2, width, height, halves, scores)
    halves.finish(len(kp))
    return finish(lifter, out, kp2, width, height, scores, s)


def lift_track(lifter, track: Track2D, width: float, height: float, settings: Optional[PostSettings] = None,
               progress: Optional[Callable[[int], None]] = None) -> Track3D:
    """:func:`lift_and_refine` on one Human3.6M-17 track (convert COCO tracks first,
    :func:`hotdemo.detect.track.to_h36m`)."""
    lifter.check_track(track)
    joints = lift_and_refine(lifter, track.keypoints, width, height, settings, progress, scores=track.scores)
    return Track3D(track_id=track.track_id, frames=np.asarray(track.frames, np.int64), joints_cam=joints,
                   joint_format="h36m17")


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
