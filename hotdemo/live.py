"""``hotdemo live SOURCE``: a causal pipeline for a webcam, a stream or a video file played in real time.

Data flow (each frame, in the processing loop; the source runs in its own thread):

1. :class:`FrameSource` keeps only the **latest** frame of the source (a webcam index, a stream
   URL that OpenCV opens, or a video file released at its own frame rate, as a camera would):
   when processing is slower than the source, the frames in between are dropped, never queued,
   so the output does not fall behind. Each frame carries the time it was captured.
2. The front end (detector every ``det_every`` frames, tracker, top-down 2D;
   :class:`hotdemo.frontend.FrontEnd2D`) on that one frame.
3. :class:`CausalLifter`: per track, the last ``F`` (the lifter's window) Human3.6M-17 2D poses at
   the source's frame rate (frames dropped in between are filled by linear interpolation from the
   two processed frames around them, so the window's time scale is the video's), and the lifter
   on the window that **ends at the current frame**; its last frame is the 3D pose. Joints under
   0.3 confidence keep their last confident position. People are turned upright with the body's
   up direction over their windows (:func:`hotdemo.post.world.estimate_world_rotation`) and placed as
   in ``run`` (:func:`hotdemo.post.world.to_world`).
4. The renderer of ``run`` draws the 2D overlay and the 3D panel; the frame goes to a window
   (OpenCV) and/or an H.264 file (``-o``; each processed frame is held for the frames dropped
   after it, so the file plays in real time).

:class:`LiveStats` measures the latency from capture to 3D (and to display), the processing rate
and the dropped frames.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Deque, Dict, List, Optional, Tuple

import numpy as np

from hotdemo.core.errors import InputError
from hotdemo.core.skeletons import coco_to_h36m
from hotdemo.core.types import FramePoses2D, Track2D, Track3D, VideoInfo

#: seconds a track is kept after it was last seen
FORGET_S = 2.0
MIN_SCORE = 0.3


# ---------------------------------------------------------------- the source
class FrameSource:
    """The latest frame of ``source`` (module docstring), read in a thread.

    ``source``: a webcam index (``"0"``), a URL (``rtsp://``, ``http://``, ...), or a video file,
    released in real time (``realtime=False`` releases a file's frames as fast as they are taken:
    for tests that must not depend on timing). :meth:`latest` returns ``(index, frame RGB uint8,
    capture time)`` of the newest frame not yet returned, waiting for one, or None at the end."""

    def __init__(self, source: str, *, realtime: bool = True):
        self.source = str(source)
        self.realtime = realtime
        self._cond = threading.Condition()
        self._item: Optional[Tuple[int, np.ndarray, float]] = None
        self._ended = False
        self._stop = False
        self._error: Optional[BaseException] = None
        self.captured = 0
        self._thread: Optional[threading.Thread] = None
        s = self.source
        if s.isdigit():
            self.kind = "camera"
            self._cap = self._open_cv(int(s))
        elif "://" in s:
            self.kind = "stream"
            self._cap = self._open_cv(s)
        else:
            from hotdemo.io.video import probe

            self.kind = "file"
            self.info = probe(Path(s))  # InputError / VideoError for a missing or bad file
            self.fps = float(self.info.fps or 25.0)
            self.width, self.height = int(self.info.width), int(self.info.height)
            return
        fps = float(self._cap.get(5) or 0.0)  # CAP_PROP_FPS
        self.fps = fps if 1.0 <= fps <= 240.0 else 30.0
        self.width, self.height = int(self._cap.get(3)), int(self._cap.get(4))  # CAP_PROP_FRAME_WIDTH/HEIGHT
        self.info = VideoInfo(path=s, width=self.width, height=self.height, fps=self.fps, frame_count=0)

    def _open_cv(self, what):
        import cv2

        cap = cv2.VideoCapture(what)
        if not cap.isOpened():
            raise InputError(f"cannot open {'camera' if isinstance(what, int) else 'stream'} {what!r}"
                             + (" (is a webcam connected, and may this user open it?)" if isinstance(what, int)
                                else " (check the URL and that the stream is live)"))
        return cap

    def _frames(self):
        if self.kind == "file":
            from hotdemo.io.video import iter_frames

            yield from iter_frames(Path(self.source), self.info, warn_truncated=False)
            return
        import cv2

        while True:
            ok, bgr = self._cap.read()
            if not ok:
                return
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def _run(self) -> None:
        t0 = time.monotonic()
        try:
            for i, frame in enumerate(self._frames()):
                if self._stop:
                    break
                if self.kind == "file" and self.realtime:  # a camera's pace: frame i exists at t0 + i / fps
                    wait = t0 + i / self.fps - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                with self._cond:
                    if not self.realtime:  # as fast as taken: wait until the last one was taken
                        while self._item is not None and not self._stop:
                            self._cond.wait(0.1)
                    self._item = (i, frame, time.monotonic())
                    self.captured += 1
                    self._cond.notify_all()
        except BaseException as e:  # a decoding error: raised in the processing loop
            self._error = e
        finally:
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def start(self) -> "FrameSource":
        self._thread = threading.Thread(target=self._run, name="hotdemo-live-source", daemon=True)
        self._thread.start()
        return self

    def latest(self, timeout: float = 10.0) -> Optional[Tuple[int, np.ndarray, float]]:
        with self._cond:
            end = time.monotonic() + timeout
            while self._item is None and not self._ended:
                left = end - time.monotonic()
                if left <= 0:
                    raise InputError(f"{self.source}: no frame for {timeout:.0f} s")
                self._cond.wait(left)
            if self._error is not None and self._item is None:
                raise InputError(f"{self.source}: {self._error}") from None
            item, self._item = self._item, None
            self._cond.notify_all()
            return item

    def stop(self) -> None:
        self._stop = True
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
        cap = getattr(self, "_cap", None)
        if cap is not None:
            cap.release()


# ---------------------------------------------------------------- the causal lifter
@dataclass
class _Track:
    kp: Deque[np.ndarray]  # (17, 2) H36M pixels per source frame, newest last
    sc: Deque[np.ndarray]
    last_index: int
    box: np.ndarray
    out: Optional[np.ndarray] = None  # the last window's output (F, 17, 3)


class CausalLifter:
    """Per-track windows of the last ``F`` frames and the lifter on the window ending now (module
    docstring). :meth:`update` takes one frame's 2D and returns its 3D tracks (one frame each, with
    ``joints_world``) and the 2D tracks they belong to."""

    def __init__(self, lifter, info: VideoInfo):
        self.lifter = lifter
        self.info = info
        self.F = int(lifter.frames)
        self.tracks: Dict[int, _Track] = {}
        self.forget = max(1, int(round(FORGET_S * float(info.fps or 25.0))))

    def _push(self, t: _Track, index: int, kp: np.ndarray, sc: np.ndarray) -> None:
        last_kp, last_sc = t.kp[-1], t.sc[-1]
        gap = index - t.last_index
        for k in range(1, min(gap, self.F + 1)):  # frames dropped in between: linear in time
            a = k / gap
            t.kp.append((1 - a) * last_kp + a * kp)
            t.sc.append(np.minimum(last_sc, sc))
        t.kp.append(kp)
        t.sc.append(sc)
        t.last_index = index

    def update(self, index: int, poses: FramePoses2D) -> Tuple[List[Track2D], List[Track3D]]:
        from hotdemo.post.world import estimate_world_rotation, to_world

        seen, coco = [], {}
        for tid, kp, sc, box in zip(poses.track_ids, poses.keypoints, poses.scores, poses.boxes):
            tid = int(tid)
            coco[tid] = (kp, sc, box)
            hk, hs = coco_to_h36m(kp[None].astype(np.float32), sc[None].astype(np.float32))
            hk, hs = hk[0].astype(np.float32), hs[0].astype(np.float32)
            t = self.tracks.get(tid)
            if t is not None:  # a joint the 2D is unsure of keeps its last confident place
                weak = hs < MIN_SCORE
                hk[weak] = t.kp[-1][weak]
                self._push(t, index, hk, hs)
                t.box = box
            else:
                self.tracks[tid] = _Track(deque([hk], maxlen=self.F), deque([hs], maxlen=self.F), index, box)
            seen.append(tid)
        for tid in [k for k, t in self.tracks.items() if index - t.last_index > self.forget]:
            del self.tracks[tid]
        if not seen:
            return [], []
        L = self.lifter
        wins, confs = [], []
        for tid in seen:
            t = self.tracks[tid]
            kp = np.stack(t.kp)
            sc = np.stack(t.sc)
            pad = self.F - len(kp)
            if pad > 0:  # a new person: the window starts with their first pose, repeated
                kp = np.concatenate([np.repeat(kp[:1], pad, 0), kp])
                sc = np.concatenate([np.repeat(sc[:1], pad, 0), sc])
            wins.append(kp)
            confs.append(sc)
        y = L.lift_windows(np.stack(wins), self.info.width, self.info.height, np.stack(confs))  # (N, F, 17, 3)
        t2, t3 = [], []
        for n, tid in enumerate(seen):
            t = self.tracks[tid]
            t.out = y[n] - y[n, :, :1]
            pose = t.out[-1:] if L.seq2seq else t.out[:1]
            fr = np.array([index], np.int64)
            kp, sc, box = coco[tid]  # the 2D overlay and the placement: this frame's own keypoints
            t2.append(Track2D(tid, fr, np.asarray(kp, np.float32)[None], np.asarray(sc, np.float32)[None],
                              np.asarray(box, np.float32)[None], poses.joint_format))
            t3.append(Track3D(tid, fr, pose.astype(np.float32)))
        R = estimate_world_rotation([Track3D(tid, np.arange(self.F), self.tracks[tid].out.astype(np.float32))
                                     for tid in seen])
        return t2, to_world(t3, R, t2, self.info)


# ---------------------------------------------------------------- stats
@dataclass
class LiveStats:
    """What a live run measured. Latencies in seconds: capture -> 3D, and capture -> shown/written."""

    source_fps: float
    frames_captured: int = 0
    frames_processed: int = 0
    frames_dropped: int = 0
    latency_3d: List[float] = field(default_factory=list)
    latency_out: List[float] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict:
        def ms(v, q):
            return round(1000 * float(np.percentile(v, q)), 1) if v else None

        return {
            "source_fps": round(self.source_fps, 2),
            "frames_captured": self.frames_captured,
            "frames_processed": self.frames_processed,
            "frames_dropped": self.frames_dropped,
            "processed_fps": round(self.frames_processed / self.seconds, 2) if self.seconds > 0 else None,
            "latency_3d_ms": {"median": ms(self.latency_3d, 50), "p95": ms(self.latency_3d, 95)},
            "latency_out_ms": {"median": ms(self.latency_out, 50), "p95": ms(self.latency_out, 95)},
            "seconds": round(self.seconds, 2),
        }

    def line(self) -> str:
        s = self.summary()
        return (f"{s['processed_fps']} frames/s processed of {s['source_fps']} "
                f"({self.frames_dropped} of {self.frames_captured} frames dropped); latency capture -> 3D "
                f"{s['latency_3d_ms']['median']} ms median, {s['latency_3d_ms']['p95']} ms p95; -> output "
                f"{s['latency_out_ms']['median']} ms median")


# ---------------------------------------------------------------- the loop
def has_display() -> bool:
    if os.name == "nt" or os.uname().sysname == "Darwin":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_live(source: str, config=None, *, window: bool = True, output: Optional[Path] = None,
             max_seconds: Optional[float] = None, realtime: bool = True, frontend=None, lifter=None,
             log: Optional[Callable[[str], None]] = None, report_every: float = 2.0) -> LiveStats:
    """Run the live pipeline on ``source`` until it ends, ``max_seconds`` pass, or ``q`` / Esc in the
    window. ``output``: also write the rendered frames to this H.264 file (atomically). ``config``:
    a :class:`hotdemo.pipeline.PipelineConfig` (models, ``det_every``, device, threads, view).
    ``frontend`` / ``lifter``: ready stages (tests). Returns the :class:`LiveStats`."""
    from hotdemo.pipeline import Pipeline, PipelineConfig
    from hotdemo.render import Renderer

    config = config or PipelineConfig()
    if window and not has_display():
        raise InputError("no display to open a window on; use --no-window with -o OUT.mp4")
    if not window and output is None:
        raise InputError("--no-window needs -o OUT.mp4 (the rendered frames have to go somewhere)")
    src = FrameSource(source, realtime=realtime)  # a bad source fails before models are loaded
    pipe = Pipeline(config, frontend=frontend, lifter=lifter)
    fe = pipe.frontend
    if hasattr(fe, "reset"):
        fe.reset()
    causal = CausalLifter(pipe.lifter, src.info)
    stats = LiveStats(src.fps)
    writer = None
    if output is not None:
        from hotdemo.io.video import VideoWriter

        output = Path(output)
        if output.suffix.lower() not in (".mp4", ".mkv", ".mov"):
            raise InputError(f"{output}: the live output is an H.264 video; give a .mp4 file")
        output.parent.mkdir(parents=True, exist_ok=True)
    import cv2

    win = "hotdemo live"
    t0 = time.monotonic()
    last_report, last_index = t0, -1
    src.start()
    try:
        while True:
            item = src.latest()
            if item is None:
                break
            index, frame, t_cap = item
            hold = index - last_index  # this frame stands for the ones dropped since the last
            stats.frames_dropped += max(0, hold - 1)
            last_index = index
            poses = fe.process([frame], index)[0]
            t2, t3 = causal.update(index, poses)
            stats.latency_3d.append(time.monotonic() - t_cap)
            info = src.info
            renderer = Renderer(info, t2, t3, deg_per_s=0.0, view=config.output.view, fps=src.fps)
            img = renderer.render(frame, index)
            if writer is None and output is not None:
                writer = VideoWriter(output, fps=src.fps, size=(img.shape[1], img.shape[0])).__enter__()
            if writer is not None:
                for _ in range(max(1, hold)):
                    writer.write(img)
            if window:
                cv2.imshow(win, cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
                if cv2.waitKey(1) & 0xFF in (27, ord("q")):
                    break
            stats.latency_out.append(time.monotonic() - t_cap)
            stats.frames_processed += 1
            now = time.monotonic()
            stats.seconds = now - t0
            if log is not None and now - last_report >= report_every:
                stats.frames_captured = src.captured
                log("live: " + stats.line())
                last_report = now
            if max_seconds is not None and now - t0 >= max_seconds:
                break
    except BaseException as e:
        if writer is not None:
            writer.__exit__(type(e), e, e.__traceback__)  # removes the partial file
            writer = None
        raise
    finally:
        src.stop()
        stats.frames_captured = src.captured
        stats.seconds = time.monotonic() - t0
        if window:
            cv2.destroyAllWindows()
    if writer is not None:
        writer.__exit__(None, None, None)
    return stats


__all__ = ["FrameSource", "CausalLifter", "LiveStats", "run_live", "has_display"]
