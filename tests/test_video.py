"""Video I/O: probe, decode (rotation, VFR, truncation), atomic H.264 writing, prefetching.

All inputs are made here with the bundled ffmpeg (tiny sizes, a second or two long).
"""

from __future__ import annotations

import subprocess
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from hotdemo.core.errors import InputError, OutputError, VideoError
from hotdemo.io.video import (Prefetcher, VideoWarning, VideoWriter, count_frames, ffmpeg_exe,
                           iter_frames, parse_ffmpeg_info, probe, read_frame)


def ff(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args], check=True)


def make_clip(path: Path, w=64, h=48, fps=10, seconds=1.0, audio=False, extra=()) -> Path:
    args = ["-f", "lavfi", "-i", f"testsrc2=size={w}x{h}:rate={fps}"]
    if audio:
        args += ["-f", "lavfi", "-i", "sine=frequency=440"]
    args += ["-t", str(seconds), "-c:v", "libx264", "-pix_fmt", "yuv420p", *extra]
    if audio:
        args += ["-c:a", "aac"]
    ff(*args, str(path))
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("v") / "clip.mp4", audio=True)


def test_probe_reads_metadata(clip):
    info = probe(clip)
    assert (info.width, info.height) == (64, 48)
    assert info.fps == pytest.approx(10.0)
    assert info.frame_count == 10
    assert info.rotation == 0 and info.has_audio and info.codec == "h264"


def test_frames_are_rgb_uint8_and_counted(clip):
    frames = list(iter_frames(clip))
    assert len(frames) == 10
    assert all(f.shape == (48, 64, 3) and f.dtype == np.uint8 for f in frames)
    # Frames differ over time (testsrc2 animates), so they are not one buffer reused.
    assert np.abs(frames[0].astype(int) - frames[-1]).mean() > 1


def test_rgb_order(tmp_path):
    """A pure red clip decodes with red in channel 0 (not BGR)."""
    p = tmp_path / "red.mp4"
    ff("-f", "lavfi", "-i", "color=c=red:size=32x32:rate=5", "-t", "0.4", "-c:v", "libx264",
       "-pix_fmt", "yuv420p", str(p))
    f = read_frame(p, 0)
    r, g, b = f.reshape(-1, 3).mean(0)
    assert r > 200 and g < 50 and b < 50


