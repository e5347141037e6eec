"""Agreement of a lifted track with its own 2D keypoints (on by default in the post step,
:mod:`hotdemo.post.refine`).

A lifter's root-relative output does not reproject exactly onto the 2D it was given: its image-
plane components carry its own errors (even with exact 2D), and where the 2D comes from a detector, the lifter partly follows the detector's errors. This module ties
the two together with a pinhole camera whose principal point is the image centre ``c``, whose
focal length ``f`` is unknown but fixed for the track, and whose distance to the pelvis ``Z_t``
changes per frame. For joint ``j`` at root-relative camera position ``(x, y, z)_j`` and pixel
``u_j``, exactly:

    ``x_j = a_t (u_j - u_0) + b (u_j - c) z_j``,   ``a_t = Z_t / f``,   ``b = 1 / f``

(the same in y), so given the lifter's depths ``z`` the image-plane position of every joint
follows from the 2D. :func:`fit_camera` finds ``a_t`` (T,) and ``b`` by least squares against the
lifter's own ``x, y``; :func:`image_plane` then gives the 2D-consistent ``x, y``.

How much the 2D is trusted depends on how noisy it is, measured from the track itself
(:func:`jitter`: a robust estimate of each joint's frame-to-frame noise, as a fraction of the
person's size: near zero for exact 2D, larger the noisier the 2D). :func:`trust_2d` maps it to a weight in [0, 1]:

* :func:`agree_with_2d` moves the lifter's ``x, y`` towards the 2D-consistent ones by that
  weight (:func:`align_to_2d`, the correction filtered in time) and fits the bone lengths again,
  which then fixes the depths (:mod:`hotdemo.post.bones`); twice in turn. The change this makes is
  smoothed in time before it is added: a bone nearly in the image plane gets its depth from its
  2D length, which small 2D changes swing (unsmoothed, that swing reaches the output as
  frame-to-frame acceleration);
* the detector's *static* bias (a joint placed consistently off, e.g. COCO hips against
  Human3.6M hips) is measured as the median over frames of the reprojection residual
  (:func:`static_offsets`), removed from the 2D in proportion to ``1 -`` the median
  low-frequency trust (:func:`residual_trust` at :data:`DEFAULT_DEBIAS_RESIDUAL`; the jitter
  weight alone never sees a bias without jitter), and the track is lifted again
  (:func:`hotdemo.post.refine.debias`, :func:`hotdemo.post.refine.lift_and_refine`).

Since issue #30 the weight is the jitter trust times :func:`residual_trust`: slow and static 2D
errors (drift, bias, a wrong scale) have little jitter, but the lifter follows them only partly,
so they leave a residual that persists over many frames; where it is large the lifter's x, y
are kept.

``python benchmarks/noise_models.py`` measures the effect on every 2D error model of
:mod:`hotdemo.train.errors2d` (``benchmarks/reproject.py``: the jitter trust alone); the figures
are in the benchmarks documentation, not here.
"""

from __future__ import annotations

from typing import Callable, Optional, Tuple

import numpy as np
from scipy.ndimage import gaussian_filter1d, median_filter

