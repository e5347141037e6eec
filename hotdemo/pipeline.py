"""Orchestration: video -> 2D tracks -> 3D tracks -> exports + rendered video.

The stages stream: frames are decoded twice (once for the 2D pass, once for rendering)
and never held in memory; what is kept between passes is only the per-frame 2D keypoints
(a few kB per frame). Usable from Python::

    from hotdemo.pipeline import Pipeline, PipelineConfig
    with Pipeline(PipelineConfig(detector="yolo-fastest.weights", pose2d="pose.onnx")) as p:
        result = p.run("clip.mp4", "out/clip")
"""

from __future__ import annotations

import logging
import time
import warnings as _warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, TypeVar

import numpy as np
from rich.markup import escape

from hotdemo.core.device import resolve_device
from hotdemo.core.errors import InputError
from hotdemo.core.types import Track2D, Track3D, VideoInfo
from hotdemo.io.video import VideoWarning

log = logging.getLogger("hotdemo")

T = TypeVar("T")


# the settings live in hotdemo.config (one group per stage); imported from here as before
from hotdemo.config import DEFAULT_DET_EVERY, TRAJECTORIES, PipelineConfig  # noqa: E402,F401


@dataclass
class RunResult:
    """What one run produced. ``stage_seconds`` maps stage name -> wall seconds."""

    video: Path
    out_dir: Path
    frames: int
    people: int
    outputs: List[Path]
    seconds: float
    stage_seconds: Dict[str, float] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)


def default_output_dir(video: Path) -> Path:
    return Path("hotdemo_out") / Path(video).stem


def batched(items: Iterable[T], n: int) -> Iterator[List[T]]:
    buf: List[T] = []
    for x in items:
        buf.append(x)
        if len(buf) == n:
            yield buf
            buf = []
    if buf:
        yield buf


def _load_lifter(config: PipelineConfig, device: str):
    """The lifter that ``config`` selects (see :func:`hotdemo.lift.lifter.load_lifter`); it only lifts,
    :func:`_post_settings` says what the post step does after it."""
    from hotdemo.lift.lifter import load_lifter

    _post_settings(config)  # a bad --smooth / --smooth-param fails before the lifter is loaded
    lift = config.lift
    return load_lifter(lift.lifter, str(lift.checkpoint) if lift.checkpoint else None, device=device,
                       allow_untrained=lift.allow_untrained, flip=lift.flip, overlap=lift.overlap, tokens=lift.tokens)


def _post_settings(config: Optional[PipelineConfig]):
    """The post step's :class:`hotdemo.post.refine.PostSettings` from ``config.post`` (its
    ``smooth``, ``smooth_param``, ``bones`` and ``reproject``; None: the defaults)."""
    from hotdemo.post.refine import PostSettings

    if config is None:
        return PostSettings()
    post = config.post
    return PostSettings.from_options(smooth=post.smooth, smooth_param=post.smooth_param if post.smooth != "none" else None,
                                     bones=post.bones, reproject=post.reproject)


def _post_filter(tracks3d: List[Track3D], post, fps: float) -> List[Track3D]:
    """The filters that need the frame rate (one-euro), on the lifted tracks; ``post``: the
    :class:`hotdemo.post.refine.PostSettings` (the Gaussian ran in the post step itself)."""
    from hotdemo.post.smooth import smooth_tracks

    if post.smooth_method != "one-euro":
        return tracks3d
    return smooth_tracks(tracks3d, post.smooth_method, post.smooth_param, fps)


class _Progress:
    """A rich progress bar per long stage (with ETA), or nothing when not verbose."""

    def __init__(self, verbose: bool):
        self.verbose = verbose
        self._p = None

    def __enter__(self):
        if self.verbose:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)
            from rich.console import Console

            self._p = Progress(
                TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                console=Console(stderr=True), transient=False,
            )
            self._p.__enter__()
        return self

    def __exit__(self, *exc):
        if self._p is not None:
            self._p.__exit__(*exc)

    def task(self, description: str, total: Optional[int]):
        if self._p is None:
            return lambda n=1: None
        tid = self._p.add_task(description, total=total)
        return lambda n=1: self._p.advance(tid, n)

    def print(self, msg: str) -> None:
        if self._p is not None:
            self._p.console.print(msg, highlight=False, soft_wrap=True)  # one line, never wrapped
        else:
            log.info(msg)



