"""Decoding: every frame of a video as an upright RGB array, streamed from an ffmpeg pipe
(:func:`iter_frames`), and a background-thread :class:`Prefetcher` that overlaps decoding with
the consumer's work (decisions: :mod:`hotdemo.io.video`)."""

from __future__ import annotations

import queue
import subprocess
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Generic, Iterable, Iterator, Optional, TypeVar

import numpy as np

from hotdemo.core.errors import VideoError
from hotdemo.core.types import VideoInfo
from hotdemo.io.video.metadata import PathLike, _last_error_line, ffmpeg_exe, probe

T = TypeVar("T")

#: raw formats of the ffmpeg pipes (:func:`iter_frames`, :class:`VideoWriter`): ``auto`` is
#: yuv420p for even sizes (half the bytes of RGB and no RGB conversion in ffmpeg, so less decode
#: and encode time: ``benchmarks/render.py --pass-only``, figures in docs/benchmarks.md) and
#: rgb24 for odd ones
PIPE_FORMATS = ("auto", "yuv420p", "rgb24")


class VideoWarning(UserWarning):
    """A video that decodes only partly (damaged or truncated file)."""


def _pipe_format(pipe: str, w: int, h: int) -> str:
    """The raw format of an ffmpeg pipe: ``yuv420p`` (half the bytes of RGB, ffmpeg skips its
    RGB conversion and OpenCV's SIMD one is used) when both sizes are even, else ``rgb24``."""
    if pipe not in PIPE_FORMATS:
        raise ValueError(f"pipe must be one of {', '.join(PIPE_FORMATS)}, got {pipe!r}")
    if pipe == "auto":
        return "yuv420p" if w % 2 == 0 and h % 2 == 0 else "rgb24"
    if pipe == "yuv420p" and (w % 2 or h % 2):
        raise ValueError(f"a yuv420p pipe needs even sizes, got {w}x{h}")
    return pipe