#: jitter (fraction of person size) at which the 2D gets weight 1/2 in :func:`trust_2d`
#: (chosen with benchmarks/reproject.py on the training subjects)
DEFAULT_TRUST_JITTER = 0.005
#: in :func:`align_to_2d`, each joint's correction is median-filtered over this many frames (a
#: detector glitch of a frame or two is not followed) and then Gaussian-smoothed with this sigma
#: (frames), so that the 2D's frame-to-frame noise does not reach the output
DEFAULT_MEDIAN_FRAMES = 5
DEFAULT_CORRECTION_SIGMA = 4.0
#: in :func:`agree_with_2d`, sigma (frames) of the Gaussian smoothing of the final change: a bone
#: that lies nearly in the image plane gets its depth from its 2D length, which small 2D changes
#: swing; smoothing the change keeps that from reaching the output as jitter
DEFAULT_CHANGE_SIGMA = 4.0
#: residual (metres, low-pass filtered) at which :func:`residual_trust` gives the 2D weight 1/2 in
#: the alignment; None: the low-frequency trust is off (the session-13 behaviour). Chosen with
#: benchmarks/noise_models.py on the training subjects, as the two below and
#: :data:`DEFAULT_DEBIAS_RESIDUAL`
DEFAULT_TRUST_RESIDUAL: Optional[float] = 0.004
#: the same for the static-bias removal (:func:`hotdemo.post.refine.debias`): it acts only where
#: the residual is larger (a removal driven by the lifter's own error hurts)
DEFAULT_DEBIAS_RESIDUAL = 0.035
#: in :func:`residual_trust`, sigma (frames) of the Gaussian low-pass of the residual vectors (the
#: 2D's white noise averages out, slow errors stay), then of their lengths
DEFAULT_RESIDUAL_SIGMA = 6.0
DEFAULT_RESIDUAL_LENGTH_SIGMA = 25.0
#: tracks shorter than this are left as they are (too few frames to measure jitter or bias)
MIN_FRAMES = 10
#: focal lengths allowed in :func:`fit_camera`, in image widths (1/b, b >= 0: b = 0 is orthographic)
MIN_FOCAL_WIDTHS = 0.3


def person_size(kp: np.ndarray) -> float:
    """Median over frames of the diagonal of the keypoints' bounding box (pixels); kp (T, J, 2)."""
    ext = np.nanmax(kp, axis=1) - np.nanmin(kp, axis=1)
    return float(np.nanmedian(np.linalg.norm(ext, axis=-1)))


def jitter(kp: np.ndarray) -> np.ndarray:
    """(T, J, 2) pixels -> (J,) robust frame-to-frame noise of each joint, as a fraction of
    :func:`person_size`: the median absolute second difference over frames and both axes,
    scaled to a Gaussian's sigma (1.4826 / sqrt(6)). Smooth motion contributes little; fast motion
    at a low frame rate raises it (a lower weight, the safe side). NaN for fewer than 3 frames."""
    kp = np.asarray(kp, np.float64)
    if len(kp) < 3:
        return np.full(kp.shape[1], np.nan)
    size = person_size(kp)
    d2 = kp[2:] - 2.0 * kp[1:-1] + kp[:-2]
    return 1.4826 * np.nanmedian(np.abs(d2), axis=(0, 2)) / np.sqrt(6.0) / max(size, 1e-9)


def trust_2d(kp: np.ndarray, half_at: float = DEFAULT_TRUST_JITTER) -> np.ndarray:
    """(J,) weight in [0, 1] of each joint's 2D: ``1 / (1 + (jitter / half_at)^2)``; 0 for tracks
    shorter than :data:`MIN_FRAMES`."""
    kp = np.asarray(kp)
    if len(kp) < MIN_FRAMES:
        return np.zeros(kp.shape[1])
    j = np.nan_to_num(jitter(kp), nan=np.inf)
    return 1.0 / (1.0 + (j / half_at) ** 2)


def reprojection_residual(pose: np.ndarray, kp: np.ndarray, width: float, height: float,
                          scale: float = 0.02, rounds: int = 2) -> np.ndarray:
    """(T, J, 2) metres: each joint's 2D-consistent image-plane position (:func:`image_plane` with
    the track's fitted camera, :func:`fit_camera`) less the lifted pose's ``x, y``; ``pose``
    (T, J, 3) with joint 0 the root (made root-relative here), ``kp`` (T, J, 2) pixels. The camera
    is fitted robustly: ``rounds`` times again with each joint weighted by ``1 / (1 + (m_j /
    scale)^2)``, ``m_j`` the length of its median residual over frames, so that one joint placed
    far off does not move the camera and with it every other joint's residual."""
    rel = np.asarray(pose, np.float64)
    rel = rel - rel[:, :1]
    w = None
    for _ in range(max(0, int(rounds)) + 1):
        a, b = fit_camera(rel, kp, width, height, weight=w)
        r = image_plane(rel, kp, width, height, a, b) - rel[..., :2]
        w = 1.0 / (1.0 + (np.linalg.norm(np.median(r, axis=0), axis=-1) / scale) ** 2)
    return r