@pytest.mark.parametrize("display_rotation,expected_cw", [(90, 270), (-90, 90), (180, 180)])
def test_rotation_metadata_is_honoured(clip, tmp_path, display_rotation, expected_cw):
    rot = tmp_path / "rot.mp4"
    ff("-display_rotation", str(display_rotation), "-i", str(clip), "-c", "copy", str(rot))
    info = probe(rot)
    assert info.rotation == expected_cw
    if expected_cw in (90, 270):
        assert (info.width, info.height) == (48, 64)
    upright = read_frame(clip, 3)
    got = read_frame(rot, 3)
    assert got.shape == (info.height, info.width, 3)
    # np.rot90 with k = -1 turns clockwise by 90 degrees.
    want = np.rot90(upright, k=-expected_cw // 90)
    assert np.abs(got.astype(int) - want).mean() < 2


def test_old_style_rotate_tag_parsed():
    text = ("Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x.mp4':\n  Duration: 00:00:02.00, start: 0.0\n"
            "  Stream #0:0(und): Video: h264 (High), yuv420p, 1920x1080, 30 fps, 30 tbr\n"
            "    Metadata:\n      rotate          : 90\n")
    info = parse_ffmpeg_info("x.mp4", text)
    assert info.rotation == 90 and (info.width, info.height) == (1080, 1920)
    assert info.frame_count == 60 and not info.has_audio


def test_variable_frame_rate_yields_every_frame_once(tmp_path):
    """VFR policy: every decoded frame once (no duplicates), fps = the average rate."""
    p = tmp_path / "vfr.mp4"
    # 30 fps source, keep frames 0-9 and 30-59: a 0.7 s hole, 40 frames over 2 s.
    ff("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=30", "-t", "2",
       "-vf", "select='lt(n,10)+gte(n,30)'", "-fps_mode", "vfr", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(p))
    info = probe(p)
    assert count_frames(p) == 40  # a constant-30-fps decode would give 60
    assert info.fps == pytest.approx(20.0, rel=0.05)
    assert info.frame_count == 40


def test_one_frame_video(tmp_path):
    p = make_clip(tmp_path / "one.mp4", seconds=0.1)
    info = probe(p)
    frames = list(iter_frames(p))
    assert len(frames) == 1 and info.frame_count == 1


def test_truncated_file_yields_decodable_frames_and_warns_once(tmp_path):
    full = make_clip(tmp_path / "full.mp4", seconds=3, extra=("-g", "5", "-movflags", "+faststart"))
    data = full.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        frames = list(iter_frames(cut))
    assert 0 < len(frames) < 30
    msgs = [w for w in rec if issubclass(w.category, VideoWarning)]
    assert len(msgs) == 1
    text = str(msgs[0].message)
    assert "cut.mp4" in text and "truncated" in text and "\n" not in text


def test_intact_file_does_not_warn(clip):
    with warnings.catch_warnings():
        warnings.simplefilter("error", VideoWarning)
        assert len(list(iter_frames(clip))) == 10


def test_truncated_header_is_a_video_error(tmp_path, clip):
    cut = tmp_path / "head.mp4"
    cut.write_bytes(clip.read_bytes()[:2000])
    with pytest.raises(VideoError, match="head.mp4"):
        probe(cut)


@pytest.mark.parametrize("kind", ["missing", "folder", "empty", "text", "image"])
def test_bad_inputs(tmp_path, kind):
    import cv2

    p = tmp_path / f"{kind}.mp4"
    if kind == "folder":
        p.mkdir()
    elif kind == "empty":
        p.write_bytes(b"")
    elif kind == "text":
        p.write_text("this is not a video\n" * 20)
    elif kind == "image":
        ok, buf = cv2.imencode(".png", np.zeros((20, 30, 3), np.uint8))
        p.write_bytes(buf.tobytes())
    expected = VideoError if kind in ("empty", "text", "image") else InputError
    with pytest.raises(expected) as ei:
        probe(p)
    msg = str(ei.value)
    assert p.name in msg and "\n" not in msg
    if kind == "image":
        assert "image" in msg


def test_path_with_spaces_and_non_ascii(tmp_path, clip):
    d = tmp_path / "dossier été 視頻"
    d.mkdir()
    src = d / "mon clip ü.mp4"
    src.write_bytes(clip.read_bytes())
    assert probe(src).frame_count == 10
    out = d / "sortie ü.mp4"
    with VideoWriter(out, 10, (64, 48)) as w:
        for f in iter_frames(src):
            w.write(f)
    assert count_frames(out) == 10


def test_early_close_kills_ffmpeg(clip):
    gen = iter_frames(clip)
    next(gen)
    gen.close()  # must not hang or leave a zombie; a second decode still works
    assert count_frames(clip) == 10


# ---------------------------------------------------------------- writing
def test_writer_roundtrip_h264_yuv420p(tmp_path):
    out = tmp_path / "out.mp4"
    frames = [np.full((48, 64, 3), v, np.uint8) for v in range(0, 250, 25)]
    with VideoWriter(out, 12.5, (64, 48)) as w:
        for f in frames:
            w.write(f)
    info = probe(out)
    assert info.codec == "h264" and info.fps == pytest.approx(12.5)
    text = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(out)], capture_output=True, text=True).stderr
    assert "yuv420p" in text
    back = list(iter_frames(out))
    assert len(back) == len(frames)
    means = np.array([f.mean() for f in back])
    assert np.all(np.abs(means - np.arange(0, 250, 25)) < 4)
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]


def test_writer_odd_size_is_padded(tmp_path):
    out = tmp_path / "odd.mp4"
    with VideoWriter(out, 10, (33, 21)) as w:
        for _ in range(3):
            w.write(np.full((21, 33, 3), 200, np.uint8))
    info = probe(out)
    assert (info.width, info.height) == (34, 22)
    f = read_frame(out, 0)
    assert f[:21, :33].mean() > 190  # content kept, not rescaled


def test_writer_muxes_audio(tmp_path, clip):
    out = tmp_path / "with_audio.mp4"
    with VideoWriter(out, 10, (64, 48), audio_from=clip) as w:
        for f in iter_frames(clip):
            w.write(f)
    assert probe(out).has_audio
    out2 = tmp_path / "no_audio.mp4"
    silent = make_clip(tmp_path / "silent.mp4")
    with VideoWriter(out2, 10, (64, 48), audio_from=silent) as w:
        w.write(np.zeros((48, 64, 3), np.uint8))
    assert not probe(out2).has_audio


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_writer_is_atomic_on_exception(tmp_path, exc):
    out = tmp_path / "atomic.mp4"
    out.write_bytes(b"previous result")
    with pytest.raises(exc):
        with VideoWriter(out, 10, (64, 48)) as w:
            for i in range(5):
                w.write(np.zeros((48, 64, 3), np.uint8))
            raise exc()
    assert out.read_bytes() == b"previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atomic.mp4"]