def iter_frames(path: PathLike, info: Optional[VideoInfo] = None, *, warn_truncated: bool = True,
                pipe: str = "auto") -> Iterator[np.ndarray]:
    """Yield every frame of ``path`` as an upright RGB uint8 array of shape (H, W, 3).

    Frames are streamed from an ffmpeg pipe (constant memory). ``info`` is :func:`probe`'s
    result, probed if not given. A damaged or truncated file yields the frames that decode
    and warns once; a file with no decodable frame raises :class:`VideoError`.
    The ffmpeg process is killed when the generator is closed early.

    ``pipe``: the raw format ffmpeg sends (see :data:`PIPE_FORMATS`); ``auto`` takes yuv420p
    for even sizes and converts to RGB with OpenCV (BT.601, limited range: ffmpeg's own rule
    for untagged video, within a few levels of its conversion), rgb24 otherwise.
    """
    path = Path(path)
    info = info or probe(path)
    w, h = info.width, info.height
    fmt = _pipe_format(pipe, w, h)
    frame_bytes = w * h * 3 // 2 if fmt == "yuv420p" else w * h * 3
    vf = []
    if info.pixel_aspect != 1.0:  # anamorphic: resample to square pixels (after autorotation)
        vf = ["-vf", f"scale={w}:{h}:flags=bicubic,setsar=1"]
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path),
           "-map", f"0:v:{info.stream}", "-fps_mode", "passthrough", *vf,
           "-f", "rawvideo", "-pix_fmt", fmt, "-"]
    if fmt == "yuv420p":
        import cv2

        planes = np.empty((h * 3 // 2, w), np.uint8)  # one I420 buffer, converted into a new RGB frame each time
    err = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                            bufsize=min(frame_bytes, 1 << 24))
    n = 0
    finished = False
    try:
        assert proc.stdout is not None
        while True:
            buf = planes if fmt == "yuv420p" else np.empty((h, w, 3), np.uint8)
            view = memoryview(buf.reshape(-1))
            got = proc.stdout.readinto(view)
            while got and got < frame_bytes:  # readinto may return short reads on pipes
                more = proc.stdout.readinto(view[got:])
                if not more:
                    break
                got += more
            if got < frame_bytes:
                break
            yield cv2.cvtColor(planes, cv2.COLOR_YUV2RGB_I420) if fmt == "yuv420p" else buf
            n += 1
        finished = True
    finally:
        if not finished and proc.poll() is None:
            proc.kill()
        if proc.stdout is not None:
            proc.stdout.close()
        rc = proc.wait()
        err.seek(0)
        errtext = err.read().decode("utf-8", "replace")
        err.close()
    if n == 0:
        raise VideoError(f"{path}: no frame could be decoded ({_last_error_line(errtext) if errtext.strip() else 'empty stream'})")
    damaged = rc != 0 or bool(errtext.strip())
    if damaged and warn_truncated:
        expect = f" of about {info.frame_count}" if info.frame_count else ""
        msg = (f"{path}: the video is damaged or truncated; using the {n}{expect} frames that decoded "
               f"(ffmpeg: {_last_error_line(errtext) if errtext.strip() else f'exit code {rc}'})")
        warnings.warn(msg, VideoWarning, stacklevel=2)


def read_frame(path: PathLike, index: int, info: Optional[VideoInfo] = None) -> np.ndarray:
    """Frame number ``index`` (0-based) of ``path``, upright RGB uint8. Decodes up to it."""
    if index < 0:
        raise IndexError("frame index must be >= 0")
    gen = iter_frames(path, info, warn_truncated=False)
    try:
        for i, frame in enumerate(gen):
            if i == index:
                return frame.copy()
    finally:
        gen.close()
    raise IndexError(f"{path}: frame {index} is past the end of the video")


def count_frames(path: PathLike, info: Optional[VideoInfo] = None) -> int:
    """Exact number of decodable frames (decodes the whole video)."""
    return sum(1 for _ in iter_frames(path, info, warn_truncated=False))


# ---------------------------------------------------------------------------- prefetch
_END = object()


class _Raised:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException):
        self.exc = exc


class Prefetcher(Generic[T]):
    """Run an iterable in a background thread, keeping at most ``maxsize`` items ready.

    Decoding (ffmpeg + the pipe copy) then overlaps with inference in the consumer. An
    exception raised by the iterable is re-raised in the consumer at the point where the
    item would have come. Stopping early (``break``, an exception in the consumer, or
    :meth:`close`) stops the thread and closes the source iterable (which kills ffmpeg).
    """

    def __init__(self, iterable: Iterable[T], maxsize: int = 8):
        self._it = iterable
        self._q: "queue.Queue" = queue.Queue(maxsize=max(1, int(maxsize)))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="hotdemo-prefetch", daemon=True)
        self._started = False

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _work(self) -> None:
        it = iter(self._it)
        try:
            for x in it:
                if not self._put(x):
                    break
            else:
                self._put(_END)
        except BaseException as e:  # noqa: BLE001 - handed over to the consumer
            self._put(_Raised(e))
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # pragma: no cover
                    pass

    def __iter__(self) -> Iterator[T]:
        if self._started:
            raise RuntimeError("a Prefetcher can be iterated only once")
        self._started = True
        self._thread.start()
        try:
            while True:
                item = self._q.get()
                if item is _END:
                    return
                if isinstance(item, _Raised):
                    raise item.exc
                yield item
        finally:
            self.close()

    def close(self) -> None:
        """Stop the background thread and wait for it (idempotent)."""
        self._stop.set()
        while True:  # unblock a producer waiting on a full queue
            try:
                self._q.get_nowait()
            except queue.Empty:
                break
        if self._started and self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def __enter__(self) -> "Prefetcher[T]":
        return self

    def __exit__(self, *exc) -> bool:
        self.close()
        return False
