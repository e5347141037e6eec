import re
import subprocess

import cv2
import numpy as np
import pytest

from hotdemo.render import LEFT_RGB, RIGHT_RGB, Renderer, main_track_index
from hotdemo.core.skeletons import COCO17
from hotdemo.core.synthetic import synthetic_scene
from hotdemo.core.types import VideoInfo
from hotdemo.post.world import estimate_world_rotation, to_world


def _scene(T=30, width=640, height=360, people=2):
    info, t2, t3, _, _ = synthetic_scene(people, T, width=width, height=height, fps=24.0)
    t3 = to_world(t3, estimate_world_rotation(t3), t2, info)
    return info, t2, t3


def _frame(info, value=100):
    return np.full((info.height, info.width, 3), value, np.uint8)


@pytest.mark.parametrize("w,h,expect", [
    (1920, 1080, (3840, 1080)),  # input resolution kept
    (641, 361, (1280, 360)),  # odd sizes made even
    (3840, 2160, (3840, 1080)),  # capped at max_height
    (426, 240, (1280, 360)),  # small inputs scaled up to min_height
    (720, 1280, (608 + 810, 1080)),  # portrait: right panel 3/4 of the height at least
])
def test_output_size_is_side_by_side_and_even(w, h, expect):
    info = VideoInfo("x.mp4", w, h, 30.0, 10)
    r = Renderer(info, [], [])
    W, H = r.output_size
    assert (W, H) == expect and W % 2 == 0 and H % 2 == 0
    assert r.left_w % 2 == 0 and r.right_w % 2 == 0 and r.left_w + r.right_w == W
    out = r.render(np.zeros((h, w, 3), np.uint8), 0)
    assert out.shape == (H, W, 3) and out.dtype == np.uint8


def test_left_panel_is_the_frame_with_2d_skeletons():
    info, t2, t3 = _scene()
    r = Renderer(info, t2, t3, titles=("", ""))
    frame = _frame(info)
    out = r.render(frame, 5).copy()
    left = out[:, : r.left_w]
    changed = (left != frame).any(-1)
    assert 0.002 < changed.mean() < 0.2  # skeletons drawn, the rest of the frame kept
    assert (left[-5:, -5:] == 100).all()
    t = t2[0]
    # a confident left-side bone (left hip -> left knee) is blue at its middle
    a, b = COCO17.index("left_hip"), COCO17.index("left_knee")
    x, y = np.round((t.keypoints[5, a] + t.keypoints[5, b]) / 2).astype(int)
    px = left[y - 1:y + 2, x - 1:x + 2].reshape(-1, 3).astype(int)
    assert np.abs(px - LEFT_RGB).sum(1).min() < 60
    a, b = COCO17.index("right_hip"), COCO17.index("right_knee")
    x, y = np.round((t.keypoints[5, a] + t.keypoints[5, b]) / 2).astype(int)
    px = left[y - 1:y + 2, x - 1:x + 2].reshape(-1, 3).astype(int)
    assert np.abs(px - RIGHT_RGB).sum(1).min() < 60


def test_low_confidence_joints_are_faded():
    info, t2, t3 = _scene(people=1)
    r = Renderer(info, t2, t3, titles=("", ""))
    out = r.render(_frame(info, 0), 3)
    ear = COCO17.index("left_ear")  # synthetic score 0.15 < threshold
    x, y = np.round(t2[0].keypoints[3, ear]).astype(int)
    faded = out[y, x].astype(int)
    wrist = COCO17.index("left_wrist")
    x, y = np.round(t2[0].keypoints[3, wrist]).astype(int)
    solid = out[y, x].astype(int)
    assert 0 < faded.max() < 0.6 * solid.max()


def test_3d_panel_turns_with_spin_and_stays_with_fixed_view():
    info, t2, t3 = _scene(T=60)
    spin = Renderer(info, t2, t3, deg_per_s=30.0)
    fixed = Renderer(info, t2, t3, deg_per_s=0.0)
    frame = _frame(info)
    # same pose shown at two view angles differs; the fixed view of one frame is reproducible
    a = spin.render(frame, 10)[:, spin.left_w:].copy()
    spin.azimuth0 += np.radians(30.0 * 1.0)
    b = spin.render(frame, 10)[:, spin.left_w:].copy()
    assert (a != b).any(-1).mean() > 0.01
    c = fixed.render(frame, 10)[:, fixed.left_w:].copy()
    fixed.render(frame, 30)
    d = fixed.render(frame, 10)[:, fixed.left_w:]
    assert np.array_equal(c, d)
    # the scale is steady: view distance and focal length do not depend on the frame
    assert spin.dist == fixed.dist and spin.focal == fixed.focal


