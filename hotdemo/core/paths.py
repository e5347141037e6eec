"""Where hotdemo finds things: the shared test data, the weights cache, the bundled weights."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

PACKAGE_DIR = Path(__file__).resolve().parent.parent
#: the source checkout when hotdemo runs from one (editable install, PYTHONPATH); for an
#: installed wheel this is just site-packages, which :func:`shared_dir` does not search
REPO_DIR = PACKAGE_DIR.parent

#: package-data folder (inside ``hotdemo``) with the weights we train and ship
BUNDLED_DIRNAME = "bundled"
#: file name of the shipped lifter in :func:`bundled_weights_dir`; replacing the shipped
#: lifter means replacing this one file (and its ``.sha256``, see :func:`bundled_lifter_path`)
BUNDLED_LIFTER = "hot_mixste_h36m.pt"

#: the offline test models inside the shared folder (:func:`shared_dir`), used by the tests, the
#: benchmarks and the README's offline route: a Darknet person detector and a heatmap 2D model
OFFLINE_DETECTOR = "models/yolo-fastest-1.1-body/yolo-fastest-1.1_body.weights"
OFFLINE_POSE2D = "models/ultralight-simplepose/simplepose_256x192.onnx"


def _is_source_checkout() -> bool:
    return (REPO_DIR / "pyproject.toml").is_file() and (REPO_DIR / "hotdemo").is_dir()


def shared_dir(beside_checkout: bool = True) -> Optional[Path]:
    """The ``shared`` folder with offline test models, videos and 3D data, or None.

    ``$HOTDEMO_SHARED`` wins; otherwise, with ``beside_checkout`` and only when hotdemo runs
    from a source checkout (the test suite, benchmarks), ``../shared`` beside the checkout.
    User-facing defaults (training data) pass ``beside_checkout=False``.
    """
    env = os.environ.get("HOTDEMO_SHARED")
    candidates = [Path(env).expanduser()] if env else []
    if beside_checkout and _is_source_checkout():
        candidates.append(REPO_DIR.parent / "shared")
    for c in candidates:
        if c.is_dir():
            return c
    return None


def cache_dir() -> Path:
    """Download cache: ``$HOTDEMO_HOME`` or ``~/.cache/hotdemo``."""
    env = os.environ.get("HOTDEMO_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "hotdemo"


def bundled_weights_dir() -> Path:
    """Weights that ship with hotdemo (trained by us): package data, ``hotdemo/bundled/``,
    found through :mod:`importlib.resources` so that it works from a wheel as from a checkout."""
    from importlib.resources import files

    return Path(str(files("hotdemo").joinpath(BUNDLED_DIRNAME)))


def bundled_lifter_path() -> Path:
    """The shipped lifter file (its model card is ``README.md`` beside it, its sha256 in
    ``<file>.sha256``). The one place that says where the shipped lifter lives."""
    return bundled_weights_dir() / BUNDLED_LIFTER


def is_model_path(value, is_name=None) -> bool:
    """The one "name or path?" rule of every model option (``--detector``, ``--pose2d``,
    ``--lifter``, ``--lifter-checkpoint``, a weights name): ``value`` is a path when it names an
    existing file or has a folder part (a separator, or it starts with ``.`` or ``~``); otherwise
    a name when ``is_name(value)`` says the resolver knows it (e.g. ``yolo11n.pt``, a manifest
    name); otherwise a path when it has a file suffix (``model.onnx``), else a name."""
    s = str(value)
    if Path(s).expanduser().is_file():
        return True
    if os.sep in s or "/" in s or s.startswith((".", "~")):
        return True
    if is_name is not None and is_name(s):
        return False
    return bool(Path(s).suffix)
