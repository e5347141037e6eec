"""Where hotdemo finds things: the shared test data, the weights cache, the bundled weights."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent


def shared_dir() -> Optional[Path]:
    """The ``shared`` folder with offline test models, videos and 3D data, or None.

    ``$HOTDEMO_SHARED`` wins; otherwise ``../shared`` beside the project checkout.
    """
    env = os.environ.get("HOTDEMO_SHARED")
    candidates = [Path(env)] if env else []
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
    """Weights that ship with the project (trained by us), in the repository's ``weights/``."""
    return REPO_DIR / "weights"