def test_3d_people_are_inside_the_panel_for_every_view():
    info, t2, t3 = _scene(T=48)
    r = Renderer(info, t2, t3, deg_per_s=90.0, view="scene")
    for i in range(0, 48, 4):
        cam, M = r.view(i)
        rows = r.rows3d[:, i]
        J = np.concatenate([r.jw[p][rows[p]] for p in range(len(r.t3))])
        uv, z = r.project(J, cam, M)
        assert (z > 0).all()
        assert (uv[:, 0] > 0).all() and (uv[:, 0] < r.right_w).all()
        assert (uv[:, 1] > 0).all() and (uv[:, 1] < r.h).all()


def test_frames_without_people_or_beyond_the_tracks_render():
    info, t2, t3 = _scene(T=10)
    r = Renderer(info, t2, t3)
    out = r.render(_frame(info), 500)
    assert out.shape[::-1][1:] == r.output_size


def _ffmpeg_info(path):
    import imageio_ffmpeg

    exe = imageio_ffmpeg.get_ffmpeg_exe()
    head = subprocess.run([exe, "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    count = subprocess.run([exe, "-hide_banner", "-i", str(path), "-map", "0:v:0", "-f", "null", "-"],
                           capture_output=True, text=True).stderr
    frames = int(re.findall(r"frame=\s*(\d+)", count)[-1])
    return head, frames


def test_rendered_video_is_h264_yuv420p_at_source_fps_with_every_frame(tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    from hotdemo.io.video import VideoWriter

    info, t2, t3 = _scene(T=18, width=480, height=360)
    r = Renderer(info, t2, t3, deg_per_s=20.0)
    out = tmp_path / "render.mp4"
    with VideoWriter(out, info.fps, r.output_size) as w:
        for i in range(info.frame_count):
            w.write(r.render(_frame(info, (i * 7) % 255), i))
    head, frames = _ffmpeg_info(out)
    video = [ln for ln in head.splitlines() if "Video:" in ln][0]
    assert "h264" in video and "yuv420p" in video
    assert f"{r.output_size[0]}x{r.output_size[1]}" in video
    assert re.search(r"\b24 fps\b", video)
    assert frames == info.frame_count


def _depth_scene(T=60):
    from hotdemo.core.synthetic import depth_scene

    info, t2, t3 = depth_scene(T)
    return info, t2, to_world(t3, estimate_world_rotation(t3), t2, info)


def _extent(r, i, p, k=0):
    """Vertical pixel extent of track p's 3D joints in 3D panel k at frame i, and its centre."""
    cam, M = r.view(i, k)
    uv, z = r.project(r.jw[p][r.rows3d[p, i]], cam, M, k)
    assert (z > 0).all()
    return np.ptp(uv[:, 1]), uv.mean(axis=0)


def test_main_view_centres_the_main_person_large_and_steady():
    info, t2, t3 = _depth_scene()
    assert main_track_index(t3, t2) == 0  # the near person: largest boxes
    scene = Renderer(info, t2, t3, view="scene", deg_per_s=20.0)
    main = Renderer(info, t2, t3, view="main", deg_per_s=20.0)
    ext = []
    for i in range(0, 60, 3):
        e, c = _extent(main, i, 0)
        ext.append(e)
        assert e >= 0.6 * main.h  # fills at least 60 % of the panel height
        assert abs(c[0] - main.right_w / 2) < 0.12 * main.right_w  # centred
        assert _extent(scene, i, 0)[0] < 0.3 * scene.h  # the whole-scene view shows it small
    assert np.std(ext) / np.mean(ext) < 0.1  # steady scale: no pumping
    # the others are drawn at their places: the far people are smaller and off-centre
    e2, c2 = _extent(main, 30, 1)
    assert e2 < 0.5 * ext[10] and abs(c2[0] - main.right_w / 2) > 0.1 * main.right_w
    out = main.render(_frame(info), 30)
    assert out.shape[::-1][1:] == main.output_size


def test_grid_view_has_one_panel_per_person_up_to_four():
    info, t2, t3 = _depth_scene()
    r = Renderer(info, t2, t3, view="grid")
    assert len(r.views) == 3
    for k, v in enumerate(r.views):
        assert v.x0 + v.w <= r.right_w and v.y0 + v.h <= r.h
        p = int(v.only[0])
        e, c = _extent(r, 20, p, k)
        assert e >= 0.5 * v.h and abs(c[0] - v.w / 2) < 0.15 * v.w
    panel = r.render(_frame(info), 20)[:, r.left_w:]
    for v in r.views:  # every sub-panel has a skeleton drawn in it (left/right colours)
        sub = panel[v.y0: v.y0 + v.h, v.x0: v.x0 + v.w].astype(int)
        assert (np.abs(sub - LEFT_RGB).sum(-1) < 60).sum() > 20
    many = [t3[0]] + [t3[0].__class__(t3[0].track_id + 10 * k, t3[0].frames, t3[0].joints_cam,
                                       joints_world=t3[0].joints_world) for k in range(1, 6)]
    assert len(Renderer(info, [], many, view="grid").views) == 4


def test_unknown_view_is_rejected():
    info, t2, t3 = _scene(T=5)
    with pytest.raises(ValueError, match="view"):
        Renderer(info, t2, t3, view="side")


def test_render_pass_yuv_pipes_give_the_rgb_pipes_video_in_order(tmp_path):
    """render_video with the default yuv420p pipes (OpenCV converts) is as faithful to
    the drawn frames as with rgb24 pipes (ffmpeg converts), every frame, in order."""
    from hotdemo.render import render_video
    from hotdemo.io.video import ffmpeg_exe, iter_frames, probe

    clip = tmp_path / "in.mp4"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=320x240:rate=12", "-t", "1.5", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    str(clip)], check=True)
    info = probe(clip)
    _, t2, t3 = _scene(T=info.frame_count, width=320, height=240)
    r = Renderer(info, t2, t3, deg_per_s=30.0)
    rgb = render_video(clip, info, r, tmp_path / "rgb.mp4", pipe="rgb24")
    ticks = []
    yuv = render_video(clip, info, r, tmp_path / "yuv.mp4", tick=lambda: ticks.append(1))
    a, b = list(iter_frames(rgb, pipe="rgb24")), list(iter_frames(yuv, pipe="rgb24"))
    assert len(a) == len(b) == info.frame_count == len(ticks) == 18
    drawn = [r.render(f, i).astype(int) for i, f in enumerate(iter_frames(clip, pipe="rgb24"))]
    err_rgb = np.mean([np.abs(x - d).mean() for x, d in zip(a, drawn)])
    err_yuv = np.mean([np.abs(y - d).mean() for y, d in zip(b, drawn)])
    assert err_yuv < 1.15 * err_rgb + 0.3, (err_yuv, err_rgb)
    # in order: frame i of the output shows input frame i (testsrc2 changes every frame)
    src = list(iter_frames(clip))
    left = [f[:, : r.left_w] for f in b]
    for i in (0, 9, 17):
        d = [np.abs(left[i].astype(int) - cv2.resize(s, (r.left_w, r.h)).astype(int)).mean() for s in src]
        assert int(np.argmin(d)) == i


def test_moving_people_leave_a_trail_and_planted_feet_are_marked():
    import dataclasses

    from hotdemo.post.trajectory import fit_scene
    from hotdemo.detect.assemble import to_h36m

    info, t2, t3, _, _ = synthetic_scene(1, 60)
    h = to_h36m(t2[0])
    (p,), _ = fit_scene([t3[0].joints_cam], [h.keypoints], [h.scores], info.width, info.height, info.fps)
    moving = dataclasses.replace(t3[0], joints_world=p.joints_world, root_cam=p.root_cam,
                                 contacts=np.ones((60, 2), bool))
    still = dataclasses.replace(moving, root_cam=None, contacts=None)
    frame = np.zeros((info.height, info.width, 3), np.uint8)
    a = Renderer(info, t2, [moving], deg_per_s=0, view="scene").render(frame, 59)
    b = Renderer(info, t2, [still], deg_per_s=0, view="scene").render(frame, 59)
    diff = np.abs(a.astype(int) - b.astype(int)).sum(-1) > 30
    assert diff[:, info.width:].sum() > 200  # the trail and the foot marks, in the 3D panel only
    assert not diff[:, : a.shape[1] // 2].any()
