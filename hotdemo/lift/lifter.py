"""2D -> 3D lifting of whole sequences with any registered lifter (HoT-MixSTE by default).

:class:`Lifter` runs a model over sequences of any length, following the model family's spec
(:class:`hotdemo.lift.spec.LifterSpec`):

* screen normalisation as the official HoT demo and MotionBERT's Human3.6M setting
  (:func:`hotdemo.core.camera.normalize_screen_coordinates`); families with 3 input channels
  (MotionBERT) also get the 2D confidence (1 where none is given);
* flip augmentation (on by default): the input is mirrored (x negated, Human3.6M left/right
  joints swapped), lifted, mirrored back and averaged with the plain prediction;
* windows of the model's frame count, overlapping and blended by default, or placed exactly as
  the official demo places them (``overlap=False``; :mod:`hotdemo.lift.windows`);
* seq2frame models (``tpc_mixste``) run one window centred on every frame (batched) and keep the
  centre frame; the flipped pass reuses what the plain pass decided (the kept frames), as the
  official test does;
* root handling (``root``): "zero" sets the pelvis to 0 (official demo), "subtract" subtracts the
  predicted pelvis (weights trained by hotdemo's trainer); the checkpoint reader says which;
* output units (``output``): "metres" as is; "normalised" (MotionBERT's 2.5D units, which carry
  no absolute scale) is rescaled per sequence so that the median over frames of the summed
  length of the 16 bones equals :data:`REFERENCE_BONE_SUM_M` (the Human3.6M S1 skeleton).

Output: metres, root-relative (pelvis at 0), camera frame. Everything runs in batches under
:func:`torch.inference_mode`, fp16 autocast on CUDA, and is deterministic for a given device.

The lifter only lifts. Post-processing (agreement with the 2D, constant bone lengths, temporal
smoothing) is :mod:`hotdemo.post`'s, after the lifter: :func:`hotdemo.post.refine.lift_and_refine`
lifts a sequence and post-processes it, using :meth:`Lifter.model_output`,
:meth:`Lifter.root_relative` and :meth:`Lifter.to_output`; :meth:`Lifter.lift_sequence` is the
same without post-processing (``to_output(root_relative(model_output(...)))``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
import torch.nn as nn

from hotdemo.core.camera import normalize_screen_coordinates
from hotdemo.core.device import resolve_device
from hotdemo.core.errors import InputError, WeightsError
from hotdemo.core.skeletons import H36M17
from hotdemo.core.types import Track2D, Track3D
from hotdemo.lift.windows import (DEFAULT_OVERLAP, blend_windows, centre_positions, window_positions,  # noqa: F401
                                  window_starts, window_weight)

#: summed length (metres) of the 16 Human3.6M-17 bones of the S1 skeleton (../shared's motion data,
#: every frame): the body size that "normalised" (MotionBERT 2.5D) output is rescaled to
REFERENCE_BONE_SUM_M = 4.15
#: size of the random-weights hot_mixste used with ``allow_untrained`` (plumbing tests only);
#: other families use their spec's ``tiny`` config
UNTRAINED_CONFIG = dict(frames=81, dim=64, depth=4, heads=4, token_num=27, layer_index=2)

_FLIP_PERM = torch.from_numpy(np.asarray(H36M17.flip_permutation, dtype=np.int64))

__all__ = ["Lifter", "load_lifter", "set_tokens", "default_weights_path", "body_scale", "flip_h36m",
           "normalize_screen_coordinates", "window_starts", "window_weight", "DEFAULT_OVERLAP",
           "REFERENCE_BONE_SUM_M", "UNTRAINED_CONFIG"]


def flip_h36m(x: torch.Tensor) -> torch.Tensor:
    """Mirror Human3.6M joints (..., 17, C): negate x and swap left/right joints."""
    x = x[..., _FLIP_PERM, :].clone()
    x[..., 0] = -x[..., 0]
    return x


class Lifter:
    """Lifts Human3.6M-17 2D keypoint sequences to 3D with any registered lifter.

    ``model``: built by :func:`hotdemo.lift.registry.build_model` (weights loaded). ``device``: "cpu",
    "cuda", "cuda:N" or "auto". ``flip``: flip-augmentation averaging. ``overlap``: see
    :func:`hotdemo.lift.windows.window_starts`. ``batch_size``: windows per forward pass (each is
    run twice with flip). ``half``: fp16 autocast, default on for CUDA.
    ``root`` / ``output``: root handling and output units (module docstring); None: the
    family's official convention. Post-processing is not the lifter's: see
    :class:`hotdemo.post.refine.PostSettings` (the ``smooth`` / ``bones`` / ``reproject`` options
    that this class took before are there).
    """

    def __init__(self, model: nn.Module, *, device: str = "auto", flip: bool = True,
                 overlap=True, batch_size: int = 8, half: Optional[bool] = None,
                 root: Optional[str] = None, output: Optional[str] = None) -> None:
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

    def model_input(self, kp: np.ndarray, width: float, height: float,
                    scores: Optional[np.ndarray] = None) -> np.ndarray:
        """Pixels (..., 17, 2) -> the model's input (..., 17, C) float32: screen-normalised, with
        the 2D confidence ``scores`` (..., 17; 1 where not given) for 3-channel families."""
        xn = normalize_screen_coordinates(np.asarray(kp).astype(np.float64), width, height).astype(np.float32)
        if self.channels == 3:
            conf = np.ones(xn.shape[:-1], np.float32) if scores is None else np.asarray(scores, np.float32)
            if conf.shape != xn.shape[:-1]:
                raise ValueError(f"expected scores of shape {xn.shape[:-1]}, got {conf.shape}")
            xn = np.concatenate([xn, np.clip(conf, 0.0, 1.0)[..., None]], axis=-1)
        return xn

    @torch.inference_mode()
    def lift_windows(self, kp: np.ndarray, width: float, height: float,
                     scores: Optional[np.ndarray] = None) -> np.ndarray:
        """Ready windows (N, F, 17, 2) pixels -> the model's output (N, F, 17, 3) for seq2seq,
        (N, 1, 17, 3) for seq2frame, flip-averaged, in the model's camera frame (live lifting)."""
        x = torch.from_numpy(self.model_input(kp, width, height, scores)).to(self.device)
        return self._forward(x).cpu().numpy()

    # ---------------------------------------------------------------- public API
    @torch.inference_mode()
    def model_output(self, kp: np.ndarray, width: float, height: float,
                     progress: Optional[Callable[[int], None]] = None,
                     scores: Optional[np.ndarray] = None) -> np.ndarray:
        """The model's output for a whole sequence, (T, 17, 3) float32 in the model's camera frame:
        windows run (with flip) and blended, nothing else. Arguments as :meth:`lift_sequence`."""
        kp = np.asarray(kp)
        if kp.ndim != 3 or kp.shape[1:] != (17, 2):
            raise ValueError(f"expected keypoints of shape (T, 17, 2), got {kp.shape}")
        if width <= 0 or height <= 0:
            raise ValueError(f"width and height must be positive, got {width}x{height}")
        T, F = len(kp), self.frames
        if T == 0:
            return np.zeros((0, 17, 3), np.float32)
        xn = torch.from_numpy(self.model_input(kp, width, height, scores)).to(self.device)
        if self.seq2seq:
            pos, blended = window_positions(T, F, self.overlap)
            y = self._run_windows(xn, np.clip(pos, 0, T - 1), progress)  # (W, F, 17, 3)
            out = blend_windows(y, pos, T, blended)
        else:
            pos = centre_positions(T, F)
            out = self._run_windows(xn, np.clip(pos, 0, T - 1), progress)[:, 0]
        return out.cpu().numpy().astype(np.float32)

    def root_relative(self, out: np.ndarray) -> np.ndarray:
        """:meth:`model_output` -> a float32 copy with this lifter's root handling ("subtract":
        the predicted pelvis subtracted; "zero": as is, the pelvis is zeroed by :meth:`to_output`)."""
        out = np.array(out, np.float32)
        if self.root == "subtract":
            out -= out[:, :1]
        return out

    def to_output(self, out: np.ndarray) -> np.ndarray:
        """:meth:`root_relative` (after any post-processing) -> what the lifter returns: pelvis at
        0, in metres ("normalised" output rescaled by :func:`body_scale`); changes ``out``."""
        out[:, 0, :] = 0.0
        if self.output == "normalised":
            out *= body_scale(out)
        return out

    def lift_sequence(self, kp: np.ndarray, width: float, height: float,
                      progress: Optional[Callable[[int], None]] = None,
                      scores: Optional[np.ndarray] = None) -> np.ndarray:
        """(T, 17, 2) Human3.6M-order pixels -> (T, 17, 3) float32 metres, root-relative, camera
        frame, without post-processing (:func:`hotdemo.post.refine.lift_and_refine` adds it).

        ``progress(n)``: called as the windows run, with the number of frames newly done (they
        add up to T): a per-frame progress bar. ``scores`` (T, 17): the 2D confidences, used by
        families with a confidence input (MotionBERT); 1 where not given."""
        return self.to_output(self.root_relative(self.model_output(kp, width, height, progress, scores)))

    def check_track(self, track: Track2D) -> None:
        """ValueError unless ``track`` is Human3.6M-17 (the only joint format a lifter takes)."""
        if track.joint_format != "h36m17":
            raise ValueError(f"the lifter needs Human3.6M-17 keypoints, got {track.joint_format!r}; "
                             "convert the track first (hotdemo.detect.track.to_h36m)")

    def __call__(self, track: Track2D, width: float, height: float,
                 progress: Optional[Callable[[int], None]] = None) -> Track3D:
        """Lift one Human3.6M-17 track (convert COCO tracks first, e.g. ``hotdemo.detect.track.to_h36m``)
        without post-processing (:func:`hotdemo.post.refine.lift_track` adds it); ``progress``: see
        :meth:`lift_sequence`."""
        self.check_track(track)
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