def lift_to_world(lifter, tracks2d: Sequence[Track2D], info: VideoInfo,
                  progress: Optional[_Progress] = None, config: Optional[PipelineConfig] = None,
                  static_camera: Optional[bool] = None) -> List[Track3D]:
    """The 3D tracks of :func:`lift_to_scene` (without the camera)."""
    return lift_to_scene(lifter, tracks2d, info, progress, config, static_camera)[0]


def lift_to_scene(lifter, tracks2d: Sequence[Track2D], info: VideoInfo,
                  progress: Optional[_Progress] = None, config: Optional[PipelineConfig] = None,
                  static_camera: Optional[bool] = None):
    """Lift and post-process every track (converted to Human3.6M-17 with missing / low-score joints
    repaired, :func:`hotdemo.detect.assemble.to_h36m`) with ``config``'s post settings
    (:func:`hotdemo.post.refine.lift_track`, :func:`_post_settings`; None: the defaults), apply the
    frame-rate filters (one-euro smoothing) and put them all in one world frame. With ``config.post.trajectory == "camera"`` (the default) and a
    camera that is not known to move (``static_camera`` False: :class:`hotdemo.post.trajectory.BackgroundMotion`
    saw the background move), every person's root trajectory, feet contacts and the fitted camera
    (:func:`hotdemo.post.trajectory.fit_scene`); otherwise people in place (:func:`hotdemo.post.world.to_world`).
    Returns ``(tracks3d with joints_world, SceneCamera or None)``. The "3D" progress bar counts
    frames. A lifter output that is not finite is an :class:`InputError` (raised before any export
    is written)."""
    from hotdemo.detect.assemble import to_h36m
    from hotdemo.post.refine import lift_track
    from hotdemo.post.world import estimate_world_rotation, to_world

    post = _post_settings(config)
    tick = (progress or _Progress(False)).task("3D", sum(len(t) for t in tracks2d))
    out, h36 = [], []
    for t in tracks2d:
        th = to_h36m(t)
        t3 = lift_track(lifter, th, info.width, info.height, post, progress=tick)
        bad = ~np.isfinite(t3.joints_cam).all(axis=(1, 2))
        if bad.any():
            raise InputError(f"track {t.track_id}: the lifter gave no valid 3D pose for {int(bad.sum())} of "
                             f"{len(bad)} frames; check that the 2D keypoints are pixels of the "
                             f"{info.width} x {info.height} frame")
        out.append(t3)
        h36.append(th)
    out = _post_filter(out, post, float(info.fps or 0.0))
    if not out:
        return out, None
    mode = config.post.trajectory if config is not None else "camera"
    if mode not in TRAJECTORIES:
        raise InputError(f"unknown --trajectory {mode!r}; choose from {', '.join(TRAJECTORIES)}")
    if mode == "camera" and static_camera is not False:
        from dataclasses import replace as _replace

        from hotdemo.post.trajectory import fit_scene, focal_from_35mm, focal_from_fov

        fov = config.post.fov if config is not None else None
        if fov is not None:
            focal, source = focal_from_fov(float(fov), info.width), "fov"
        elif getattr(info, "focal_35mm", 0):
            focal, source = focal_from_35mm(info.focal_35mm, info.width, info.height), "metadata"
        else:
            focal, source = None, "fitted"
        people, cam = fit_scene([t.joints_cam for t in out], [t.keypoints for t in h36], [t.scores for t in h36],
                                info.width, info.height, float(info.fps or 25.0), focal_px=focal, focal_source=source)
        out = [_replace(t, joints_world=p.joints_world, root_cam=p.root_cam, contacts=p.contacts)
               for t, p in zip(out, people)]
        return out, cam
    return to_world(out, estimate_world_rotation(out), tracks2d, info), None


