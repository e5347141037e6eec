"""Video input and output through the ffmpeg binary that ships with imageio-ffmpeg.

Why ffmpeg directly (and not OpenCV): one decoder for every container and codec, the
same on every platform; it applies rotation metadata (phone videos) itself; it tells us
about audio; and it writes H.264 (libx264, yuv420p) that plays in browsers. There is no
ffprobe in imageio-ffmpeg, so :func:`probe` parses the stream summary that ``ffmpeg -i``
prints (a stable, human-readable format that imageio-ffmpeg itself relies on).

Decisions, documented once here:

* **Rotation.** ffmpeg's autorotation is left on, so frames come out upright and
  :class:`~hotdemo.core.types.VideoInfo` reports the *displayed* size (width/height swapped for
  90/270). ``VideoInfo.rotation`` is the clockwise angle the decoder turned frames by.
* **Non-square pixels** (anamorphic video, SAR != 1) are resampled to square pixels after
  rotation (the stored width is stretched when SAR > 1, the height when SAR < 1), so frames,
  keypoints and the rendered video have the *displayed* geometry; ``VideoInfo.pixel_aspect``
  keeps the SAR (stored x = displayed x / SAR when SAR > 1).
* **Frame count.** ``duration x fps`` from the header is not a frame count (a concatenated
  .ts says half, a sparse .mkv millions, a raw .h264 nothing), so :func:`probe` counts the
  stream's packets without decoding; the decoded count remains the authority.
* **Cover art.** A picture attached to an audio file is not a video stream; a file with
  only that is rejected like a still image.
* **Variable frame rate.** Every decoded frame is yielded exactly once (``-fps_mode
  passthrough``: no frame is duplicated or dropped to force a constant rate), and
  ``VideoInfo.fps`` is the stream's *average* frame rate. Outputs written at that fps have
  the same frame count and total duration as the input; only the spacing of frames that
  were irregular in the source becomes even.
* **Damaged files.** A file ffmpeg cannot open raises :class:`~hotdemo.core.errors.VideoError`
  naming the file. A file that opens but stops decoding part way (a truncated download)
  yields the frames that decode and issues one :class:`VideoWarning` (:mod:`warnings`,
  one line naming the file and the number of frames). No decodable frame is a VideoError.
* **Memory.** Frames are streamed from a pipe one at a time; memory depends on the frame
  size and queue length, never on the video length.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import tempfile
import threading
import warnings
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Generic, Iterable, Iterator, Optional, Tuple, TypeVar, Union

import numpy as np

from hotdemo.core.errors import InputError, OutputError, VideoError
from hotdemo.core.types import VideoInfo


PathLike = Union[str, os.PathLike]
T = TypeVar("T")

#: raw formats of the ffmpeg pipes (:func:`iter_frames`, :class:`VideoWriter`): ``auto`` is
#: yuv420p for even sizes (2x fewer bytes, no RGB conversion in ffmpeg; about 1.4x less
#: decode and encode time on the 2-core machine, ``benchmarks/render.py --pass-only``) and
#: rgb24 for odd ones
PIPE_FORMATS = ("auto", "yuv420p", "rgb24")

#: File name extensions ``hotdemo batch`` treats as videos by default.
VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".ts", ".3gp")

class VideoWarning(UserWarning):
    """A video that decodes only partly (damaged or truncated file)."""


# Demuxers that read single still images; a picture renamed to .mp4 opens with one of these.
_IMAGE_DEMUXERS = re.compile(r"(_pipe$|^image2$)")


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary bundled with imageio-ffmpeg (or ``$IMAGEIO_FFMPEG_EXE``)."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


# ---------------------------------------------------------------------------- probe
def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path} is a folder; expected a video file")
    try:
        size = path.stat().st_size
    except OSError as e:  # pragma: no cover - permissions races
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from None
    if size == 0:
        raise VideoError(f"{path}: empty file (0 bytes), not a video")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied")


def _last_error_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # ffmpeg prefixes lines with "[in#0 @ 0x...]"; drop that noise.
    lines = [re.sub(r"^(\[[^\]]*\]\s*)+", "", ln) for ln in lines]
    for ln in reversed(lines):
        if "Error opening input" in ln and ":" in ln:
            return ln.split(":", 1)[1].strip()
    return lines[-1] if lines else "unknown ffmpeg error"


def _parse_rate(text: str, unit: str) -> Optional[float]:
    m = re.search(r"([\d.]+)(k?) " + unit + r"\b", text)
    if not m:
        return None
    v = float(m.group(1)) * (1000 if m.group(2) else 1)
    return v if v > 0 else None


#: Smallest displayed width and height (pixels) accepted: below this there is nobody to find.
MIN_SIDE = 16


def _attached_pic(line: str) -> bool:
    return "(attached pic)" in line


def parse_ffmpeg_info(path: PathLike, text: str) -> VideoInfo:
    """Build a :class:`VideoInfo` from the stderr of ``ffmpeg -i PATH`` (first real video stream).

    ``frame_count`` here is the header's estimate (duration x fps), which can be far off
    (concatenated or sparse files, raw streams); :func:`probe` replaces it with a count of
    the stream's packets.
    """
    path = Path(path)
    m = re.search(r"^Input #0, ([^,\s]+)", text, re.M)
    demuxer = m.group(1) if m else ""
    lines = text.splitlines()
    video_lines = [i for i, ln in enumerate(lines) if re.search(r"Stream #\d+:\d+.*: Video:", ln)]
    if not video_lines:
        raise VideoError(f"{path}: no video stream (ffmpeg sees format {demuxer or 'unknown'})")
    real = [k for k, i in enumerate(video_lines) if not _attached_pic(lines[i])]
    if not real:  # an audio file whose only picture is its cover art
        raise VideoError(f"{path}: this is an audio file with a still picture (cover art), not a video")
    stream = real[0]
    vidx = video_lines[stream]
    vline = lines[vidx]
    codec = re.search(r"Video: ([\w-]+)", vline).group(1)
    if _IMAGE_DEMUXERS.search(demuxer):
        raise VideoError(f"{path}: this is a still image ({codec}), not a video")
    size = re.search(r", (\d{1,6})x(\d{1,6})", vline)
    if not size or int(size.group(1)) == 0 or int(size.group(2)) == 0:
        raise VideoError(f"{path}: cannot read the frame size of the video stream")
    w, h = int(size.group(1)), int(size.group(2))
    sar = 1.0
    m = re.search(r"\[SAR (\d+):(\d+) DAR", vline)
    if m and int(m.group(1)) > 0 and int(m.group(2)) > 0:
        sar = int(m.group(1)) / int(m.group(2))
        if not 0.1 <= sar <= 10.0:  # nonsense metadata: keep the stored pixels
            sar = 1.0
    fps = _parse_rate(vline, "fps") or _parse_rate(vline, "tbr")
    # The stream's side data / metadata follow its line, up to the next stream.
    block = []
    for ln in lines[vidx + 1:]:
        if re.search(r"Stream #\d+:\d+", ln):
            break
        block.append(ln)
    block_text = "\n".join(block)
    rotation = 0
    m = re.search(r"rotation of (-?[\d.]+) degrees", block_text)
    if m:  # display matrix angle is counter-clockwise
        rotation = int(round(-float(m.group(1)))) % 360
    else:
        m = re.search(r"^\s*rotate\s*:\s*(-?\d+)", block_text, re.M)  # old-style tag, clockwise
        if m:
            rotation = int(m.group(1)) % 360
    rotation = (int(round(rotation / 90.0)) * 90) % 360
    if rotation in (90, 270):
        w, h = h, w
        sar = 1.0 / sar  # the decoder's transpose turns the pixel shape too
    if abs(sar - 1.0) > 1e-3:  # non-square pixels: the decoder resamples to the displayed shape
        if sar > 1:
            w = int(round(w * sar))
        else:
            h = int(round(h / sar))
    else:
        sar = 1.0
    if min(w, h) < MIN_SIDE:
        raise VideoError(f"{path}: the video is {w}x{h} pixels, too small to find people in "
                         f"(at least {MIN_SIDE}x{MIN_SIDE} is needed)")
    duration = None
    m = re.search(r"Duration: (\d+):(\d+):([\d.]+)", text)
    if m:
        duration = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    fps_known = bool(fps)
    if not fps:
        fps = 25.0
    frame_count = max(1, int(round(duration * fps))) if duration else 0
    has_audio = bool(re.search(r"Stream #\d+:\d+.*: Audio:", text))
    fm = re.search(r"focal[_ ]?length[\w.]*35\s?mm[\w.]*\s*:\s*([0-9]+(?:\.[0-9]+)?)", text, re.I)
    focal_35mm = float(fm.group(1)) if fm and 4.0 <= float(fm.group(1)) <= 1200.0 else 0.0
    return VideoInfo(path=str(path), width=w, height=h, fps=float(fps), frame_count=frame_count,
                     rotation=rotation, has_audio=has_audio, codec=codec, fps_known=fps_known,
                     pixel_aspect=sar, stream=stream, duration=duration or 0.0, focal_35mm=focal_35mm)


def probe(path: PathLike, *, count: bool = True) -> VideoInfo:
    """Read a video's metadata without decoding it.

    ``frame_count`` is the number of the video stream's packets (:func:`count_packets`), or 0
    when they could not be counted (or ``count`` is False); never the header's estimate.

    Raises :class:`InputError` for a missing path or a folder, :class:`VideoError` for an
    empty file, a file ffmpeg cannot open (text, garbage), a still image or a file with no
    video stream. Each message is one line and names the file.
    """
    path = Path(path)
    _check_file(path)
    try:
        res = subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60,
        )
    except subprocess.TimeoutExpired:
        raise VideoError(f"{path}: ffmpeg took too long to read the file header") from None
    text = res.stderr.decode("utf-8", "replace")
    if not re.search(r"^Input #0", text, re.M):
        raise VideoError(f"{path}: not a readable video ({_last_error_line(text)})")
    info = parse_ffmpeg_info(path, text)
    if not count:
        return info
    n = count_packets(path, info.stream)
    info = replace(info, frame_count=n or 0)
    if n and info.fps_known and info.fps < 1 and info.duration > 0:
        # ffmpeg prints slow rates with 4 decimals (1 frame an hour is "0.0003 fps"); the
        # frame count over the duration is exact for a regular timelapse.
        exact = n / info.duration
        if 0.5 < exact / info.fps < 2:
            info = replace(info, fps=exact)
    return info


def count_packets(path: PathLike, stream: int = 0, timeout: float = 60.0) -> Optional[int]:
    """Number of packets (frames) of video stream ``stream``, read without decoding.

    The container header's duration x fps is not a frame count (a concatenated .ts, a
    sparse .mkv, a raw .h264 have wrong or no durations); reading the packets is exact for
    ordinary files and takes a fraction of a second even for long videos. ``None`` when
    ffmpeg fails or takes longer than ``timeout`` seconds.
    """
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-nostats", "-i", str(path),
           "-map", f"0:v:{int(stream)}", "-c", "copy", "-f", "null", "-progress", "pipe:1", "-"]
    try:
        res = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             timeout=timeout)
    except (subprocess.TimeoutExpired, OSError):
        return None
    found = re.findall(rb"^frame=(\d+)", res.stdout, re.M)
    if res.returncode != 0 or not found:
        return None
    return int(found[-1])


# ---------------------------------------------------------------------------- reading
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


# ---------------------------------------------------------------------------- writing
def _temp_sibling(path: Path, tag: str = "tmp") -> Path:
    """A hidden file in the same folder as ``path``, same suffix (so ffmpeg picks the container)."""
    return path.with_name(f".{path.stem}.{tag}-{os.getpid()}-{threading.get_ident() % 100000}{path.suffix}")


#: libx264 settings on top of ``-preset veryfast`` (crf 20): the cheapest motion search
#: (diamond, subpixel refinement 1) costs 20 % less encoder CPU on the 2560x720 render for
#: 4.5 % more bytes, SSIM 0.9888 -> 0.9879 (``benchmarks/render.py --pass-quality``, figures
#: in the README); "" gives plain veryfast.
X264_PARAMS = "me=dia:subme=1"


#: full-range YCrCb chroma (OpenCV's RGB2YCrCb) -> limited range (BT.601: 16-240 around 128)
_CHROMA_SCALE = 224.0 / 255.0


def rgb_to_i420(frame: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
    """RGB uint8 (H, W, 3), H and W even -> I420 planes (3H/2, W): Y (H, W), then Cb and Cr
    (H/2, W/2 each), BT.601 limited range, what ffmpeg's RGB -> yuv420p conversion gives.

    Y is OpenCV's; chroma is taken from the 2x2 block means (OpenCV's own I420 conversion keeps
    one pixel of four, which fringes thin coloured lines: 1.2 dB lower RGB PSNR on the rendered
    video, 1.6 dB on the 2D overlay). Block means also undo :func:`iter_frames`' nearest
    chroma upsampling exactly, so a frame read and written keeps its chroma.
    """
    import cv2

    h, w = frame.shape[:2]
    if out is None:
        out = np.empty((h * 3 // 2, w), np.uint8)
    cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420, dst=out)
    small = cv2.resize(frame, (w // 2, h // 2), interpolation=cv2.INTER_AREA)  # exact 2x2 means
    ycc = cv2.cvtColor(small, cv2.COLOR_RGB2YCrCb)
    cv2.convertScaleAbs(ycc, ycc, alpha=_CHROMA_SCALE, beta=128.0 * (1.0 - _CHROMA_SCALE))
    q = (h // 2) * (w // 2)
    flat = out.reshape(-1)
    cv2.extractChannel(ycc, 2, flat[h * w: h * w + q].reshape(h // 2, w // 2))  # Cb (U), in place
    cv2.extractChannel(ycc, 1, flat[h * w + q:].reshape(h // 2, w // 2))  # Cr (V)
    return out


class VideoWriter:
    """Write RGB uint8 frames to an H.264 (libx264, yuv420p) video, atomically.

    ``size`` is (width, height). Odd sizes are padded by one black pixel row/column at the
    bottom/right, because yuv420p needs even dimensions. Frames go to a hidden temporary
    file in the destination folder that is renamed onto ``path`` only when the ``with``
    block exits cleanly; on any exception (KeyboardInterrupt included) it is deleted and
    ``path`` is untouched. If ``audio_from`` names a video with an audio stream, that
    audio is muxed in (AAC), cut to the video's length.

    ``pipe`` (:data:`PIPE_FORMATS`): ``auto`` converts each frame to yuv420p here
    (:func:`rgb_to_i420`) when both sizes are even and sends that, else sends RGB for ffmpeg
    to convert and pad.

    Usage::

        with VideoWriter("out.mp4", fps=info.fps, size=(w, h), audio_from="in.mp4") as vw:
            for frame in frames:
                vw.write(frame)

    ffmpeg converts and encodes in its own process and threads, with frames queued in the
    pipe, so the caller's drawing already overlaps the encoder (a writer thread measured no
    gain on the 2-core machine).
    """

    def __init__(self, path: PathLike, fps: float, size: Tuple[int, int], *,
                 audio_from: Optional[PathLike] = None, crf: int = 20, preset: str = "veryfast",
                 x264_params: str = X264_PARAMS, pipe: str = "auto"):
        self.path = Path(path)
        self.fps = float(fps) if fps and fps > 0 else 25.0
        self.size = (int(size[0]), int(size[1]))
        if self.size[0] <= 0 or self.size[1] <= 0:
            raise ValueError(f"bad video size {size}")
        self.pipe = _pipe_format(pipe, *self.size)
        self.audio_from = Path(audio_from) if audio_from is not None else None
        self.crf = int(crf)
        self.preset = preset
        self.x264_params = x264_params
        self.frames_written = 0
        self._gen = None
        self._tmp: Optional[Path] = None
        self._planes: Optional[np.ndarray] = None  # the yuv420p pipe's frame buffer, reused

    def _has_audio(self) -> bool:
        if self.audio_from is None:
            return False
        try:
            return probe(self.audio_from, count=False).has_audio
        except InputError:
            return False

    def open(self) -> "VideoWriter":
        import imageio_ffmpeg

        folder = self.path.parent
        if not folder.is_dir():
            raise OutputError(f"cannot write {self.path}: folder {folder} does not exist")
        self._tmp = _temp_sibling(self.path)
        try:
            self._tmp.touch()
        except OSError as e:
            raise OutputError(f"cannot write {self.path}: {e.strerror or e}") from None
        w, h = self.size
        out_params = ["-crf", str(self.crf), "-preset", self.preset, "-movflags", "+faststart"]
        if self.x264_params:
            out_params += ["-x264-params", self.x264_params]
        if w % 2 or h % 2:
            out_params += ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"]
        audio = str(self.audio_from) if self._has_audio() else None
        if audio:
            out_params += ["-shortest"]
        self._gen = imageio_ffmpeg.write_frames(
            str(self._tmp), self.size, fps=Fraction(self.fps).limit_denominator(1_000_000),
            codec="libx264", pix_fmt_in=self.pipe, pix_fmt_out="yuv420p", quality=None,
            macro_block_size=1, ffmpeg_log_level="error", output_params=out_params,
            audio_path=audio, audio_codec="aac" if audio else None,
        )
        self._gen.send(None)
        return self

    def write(self, frame: np.ndarray) -> None:
        """Append one RGB uint8 frame of shape (height, width, 3)."""
        if self._gen is None:
            raise RuntimeError("VideoWriter is not open; use it in a with block")
        w, h = self.size
        if frame.shape != (h, w, 3) or frame.dtype != np.uint8:
            raise ValueError(f"frame must be uint8 of shape {(h, w, 3)}, got {frame.dtype} {frame.shape}")
        if self.pipe == "yuv420p":
            self._planes = rgb_to_i420(frame, self._planes)
            self._gen.send(self._planes)
        else:
            self._gen.send(np.ascontiguousarray(frame))
        self.frames_written += 1

    def close(self) -> Path:
        """Finish encoding and move the file into place."""
        if self._gen is None or self._tmp is None:
            raise RuntimeError("VideoWriter is not open")
        gen, self._gen = self._gen, None
        try:
            gen.close()  # flushes and waits for ffmpeg
            if self.frames_written == 0:
                raise OutputError(f"{self.path}: no frame was written")
            os.replace(self._tmp, self.path)
        except BaseException:
            self._discard()
            raise
        self._tmp = None
        return self.path

    def abort(self) -> None:
        """Stop ffmpeg and delete the temporary file; ``path`` is left as it was."""
        gen, self._gen = self._gen, None
        if gen is not None:
            try:
                gen.close()
            except BaseException:  # ffmpeg may complain about the cut stream; nothing to keep
                pass
        self._discard()

    def _discard(self) -> None:
        if self._tmp is not None:
            try:
                self._tmp.unlink()
            except FileNotFoundError:
                pass
            self._tmp = None

    def __enter__(self) -> "VideoWriter":
        return self.open()

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False


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
