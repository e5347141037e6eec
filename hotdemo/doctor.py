"""``hotdemo doctor``: check a user's set-up, one line per check, then run the whole pipeline.

Each check is a :class:`Check` (name, ok, detail). ``ok`` is True / False, or None for a fact
that is neither (no GPU on a CPU machine is not a fault). :func:`run_checks` yields them in
order; the command prints each as it comes and exits 0 only when none failed.

The checks, in order:

1. Python and the packages hotdemo needs (imported, with their versions);
2. ffmpeg from imageio-ffmpeg, with the libx264 encoder;
3. ONNX Runtime and its execution providers;
4. CUDA / cuDNN as torch sees them (and whether ONNX Runtime can use CUDA);
5. the download cache folder is writable;
6. each model the pipeline would use (detector, 2D, lifter): present and verified against its
   manifest checksum or structure, else downloadable (a one-byte ranged request to each URL);
7. the whole pipeline (``Pipeline.run``: detect, track, 2D, lift, export, render) on the short
   clip that ships in the package (:data:`CLIP`, made by ``tools/make_doctor_clip.py`` from the
   ``bus.jpg`` photograph of the ultralytics package), and whether a person with plausible
   keypoints and an upright 3D pose of human size came out (:func:`plausible`).
"""

from __future__ import annotations

import importlib
import tempfile
import time
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import numpy as np

from hotdemo.core.errors import HotdemoError
from hotdemo.core.paths import bundled_weights_dir

#: the clip the pipeline check runs on (package data)
CLIP_NAME = "doctor_bus.mp4"

#: import name -> distribution name, for the package check
PACKAGES = (("numpy", "numpy"), ("scipy", "scipy"), ("torch", "torch"), ("ultralytics", "ultralytics"),
            ("cv2", "opencv-python"), ("onnxruntime", "onnxruntime"), ("onnx", "onnx"), ("imageio", "imageio"),
            ("imageio_ffmpeg", "imageio-ffmpeg"), ("typer", "typer"), ("rich", "rich"))


@dataclass(frozen=True)
class Check:
    name: str
    ok: Optional[bool]  #: True passed, False failed, None informational
    detail: str


def clip_path() -> Path:
    return bundled_weights_dir() / CLIP_NAME


# ---------------------------------------------------------------- the checks
def check_packages() -> Check:
    import platform
    from importlib.metadata import PackageNotFoundError, version

    found, missing = [], []
    for mod, dist in PACKAGES:
        try:
            importlib.import_module(mod)
        except Exception as e:  # ImportError, or a broken binary wheel
            missing.append(f"{dist} ({type(e).__name__}: {str(e).splitlines()[0][:60]})")
            continue
        try:
            found.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:  # e.g. opencv installed under another distribution name
            found.append(f"{dist} {getattr(importlib.import_module(mod), '__version__', '?')}")
    detail = f"Python {platform.python_version()}; " + ", ".join(found)
    if missing:
        return Check("packages", False, "cannot import " + ", ".join(missing) + "; reinstall: pip install hotdemo")
    return Check("packages", True, detail)


def check_ffmpeg() -> Check:
    import subprocess

    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
        enc = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=30).stdout
    except Exception as e:
        return Check("ffmpeg", False, f"no usable ffmpeg ({type(e).__name__}: {e}); pip install imageio-ffmpeg")
    if "libx264" not in enc:
        return Check("ffmpeg", False, f"{exe} has no libx264 encoder (rendered videos need H.264)")
    return Check("ffmpeg", True, f"{exe} with libx264")


def check_onnxruntime() -> Check:
    try:
        import onnxruntime as ort
    except Exception as e:
        return Check("onnxruntime", False, f"cannot import onnxruntime ({e})")
    prov = ort.get_available_providers()
    ok = "CPUExecutionProvider" in prov
    return Check("onnxruntime", ok, f"{ort.__version__}, providers: {', '.join(prov)}")