def lift_and_export(lifter, tracks2d: Sequence[Track2D], info: VideoInfo, out_dir: Path, stem: str,
                    formats: Sequence[str], progress: Optional[_Progress] = None,
                    stage: Optional[Dict[str, float]] = None,
                    config: Optional[PipelineConfig] = None,
                    static_camera: Optional[bool] = None) -> Tuple[List[Track3D], List[Path]]:
    """The tail that ``run`` and ``lift`` share: lift -> post -> world frame -> exports.

    Returns the world-frame 3D tracks and the written paths; ``stage`` (if given) gets the
    seconds of "3d" and "export".
    """
    stage = {} if stage is None else stage
    ts = time.perf_counter()
    tracks3d, scene = lift_to_scene(lifter, tracks2d, info, progress, config, static_camera)
    stage["3d"] = time.perf_counter() - ts
    ts = time.perf_counter()
    from hotdemo.io.formats import write_exports

    outputs = list(write_exports(out_dir, stem, info, tracks2d, tracks3d, formats=formats, scene=scene))
    stage["export"] = time.perf_counter() - ts
    return tracks3d, outputs


class Pipeline:
    """Loads the models once; :meth:`run` processes one video. Reusable across videos."""

    def __init__(self, config: Optional[PipelineConfig] = None, *, verbose: bool = False,
                 frontend=None, lifter=None):
        self.config = config or PipelineConfig()
        self.verbose = verbose
        c = self.config
        self.device = resolve_device(c.runtime.device)
        rt = c.runtime
        if rt.threads:
            import cv2
            import torch

            torch.set_num_threads(int(rt.threads))
            cv2.setNumThreads(int(rt.threads))
        self.lifter = lifter if lifter is not None else _load_lifter(c, self.device)
        if frontend is None:
            from dataclasses import asdict

            from hotdemo.frontend import build_frontend

            frontend = build_frontend(**asdict(c.detect), **asdict(c.pose), device=self.device, threads=rt.threads,
                                      weights_dir=str(rt.weights_dir) if rt.weights_dir else None)
        self.frontend = frontend

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    # ------------------------------------------------------------------ stages
    def detect_2d(self, video: Path, info: VideoInfo, progress: _Progress) -> Tuple[List[Track2D], int]:
        """2D pass: returns the selected COCO-17 tracks and the number of decoded frames."""
        from hotdemo.detect.assemble import assemble_tracks, select_tracks
        from hotdemo.post.trajectory import BackgroundMotion
        from hotdemo.io.video import Prefetcher, iter_frames

        reset = getattr(self.frontend, "reset", None)
        if reset is not None:  # tracker state must not carry over from the previous video
            reset()
        tick = progress.task("2D", info.frame_count or None)
        per_frame = []
        n = 0
        motion = BackgroundMotion() if self.config.post.trajectory == "camera" else None
        bs = self.config.runtime.batch_size
        for chunk in batched(Prefetcher(iter_frames(video, info), maxsize=2 * bs), bs):
            got = self.frontend.process(chunk, n)
            if motion is not None:
                for k, (frame, fp) in enumerate(zip(chunk, got)):
                    motion.add(n + k, frame, fp.boxes)
            per_frame.extend(got)
            n += len(chunk)
            tick(len(chunk))
        self.camera_motion = motion
        if n == 0:
            raise InputError(f"{video}: no frame could be decoded")
        tracks = assemble_tracks(per_frame, min_length=1)
        sel = self.config.tracks
        if sel.track_id is not None and not any(t.track_id == sel.track_id for t in tracks):
            found = {}
            for t in tracks:
                found[t.track_id] = found.get(t.track_id, 0) + len(t)
            listing = (", ".join(f"{k} ({v} frames)" for k, v in sorted(found.items())) if found
                       else "none (no person was found)")
            raise InputError(f"{video.name}: there is no track {sel.track_id}; the track IDs are: {listing}")
        selected = select_tracks(tracks, people=sel.people, track_id=sel.track_id, min_length=min(sel.min_length, n))
        return selected, n

    def run(self, video, out_dir, *, overwrite: bool = False) -> RunResult:
        """Process ``video`` into ``out_dir``. The outputs appear together at the end (see
        :mod:`hotdemo.io.outdir`): on an error or Ctrl-C the folder keeps what it had. A folder
        holding another input's outputs is refused unless ``overwrite``."""
        from hotdemo.io.outdir import OutputFolder
        from hotdemo.io.video import probe

        t0 = time.perf_counter()
        video = Path(video)
        info = probe(video)
        out_dir = Path(out_dir)
        stage: Dict[str, float] = {}
        warnings: List[str] = []
        with OutputFolder(out_dir, video, overwrite=overwrite) as folder, _Progress(self.verbose) as progress:
            if not info.fps_known:
                msg = f"{video.name}: the frame rate is unknown; assuming 25 fps"
                warnings.append(msg)
                progress.print(f"[yellow]warning:[/] {msg}")
            ts = time.perf_counter()
            with _warnings.catch_warnings(record=True) as caught:  # a damaged video: one line, kept in the result
                _warnings.simplefilter("always", VideoWarning)
                tracks2d, n_frames = self.detect_2d(video, info, progress)
            for c in caught:
                if issubclass(c.category, VideoWarning):
                    warnings.append(str(c.message))
                    progress.print(f"[yellow]warning:[/] {escape(str(c.message))}")
                else:
                    _warnings.showwarning(c.message, c.category, c.filename, c.lineno)
            stage["2d"] = time.perf_counter() - ts
            info = replace(info, frame_count=n_frames)  # exports and the renderer use the decoded count
            if not tracks2d:
                msg = f"no person was found in {video.name} (or none long enough to lift); outputs have no tracks"
                warnings.append(msg)
                progress.print(f"[yellow]warning:[/] {escape(msg)}")
            motion = getattr(self, "camera_motion", None)
            static = None if motion is None else not motion.moving()
            if static is False and tracks2d:
                msg = (f"{video.name}: the camera moves ({motion.summary()}); people are placed in place, "
                       "without their trajectories (--trajectory none does this for every clip)")
                warnings.append(msg)
                progress.print(f"[yellow]warning:[/] {escape(msg)}")
            tracks3d, outputs = finish_job(self.lifter, tracks2d, info, folder, video.stem, self.config, progress,
                                           stage, static_camera=static,
                                           render=lambda t3: self.render(video, info, tracks2d, t3, folder.stage,
                                                                         n_frames, progress))
        return RunResult(video, out_dir, n_frames, len(tracks3d), outputs,
                         time.perf_counter() - t0, stage, warnings)

    def render(self, video: Path, info: VideoInfo, tracks2d, tracks3d, out_dir: Path, n_frames: int,
               progress: _Progress) -> Path:
        from hotdemo.render import Renderer, render_video

        out = self.config.output
        renderer = Renderer(info, tracks2d, tracks3d, deg_per_s=out.deg_per_s, view=out.view)
        path = out_dir / f"{video.stem}_hotdemo.mp4"
        return render_video(video, info, renderer, path, tick=progress.task("render", n_frames))


