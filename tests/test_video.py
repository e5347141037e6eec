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

from hotdemo.errors import InputError, OutputError, VideoError
from hotdemo.video import (Prefetcher, VideoWarning, VideoWriter, count_frames, ffmpeg_exe,
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


# ---------------------------------------------------------------- threaded writing
def _numbered_frames(n, w=64, h=48):
    """Frames that differ a lot from each other (the order is checked on the decoded video)."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 60, (h, w, 3), dtype=np.uint8)
    return [base + np.uint8(min(10 + 19 * i, 190)) for i in range(n)]


def test_threaded_writer_gives_the_same_video_in_the_same_order(tmp_path):
    frames = _numbered_frames(10)
    plain, threaded = tmp_path / "plain.mp4", tmp_path / "threaded.mp4"
    with VideoWriter(plain, 10, (64, 48)) as w:
        for f in frames:
            w.write(f)
    with VideoWriter(threaded, 10, (64, 48), threaded=True, queue_size=2) as w:
        scratch = np.empty_like(frames[0])
        for i, f in enumerate(frames):
            if i % 2:  # a lent buffer, queued without a copy
                buf = w.frame_buffer()
                buf[:] = f
                w.write(buf)
            else:  # the caller's own array: copied, so it may be overwritten at once
                scratch[:] = f
                w.write(scratch)
                scratch[:] = 0
        assert w.frames_written == len(frames)
    a, b = list(iter_frames(plain)), list(iter_frames(threaded))
    assert len(a) == len(b) == len(frames)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))  # same encoder input, frame for frame
    means = [f.mean() for f in b]
    assert means == sorted(means) and means[-1] - means[0] > 150
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.mp4", "threaded.mp4"]


def test_threaded_writer_raises_when_ffmpeg_dies_and_keeps_no_file(tmp_path):
    out = tmp_path / "dead.mp4"
    t0 = time.monotonic()
    with pytest.raises(IOError):
        with VideoWriter(out, 10, (640, 480), threaded=True) as w:
            proc = w._gen.gi_frame.f_locals.get("p") if w._gen.gi_frame is not None else None
            if proc is None:
                pytest.skip("imageio-ffmpeg keeps its process elsewhere")
            proc.kill()
            proc.wait()
            for _ in range(200):  # a frame is 0.9 MB, more than a pipe holds: the write fails
                w.write(w.frame_buffer())
    assert time.monotonic() - t0 < 30
    assert list(tmp_path.iterdir()) == []


class _SlowSend:
    """Stands in for the encoder pipe: slow, or failing at frame ``fail_at``."""

    def __init__(self, inner, delay=0.0, fail_at=None):
        self.inner, self.delay, self.fail_at, self.sent = inner, delay, fail_at, 0

    def send(self, frame):
        if self.fail_at is not None and self.sent == self.fail_at:
            raise OSError("disk full")
        time.sleep(self.delay)
        self.sent += 1
        return self.inner.send(frame)

    def close(self):
        return self.inner.close()


def test_threaded_writer_background_error_reaches_the_caller(tmp_path):
    out = tmp_path / "err.mp4"
    got = 0
    with pytest.raises(OSError, match="disk full"):
        with VideoWriter(out, 10, (64, 48), threaded=True, queue_size=2) as w:
            w._gen = _SlowSend(w._gen, fail_at=3)
            for f in _numbered_frames(50):
                w.write(f)
                got += 1
    assert 3 <= got < 50
    assert list(tmp_path.iterdir()) == []


def test_threaded_writer_error_at_close_keeps_no_file(tmp_path):
    out = tmp_path / "late.mp4"
    with pytest.raises(OSError, match="disk full"):
        with VideoWriter(out, 10, (64, 48), threaded=True, queue_size=4) as w:
            w._gen = _SlowSend(w._gen, delay=0.05, fail_at=3)
            for f in _numbered_frames(4):  # all queued before the 4th fails
                w.write(f)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_threaded_writer_caller_exception_does_not_hang(tmp_path, exc):
    out = tmp_path / "stop.mp4"
    out.write_bytes(b"previous result")
    t0 = time.monotonic()
    with pytest.raises(exc):
        with VideoWriter(out, 10, (64, 48), threaded=True, queue_size=3) as w:
            slow = w._gen = _SlowSend(w._gen, delay=0.5)  # the queue is full when the caller fails
            for f in _numbered_frames(4):
                w.write(f)
            thread = w._thread
            raise exc()
    assert slow.sent < 4  # the queued frames were dropped, not encoded
    assert time.monotonic() - t0 < 20
    assert not thread.is_alive()
    assert out.read_bytes() == b"previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stop.mp4"]


def test_frame_buffer_needs_a_threaded_writer(tmp_path):
    with VideoWriter(tmp_path / "x.mp4", 10, (64, 48)) as w:
        with pytest.raises(RuntimeError, match="threaded"):
            w.frame_buffer()
        w.write(np.zeros((48, 64, 3), np.uint8))


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