def check_cuda(device: str = "auto") -> Check:
    import torch

    avail = torch.cuda.is_available()
    want_cuda = str(device).startswith("cuda")
    if not avail:
        why = f"torch {torch.__version__} sees no CUDA GPU"
        if want_cuda:
            return Check("cuda", False, f"--device {device} was asked for, but {why}")
        return Check("cuda", None, f"{why}: hotdemo runs on the CPU")
    try:
        import onnxruntime as ort

        ort_cuda = "CUDAExecutionProvider" in ort.get_available_providers()
    except Exception:
        ort_cuda = False
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    name = torch.cuda.get_device_name(0)
    detail = (f"{name}, CUDA {torch.version.cuda}, cuDNN {cudnn or 'not found'}; ONNX Runtime "
              + ("can use CUDA" if ort_cuda else "has no CUDA provider (onnxruntime-gpu is not installed): "
                                                 "ONNX models run on the CPU"))
    return Check("cuda", cudnn is not None, detail)


def check_cache() -> Check:
    from hotdemo.io.weights import weights_cache_dir

    d = weights_cache_dir()
    try:
        d.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=d, prefix=".doctor-", delete=True) as f:
            f.write(b"x")
    except OSError as e:
        return Check("cache", False, f"cannot write to {d} ({e.strerror or e}); set $HOTDEMO_HOME to a writable folder")
    return Check("cache", True, f"{d} is writable")