def check_job(path, out_dir, *, overwrite: bool = False, keypoints: bool = False) -> None:
    """The early checks that ``run`` and ``lift`` share, before any model is loaded and without
    creating anything: the input is there and is a readable video (``keypoints``: a file, not a
    folder), and the output folder can take its outputs (:func:`hotdemo.io.outdir.check_output_folder`;
    another input's outputs are refused unless ``overwrite``). InputError otherwise."""
    from hotdemo.io.outdir import check_output_folder

    path = Path(path)
    if keypoints:
        if not path.exists():
            raise InputError(f"{path}: no such file")
        if path.is_dir():
            raise InputError(f"{path} is a folder; expected a keypoints file (.json or .npz)")
    else:
        from hotdemo.io.video import probe

        probe(path, count=False)
    check_output_folder(Path(out_dir), path, overwrite=overwrite)


def finish_job(lifter, tracks2d: Sequence[Track2D], info: VideoInfo, folder, stem: str, config: PipelineConfig,
               progress: _Progress, stage: Dict[str, float], *, static_camera: Optional[bool] = None,
               render=None) -> Tuple[List[Track3D], List[Path]]:
    """The tail that ``run`` and ``lift`` share: lift -> post -> exports (:func:`lift_and_export`)
    -> the rendered video (``render(tracks3d)`` -> its path, when given and ``config.output.render``)
    into ``folder``'s staging area, then the outputs committed together. Returns the 3D tracks and
    the committed paths."""
    tracks3d, outputs = lift_and_export(lifter, tracks2d, info, folder.stage, stem, config.output.formats,
                                        progress, stage, config, static_camera=static_camera)
    if render is not None and config.output.render:
        ts = time.perf_counter()
        outputs.append(render(tracks3d))
        stage["render"] = time.perf_counter() - ts
    return tracks3d, folder.commit(outputs)


