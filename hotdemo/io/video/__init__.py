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

The code: :mod:`~hotdemo.io.video.metadata` (ffmpeg, probing), :mod:`~hotdemo.io.video.reading`
(decoding, prefetching) and :mod:`~hotdemo.io.video.writing` (encoding); this package re-exports
their names.
"""

from hotdemo.io.video.metadata import (MIN_SIDE, VIDEO_EXTENSIONS, count_packets, ffmpeg_exe,
                                       parse_ffmpeg_info, probe)
from hotdemo.io.video.reading import PIPE_FORMATS, Prefetcher, VideoWarning, count_frames, iter_frames, read_frame
from hotdemo.io.video.writing import X264_PARAMS, VideoWriter, rgb_to_i420

__all__ = [
    "MIN_SIDE", "VIDEO_EXTENSIONS", "count_packets", "ffmpeg_exe", "parse_ffmpeg_info", "probe",
    "PIPE_FORMATS", "Prefetcher", "VideoWarning", "count_frames", "iter_frames", "read_frame",
    "X264_PARAMS", "VideoWriter", "rgb_to_i420",
]
