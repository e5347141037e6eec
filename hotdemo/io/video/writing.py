"""Encoding: RGB frames to an H.264 (libx264, yuv420p) file written atomically
(:class:`VideoWriter`), with the RGB -> I420 conversion done here (:func:`rgb_to_i420`)."""

from __future__ import annotations

import os
import threading
from fractions import Fraction
from pathlib import Path
from typing import Optional, Tuple

import numpy as np

from hotdemo.core.errors import InputError, OutputError
from hotdemo.io.video.metadata import PathLike, probe
from hotdemo.io.video.reading import _pipe_format

def _temp_sibling(path: Path, tag: str = "tmp") -> Path:
    """A hidden file in the same folder as ``path``, same suffix (so ffmpeg picks the container)."""
    return path.with_name(f".{path.stem}.{tag}-{os.getpid()}-{threading.get_ident() % 100000}{path.suffix}")


#: libx264 settings on top of ``-preset veryfast`` (crf 20): the cheapest motion search
#: (diamond, subpixel refinement 1) trades a little file size and SSIM for less encoder CPU
#: (``benchmarks/render.py --pass-quality``, figures in docs/benchmarks.md); "" gives plain
#: veryfast.
X264_PARAMS = "me=dia:subme=1"


#: full-range YCrCb chroma (OpenCV's RGB2YCrCb) -> limited range (BT.601: 16-240 around 128)
_CHROMA_SCALE = 224.0 / 255.0


def rgb_to_i420(frame: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
    """RGB uint8 (H, W, 3), H and W even -> I420 planes (3H/2, W): Y (H, W), then Cb and Cr
    (H/2, W/2 each), BT.601 limited range, what ffmpeg's RGB -> yuv420p conversion gives.

    Y is OpenCV's; chroma is taken from the 2x2 block means (OpenCV's own I420 conversion keeps
    one pixel of four, which fringes thin coloured lines and lowers the RGB PSNR of the rendered
    video and the 2D overlay). Block means also undo :func:`iter_frames`' nearest
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
    pipe, so the caller's drawing already overlaps the encoder (a writer thread of our own
    brings nothing more).
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

