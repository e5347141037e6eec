"""Probing a video without decoding it: the ffmpeg binary, the stream summary that ``ffmpeg -i``
prints parsed into a :class:`~hotdemo.core.types.VideoInfo` (rotation, pixel aspect, frame
rate, audio, cover art), and the frame count from the stream's packets (decisions:
:mod:`hotdemo.io.video`)."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Optional, Union

from hotdemo.core.errors import InputError, VideoError
from hotdemo.core.types import VideoInfo

PathLike = Union[str, os.PathLike]

#: File name extensions ``hotdemo batch`` treats as videos by default.
VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".ts", ".3gp")

# Demuxers that read single still images; a picture renamed to .mp4 opens with one of these.
_IMAGE_DEMUXERS = re.compile(r"(_pipe$|^image2$)")


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary bundled with imageio-ffmpeg (or ``$IMAGEIO_FFMPEG_EXE``)."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()

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