def lift_keypoints_file(path, out_dir, config: Optional[PipelineConfig] = None, *, verbose: bool = False,
                        lifter=None, overwrite: bool = False) -> RunResult:
    """``hotdemo lift``: 2D keypoint file -> 3D exports, without any video stage.

    The same checks and tail as ``run`` (:func:`check_job`, :func:`finish_job`): the output
    folder is opened like ``run``'s (:class:`hotdemo.io.outdir.OutputFolder`): the exports are
    staged and appear together at the end (an error or Ctrl-C leaves the folder as it was), the
    folder is locked while they are written, and a folder holding the outputs of another input is
    refused unless ``overwrite``."""
    from hotdemo.io.formats.keypoints import load_lift_input
    from hotdemo.io.outdir import OutputFolder

    config = config or PipelineConfig()
    t0 = time.perf_counter()
    path = Path(path)
    out_dir = Path(out_dir)
    check_job(path, out_dir, overwrite=overwrite, keypoints=True)  # before the lifter is loaded; creates nothing
    tracks2d, info = load_lift_input(path)  # a run's export: the video's metadata, kept in the new exports
    n_frames = int(info.frame_count)
    tracks2d = _select_lift_tracks(path, tracks2d, config)
    if lifter is None:
        lifter = _load_lifter(config, resolve_device(config.runtime.device))
    stage: Dict[str, float] = {}
    warnings: List[str] = []
    with OutputFolder(out_dir, path, overwrite=overwrite) as folder, _Progress(verbose) as progress:
        if not tracks2d:  # as `run` does when nobody is found
            msg = f"no track in {path.name}; outputs have no tracks"
            warnings.append(msg)
            progress.print(f"[yellow]warning:[/] {escape(msg)}")
        tracks3d, outputs = finish_job(lifter, tracks2d, info, folder, path.stem, config, progress, stage)
    return RunResult(path, out_dir, n_frames, len(tracks3d), outputs, time.perf_counter() - t0, stage, warnings)


def _select_lift_tracks(path: Path, tracks2d: List[Track2D], config: PipelineConfig) -> List[Track2D]:
    """``--people`` / ``--track-id`` for ``hotdemo lift`` (every track otherwise, however short)."""
    from hotdemo.detect.assemble import select_tracks

    sel = config.tracks
    if sel.track_id is None:  # --people N: the N largest of those there are (none: no track to lift)
        return tracks2d if sel.people is None else select_tracks(tracks2d, people=sel.people, min_length=0)
    chosen = select_tracks(tracks2d, track_id=sel.track_id, min_length=0)
    if not chosen:
        ids = sorted({int(t.track_id) for t in tracks2d})
        raise InputError(f"{path.name} has no track {sel.track_id}; its track IDs are "
                         f"{', '.join(map(str, ids)) if ids else '(none)'}")
    return chosen