def residual_trust(pose: np.ndarray, kp: np.ndarray, width: float, height: float,
                   half_at: Optional[float] = DEFAULT_TRUST_RESIDUAL,
                   sigma: float = DEFAULT_RESIDUAL_SIGMA,
                   length_sigma: float = DEFAULT_RESIDUAL_LENGTH_SIGMA) -> np.ndarray:
    """(T, J) weight in [0, 1] of each joint's 2D from the lifter's own reprojection residual at low
    frequency: ``1 / (1 + (R / half_at)^2)``, ``R`` the length of the residual vector
    (:func:`reprojection_residual`) median-filtered over :data:`DEFAULT_MEDIAN_FRAMES` frames (a
    glitch of a frame or two does not count) and Gaussian-filtered over ``sigma`` frames (the 2D's
    frame-to-frame noise averages out; that is :func:`trust_2d`'s part), its length then
    Gaussian-filtered over ``length_sigma`` frames.

    The jitter (:func:`trust_2d`) sees a detector's frame-to-frame noise but not its slow or static
    errors (drift, a joint placed consistently off, a wrong scale): the lifter follows those only
    partly, so they leave a residual between the 2D and the lifted pose that persists over many
    frames, larger than the lifter's own image-plane error with exact 2D. Where it is large the
    2D is not to be followed and the lifter's ``x, y`` are kept. ``half_at`` None or 0: all ones."""
    T, J = np.asarray(kp).shape[:2]
    if not half_at:
        return np.ones((T, J))
    r = median_filter(reprojection_residual(pose, kp, width, height, scale=float(half_at)),
                      size=(DEFAULT_MEDIAN_FRAMES, 1, 1), mode="nearest")
    if sigma > 0:
        r = gaussian_filter1d(r, float(sigma), axis=0, mode="nearest")
    r = np.linalg.norm(r, axis=-1)
    if length_sigma > 0:
        r = gaussian_filter1d(r, float(length_sigma), axis=0, mode="nearest")
    return 1.0 / (1.0 + (r / float(half_at)) ** 2)


def fit_camera(pose: np.ndarray, kp: np.ndarray, width: float, height: float,
               iterations: int = 8, weight: Optional[np.ndarray] = None) -> Tuple[np.ndarray, float]:
    """Least-squares ``a`` (T,) and ``b`` of the model in the module docstring.

    ``pose`` (T, J, 3) root-relative camera frame (joint 0 the root), ``kp`` (T, J, 2) pixels.
    Alternates the exact per-frame ``a_t`` given ``b`` and the exact ``b`` given ``a``; ``b`` is
    kept in [0, 1 / (MIN_FOCAL_WIDTHS * width)]. ``weight`` (J,) or (T, J): weighted least
    squares (None: every joint alike)."""
    pose = np.asarray(pose, np.float64)
    u = np.asarray(kp, np.float64)
    c = np.array([width, height], np.float64) / 2.0
    d = u - u[:, :1]
    e = (u - c) * pose[..., 2:3]
    X = pose[..., :2]
    w = 1.0 if weight is None else np.broadcast_to(np.asarray(weight, np.float64), pose.shape[:2])[..., None]
    dd = np.maximum((w * d * d).sum(axis=(1, 2)), 1e-12)
    ee = max(float((w * e * e).sum()), 1e-12)
    b_max = 1.0 / (MIN_FOCAL_WIDTHS * width)
    b = 1.0 / max(width, height)  # a normal lens to start from
    for _ in range(iterations):
        a = (w * (X - b * e) * d).sum(axis=(1, 2)) / dd
        b = float(np.clip((w * (X - a[:, None, None] * d) * e).sum() / ee, 0.0, b_max))
    a = (w * (X - b * e) * d).sum(axis=(1, 2)) / dd
    return a, b


def image_plane(pose: np.ndarray, kp: np.ndarray, width: float, height: float,
                a: np.ndarray, b: float) -> np.ndarray:
    """(T, J, 2) root-relative ``x, y`` that reproject exactly onto ``kp`` at the pose's depths."""
    u = np.asarray(kp, np.float64)
    c = np.array([width, height], np.float64) / 2.0
    return a[:, None, None] * (u - u[:, :1]) + b * (u - c) * np.asarray(pose, np.float64)[..., 2:3]


