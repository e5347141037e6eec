"""The render pass of ``hotdemo run``: decode the input again, draw, encode H.264."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from hotdemo.core.types import VideoInfo


def render_video(video: Path, info: VideoInfo, renderer, path: Path, *, tick=None,
                 x264_params: Optional[str] = None, pipe: str = "auto") -> Path:
    """The render pass: decode ``video`` again, draw each frame with ``renderer`` and encode
    the result to ``path`` (H.264, with the input's audio).

    Decoding runs ahead in ffmpeg and a prefetch thread, and ffmpeg encodes in its own
    threads with frames queued in its pipe, so drawing in this thread overlaps both.
    ``x264_params`` overrides :data:`hotdemo.io.video.X264_PARAMS` ("" = plain veryfast) and
    ``pipe`` the raw pipe format of both ffmpeg processes (:data:`hotdemo.io.video.PIPE_FORMATS`):
    they are for benchmarks/render.py's before / after comparisons.
    """
    from hotdemo.io.video import X264_PARAMS, Prefetcher, VideoWriter, iter_frames

    params = X264_PARAMS if x264_params is None else x264_params
    with VideoWriter(path, info.fps, renderer.output_size, audio_from=video, x264_params=params,
                     pipe=pipe) as w:
        for i, frame in enumerate(Prefetcher(iter_frames(video, info, warn_truncated=False, pipe=pipe), maxsize=8)):
            w.write(renderer.render(frame, i))
            if tick is not None:
                tick()
    return path