def test_writer_rejects_wrong_frames_and_bad_folder(tmp_path):
    with pytest.raises(ValueError):
        with VideoWriter(tmp_path / "x.mp4", 10, (64, 48)) as w:
            w.write(np.zeros((64, 48, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(OutputError, match="does not exist"):
        VideoWriter(tmp_path / "nope" / "x.mp4", 10, (64, 48)).open()


# ---------------------------------------------------------------- pipe formats
def test_yuv_pipe_decodes_like_ffmpegs_rgb_conversion(tmp_path):
    clip = make_clip(tmp_path / "c.mp4", w=96, h=64, seconds=0.5)
    a, b = list(iter_frames(clip, pipe="rgb24")), list(iter_frames(clip, pipe="yuv420p"))
    assert len(a) == len(b) == 5
    for x, y in zip(a, b):
        assert y.shape == (64, 96, 3) and y.dtype == np.uint8 and y.flags.writeable
        d = np.abs(x.astype(int) - y.astype(int))
        assert d.mean() < 1.5 and np.percentile(d, 99) <= 12  # chroma upsampling differs at colour edges
    assert not any(np.shares_memory(b[0], f) for f in b[1:])  # each frame is its own array


@pytest.mark.parametrize("w,h", [(64, 48), (63, 47)])
def test_written_colours_read_back(tmp_path, w, h):
    """Flat colours through the writer (yuv pipe for even sizes, RGB + pad for odd ones) and back
    through ffmpeg's own conversion: a wrong matrix or range would shift them by 10-40 levels."""
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (40, 140, 255), (235, 235, 235), (22, 24, 30)]
    out = tmp_path / "c.mp4"
    with VideoWriter(out, 10, (w, h)) as vw:
        assert vw.pipe == ("yuv420p" if w % 2 == 0 else "rgb24")
        for c in colours:
            vw.write(np.full((h, w, 3), c, np.uint8))
    back = list(iter_frames(out, pipe="rgb24"))
    assert len(back) == len(colours)
    for c, f in zip(colours, back):
        centre = f[8:h - 8, 8:w - 8].reshape(-1, 3).mean(0)
        assert np.abs(centre - c).max() <= 4, (c, centre)


def test_rgb_to_i420_is_bt601_limited_with_block_mean_chroma():
    """Y as OpenCV's I420 (BT.601, 16-235); Cb / Cr from the 2x2 block means by the BT.601
    limited-range formulas, to rounding; a point-sampled chroma would be off by tens of levels."""
    import cv2

    from hotdemo.io.video import rgb_to_i420

    rng = np.random.default_rng(0)
    h, w = 48, 64
    f = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    out = rgb_to_i420(f)
    assert out.shape == (h * 3 // 2, w) and out.dtype == np.uint8
    assert np.array_equal(out[:h], cv2.cvtColor(f, cv2.COLOR_RGB2YUV_I420)[:h])
    m = f.astype(float).reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3))
    r, g, b = m[..., 0], m[..., 1], m[..., 2]
    cb = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    cr = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    q = (h // 2) * (w // 2)
    flat = out.reshape(-1)
    assert np.abs(flat[h * w: h * w + q].reshape(h // 2, w // 2) - cb).max() <= 1.5
    assert np.abs(flat[h * w + q:].reshape(h // 2, w // 2) - cr).max() <= 1.5
    again = rgb_to_i420(f[::-1].copy(), out)  # the buffer is reused and fully rewritten
    assert again is out and np.array_equal(out, rgb_to_i420(f[::-1].copy()))


def test_yuv_pipe_needs_even_sizes(tmp_path):
    with pytest.raises(ValueError, match="even"):
        VideoWriter(tmp_path / "x.mp4", 10, (63, 48), pipe="yuv420p")
    with pytest.raises(ValueError, match="pipe must be"):
        VideoWriter(tmp_path / "x.mp4", 10, (64, 48), pipe="bgr24")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- prefetch
def test_prefetcher_order_and_bound():
    produced = []

    def gen():
        for i in range(50):
            produced.append(i)
            yield i

    pf = Prefetcher(gen(), maxsize=4)
    it = iter(pf)
    assert next(it) == 0
    time.sleep(0.2)
    # At most: 1 consumed + 4 queued + 1 blocked in put.
    assert len(produced) <= 6
    assert list(it) == list(range(1, 50))


def test_prefetcher_propagates_exceptions():
    def gen():
        yield 1
        raise ValueError("boom")

    got = []
    with pytest.raises(ValueError, match="boom"):
        for x in Prefetcher(gen(), maxsize=2):
            got.append(x)
    assert got == [1]


def test_prefetcher_early_stop_closes_source():
    closed = threading.Event()

    def gen():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    pf = Prefetcher(gen(), maxsize=2)
    for x in pf:
        if x == 3:
            break
    assert closed.wait(5)
    assert not pf._thread.is_alive()


def test_prefetcher_works_ahead_in_background():
    """While the consumer holds item 0, the source keeps producing in another thread."""
    produced = []
    threads = set()

    def gen():
        for i in range(10):
            threads.add(threading.get_ident())
            produced.append(i)
            yield i

    it = iter(Prefetcher(gen(), maxsize=4))
    assert next(it) == 0
    deadline = time.monotonic() + 5
    while len(produced) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(produced) >= 5
    assert threading.get_ident() not in threads
    assert list(it) == list(range(1, 10))