def align_to_2d(pose: np.ndarray, kp: np.ndarray, width: float, height: float,
                weight: np.ndarray, median_frames: int = DEFAULT_MEDIAN_FRAMES,
                sigma: float = DEFAULT_CORRECTION_SIGMA) -> np.ndarray:
    """``pose`` (T, J, 3) (joint 0 the root; made root-relative for the fit) with its ``x, y``
    moved towards :func:`image_plane` by ``weight`` (J,) or (T, J) in [0, 1] (the camera fitted with
    the joints weighted ``0.05 + weight``); depths and the root unchanged. The correction is filtered in time first (:data:`DEFAULT_MEDIAN_FRAMES`,
    :data:`DEFAULT_CORRECTION_SIGMA`; 1 and 0 leave it as it is). Same dtype."""
    pose = np.asarray(pose)
    root = pose[:, :1].astype(np.float64)
    rel = pose.astype(np.float64) - root
    w = np.broadcast_to(np.asarray(weight, np.float64), pose.shape[:2])
    # the camera is fitted on the joints as far as they are trusted (a joint placed far off
    # would otherwise move the camera, and with it every other joint's target)
    a, b = fit_camera(rel, kp, width, height, weight=0.05 + w)
    delta = image_plane(rel, kp, width, height, a, b) - rel[..., :2]  # (T, J, 2)
    if median_frames > 1:
        delta = median_filter(delta, size=(int(median_frames), 1, 1), mode="nearest")
    if sigma > 0:
        delta = gaussian_filter1d(delta, float(sigma), axis=0, mode="nearest")
    rel[..., :2] += w[..., None] * delta
    rel[:, 0] = 0.0
    return (rel + root).astype(pose.dtype)


def agree_with_2d(pose: np.ndarray, kp: np.ndarray, width: float, height: float, weight: np.ndarray,
                  fit: Optional[Callable[[np.ndarray], np.ndarray]] = None, rounds: int = 2,
                  sigma: float = DEFAULT_CHANGE_SIGMA) -> np.ndarray:
    """``pose`` (T, J, 3) brought into agreement with ``kp`` (T, J, 2) as far as ``weight`` (J,)
    or (T, J) allows (:func:`trust_2d`).

    ``fit``: what the lifter does after it (the constant-bone-length fit, which then solves the
    depths from the aligned image-plane components); None: nothing. ``base = fit(pose)`` is the
    output without agreement; ``rounds`` times the pose is aligned (:func:`align_to_2d`, by
    ``weight``) and fitted in turn, and the change from ``base``, smoothed in time (``sigma``
    frames, :data:`DEFAULT_CHANGE_SIGMA`), is added to ``base``. Weight 0 everywhere gives
    ``base`` exactly. Same dtype."""
    fit = fit if fit is not None else (lambda x: x)
    base = np.asarray(fit(pose), np.float64)
    if not np.any(np.asarray(weight) > 0):
        return base.astype(np.asarray(pose).dtype)
    p = pose
    for _ in range(max(1, int(rounds))):
        p = fit(align_to_2d(p, kp, width, height, weight))
    change = np.asarray(p, np.float64) - base
    if sigma > 0:
        change = gaussian_filter1d(change, float(sigma), axis=0, mode="nearest")
    return (base + change).astype(np.asarray(pose).dtype)


def static_offsets(pose: np.ndarray, kp: np.ndarray, width: float, height: float) -> np.ndarray:
    """(J, 2) pixels: each joint's median over frames of ``kp`` minus the lifted pose's
    reprojection (``pose`` (T, J, 3), joint 0 the root), relative to the root's (row 0 is zero). Subtracting it from ``kp`` removes a
    2D bias the lifter did not follow."""
    rel = np.asarray(pose, np.float64)
    rel = rel - rel[:, :1]
    a, b = fit_camera(rel, kp, width, height)
    xy = image_plane(rel, kp, width, height, a, b)
    scale = np.where(np.abs(a) > 1e-12, a, np.inf)[:, None, None]
    res = np.median((xy - rel[..., :2]) / scale, axis=0)
    return res - res[:1]