def _reachable(url: str, timeout: float = 10.0) -> Optional[str]:
    """None when ``url`` answers a one-byte ranged GET with 200 or 206, else why not."""
    req = urllib.request.Request(url, headers={"User-Agent": "hotdemo-doctor/1", "Range": "bytes=0-0"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            r.read(1)
            return None
    except Exception as e:
        from hotdemo.io.weights import _classify

        return _classify(e).reason


def check_model(stage: str, name_or_path: Optional[str], *, weights_dir=None, network: bool = True) -> Check:
    """A built-in model is present and verified, or downloadable; a given file exists."""
    from hotdemo.io.weights import find_local, get_spec, resolve

    spec = get_spec(name_or_path) if name_or_path else None
    p = Path(str(name_or_path)).expanduser() if name_or_path else None
    if spec is None:
        if p is not None and p.is_file():
            return Check(stage, True, f"{p} (your file; not in the manifest, so not verified)")
        return Check(stage, False, f"{name_or_path}: no such file")
    local = find_local(spec, weights_dir)
    if local is not None:
        try:
            got = resolve(spec.name, weights_dir=weights_dir, download=False, progress=False)
        except HotdemoError as e:
            return Check(stage, False, str(e))
        return Check(stage, True, f"{spec.name}: {got} (verified: {spec.check})")
    if spec.shipped:
        return Check(stage, False, f"{spec.filename} is missing from the package; reinstall hotdemo")
    if not network:
        return Check(stage, False, f"{spec.name} is not downloaded (network checks are off)")
    why = []
    for url in spec.urls:
        r = _reachable(url)
        if r is None:
            return Check(stage, True, f"{spec.name}: not downloaded yet; {url} answers (it is fetched on first use, "
                                      f"or now with `hotdemo weights download {spec.name}`)")
        why.append(f"{url} ({r})")
    return Check(stage, False, f"{spec.name} is not downloaded and cannot be: {'; '.join(why)}. Offline, "
                               f"give local files (--detector / --pose2d) or put {spec.filename} in "
                               f"--weights-dir")


def plausible(npz: Path) -> Tuple[int, List[str]]:
    """(how many people in a hotdemo NPZ export are plausible, what is wrong with the others).
    Plausible: 2D scores >= 0.3 on average; head above shoulders above hips above ankles in the
    image on >= 80 % of frames; a finite 3D pose, upright in the world frame (head above pelvis
    above both ankles) on >= 80 % of frames, 1.2-2.2 m from the ankles to the top of the head."""
    d = np.load(npz, allow_pickle=False)
    ids = d["track_ids"]
    if len(ids) == 0:
        return 0, ["no person was found"]
    problems, n_ok = [], 0
    for t in ids:
        m2, m3 = d["track_id_2d"] == t, d["track_id_3d"] == t
        k, s, w = d["keypoints_2d"][m2], d["scores_2d"][m2], d["joints_3d_world"][m3]
        if not len(k) or not len(w):
            problems.append(f"person {t}: no 2D or 3D")
            continue
        y = k[..., 1]
        order = np.mean((y[:, 0] < y[:, 5:7].mean(1)) & (y[:, 5:7].mean(1) < y[:, 11:13].mean(1))
                        & (y[:, 11:13].mean(1) < y[:, 15:17].mean(1)))
        z = w[..., 2]
        upright = np.mean((z[:, 10] > z[:, 0]) & (z[:, 0] > z[:, [3, 6]].max(1)))
        height = float(np.median(z[:, 10] - z[:, [3, 6]].min(1)))
        bad = []
        if s.mean() < 0.3:
            bad.append(f"mean 2D score {s.mean():.2f} < 0.3")
        if order < 0.8:
            bad.append(f"head-shoulders-hips-ankles in order in the image on {order:.0%} of frames")
        if not np.isfinite(w).all():
            bad.append("non-finite 3D")
        elif upright < 0.8:
            bad.append(f"upright in 3D on {upright:.0%} of frames")
        elif not 1.2 <= height <= 2.2:
            bad.append(f"3D height {height:.2f} m")
        if bad:
            problems.append(f"person {t}: " + ", ".join(bad))
        else:
            n_ok += 1
    return n_ok, problems


def check_pipeline(config, clip: Optional[Path] = None) -> Check:
    """Run the whole pipeline on ``clip`` (default: the shipped one) into a temporary folder."""
    from hotdemo.pipeline import Pipeline

    clip = Path(clip) if clip is not None else clip_path()
    if not clip.is_file():
        return Check("pipeline", False, f"{clip} is missing from the package; reinstall hotdemo")
    cfg = replace(config, output=replace(config.output, formats=("npz",), render=True),
                  tracks=replace(config.tracks, people=None, track_id=None))
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hotdemo-doctor-") as tmp:
        try:
            with Pipeline(cfg, verbose=False) as pipe:
                result = pipe.run(clip, Path(tmp) / "out")
        except HotdemoError as e:
            return Check("pipeline", False, f"on {clip.name}: {e}")
        npz = Path(tmp) / "out" / f"{clip.stem}.npz"
        video = Path(tmp) / "out" / f"{clip.stem}_hotdemo.mp4"
        if not npz.is_file() or not video.is_file() or video.stat().st_size == 0:
            return Check("pipeline", False, f"on {clip.name}: the run wrote no poses or no video")
        n_ok, problems = plausible(npz)
    dt = time.perf_counter() - t0
    if not n_ok:
        return Check("pipeline", False, f"on {clip.name} ({result.frames} frames, {dt:.1f} s): "
                                        f"no plausible person ({'; '.join(problems)})")
    return Check("pipeline", True, f"on {clip.name}: {result.frames} frames, {result.people} "
                                   f"{'person' if result.people == 1 else 'people'} found, {n_ok} with plausible 2D "
                                   f"keypoints and an upright 3D pose of human size; video rendered; {dt:.1f} s")


def run_checks(config=None, *, network: bool = True, clip: Optional[Path] = None) -> Iterator[Check]:
    """Every check in order (module docstring). ``config``: the :class:`PipelineConfig` whose models
    are checked and run (default: the defaults); ``network``: probe downloads of missing models."""
    from hotdemo.detect.detector import manifest_name as detector_weights
    from hotdemo.pipeline import PipelineConfig
    from hotdemo.pose2d.registry import manifest_name as pose2d_weights
    from hotdemo.io.weights import shipped_specs

    config = config or PipelineConfig()
    for fn in (check_packages, check_ffmpeg, check_onnxruntime):
        yield fn()
    yield check_cuda(config.runtime.device)
    cache = check_cache()
    yield cache
    wd = str(config.runtime.weights_dir) if config.runtime.weights_dir else None
    models = [
        check_model("detector", detector_weights(config.detect.detector) or config.detect.detector, weights_dir=wd, network=network),
        check_model("pose2d", pose2d_weights(config.pose.pose2d) or config.pose.pose2d, weights_dir=wd, network=network),
        check_model("lifter", str(config.lift.checkpoint) if config.lift.checkpoint else shipped_specs()[0].name,
                    weights_dir=wd, network=network),
    ]
    yield from models
    if all(m.ok for m in models) and cache.ok:
        yield check_pipeline(config, clip)
    else:
        yield Check("pipeline", False, "not run: a model above is missing or the cache is not writable")


__all__ = ["Check", "run_checks", "plausible", "check_model", "check_pipeline", "clip_path", "CLIP_NAME"]
