"""The look shared by both panels (and the HTML viewer): side and track colours, and text
labels drawn once and reused.

Colours (RGB): the subject's left side blue, right side red, centre line light grey, in both
panels; each track also has its own colour for its box, ID label and floor ring.
"""

from __future__ import annotations

import functools
from typing import Tuple

import cv2
import numpy as np

from hotdemo.core.skeletons import Skeleton

LEFT_RGB = (40, 140, 255)
RIGHT_RGB = (255, 70, 60)
CENTER_RGB = (235, 235, 235)
#: distinct colours for track IDs (RGB)
TRACK_PALETTE = np.array([
    (255, 196, 0), (0, 220, 140), (200, 90, 255), (255, 120, 190), (120, 220, 255),
    (170, 255, 80), (255, 150, 60), (110, 140, 255), (240, 240, 120), (80, 255, 230),
], dtype=np.uint8)
_FONT = cv2.FONT_HERSHEY_DUPLEX
_SHIFT = 4  # fixed-point bits for sub-pixel line endpoints
_ONE = 1 << _SHIFT


def _even(x: float) -> int:
    return max(2, int(round(x / 2.0)) * 2)


def track_color(track_id: int) -> Tuple[int, int, int]:
    return tuple(int(c) for c in TRACK_PALETTE[int(track_id) % len(TRACK_PALETTE)])


def _side_colors(sk: Skeleton) -> np.ndarray:
    lut = {"left": LEFT_RGB, "right": RIGHT_RGB, "center": CENTER_RGB}
    return np.array([lut[sk.edge_side(e)] for e in sk.edges], dtype=np.float64)


def _joint_colors(sk: Skeleton) -> np.ndarray:
    c = np.tile(np.array(CENTER_RGB, np.float64), (sk.num_joints, 1))
    c[list(sk.left)] = LEFT_RGB
    c[list(sk.right)] = RIGHT_RGB
    return c



@functools.lru_cache(maxsize=512)
def _label_image(text: str, scale: float, fg: tuple, bg: tuple, thick: int) -> np.ndarray:
    """A label (text on a filled box) drawn once and reused: putText is the costliest call per frame."""
    (tw, th), base = cv2.getTextSize(text, _FONT, scale, thick)
    pad = max(2, int(round(th * 0.3)))
    img = np.empty((th + base + 2 * pad + 1, tw + 2 * pad + 1, 3), np.uint8)
    img[:] = bg
    cv2.putText(img, text, (pad, th + pad), _FONT, scale, fg, thick, cv2.LINE_AA)
    img.setflags(write=False)
    return img


def _label(img: np.ndarray, text: str, org: Tuple[int, int], scale: float, fg, bg, thick: int = 1) -> None:
    """Text with a filled background box; ``org`` is the box's bottom-left corner (kept inside ``img``)."""
    lab = _label_image(text, float(scale), tuple(int(c) for c in fg), tuple(int(c) for c in bg), int(thick))
    h, w = lab.shape[:2]
    H, W = img.shape[:2]
    x = min(max(int(org[0]), 0), max(W - w + 1, 0))
    y = min(max(int(org[1]), h - 1), H) - (h - 1)  # top row
    y0, x0 = max(y, 0), max(x, 0)
    y1, x1 = min(y + h, H), min(x + w, W)
    if y1 > y0 and x1 > x0:
        np.copyto(img[y0:y1, x0:x1], lab[y0 - y: y1 - y, x0 - x: x1 - x])


@functools.lru_cache(maxsize=16)
def _title_image(text: str, scale: float, thick: int) -> np.ndarray:
    (tw, th), base = cv2.getTextSize(text, _FONT, scale, thick)
    pad = int(round(th * 0.6))
    img = np.zeros((th + base + 2 * pad, tw + 3 * pad, 3), np.uint8)
    cv2.putText(img, text, (int(1.5 * pad), th + pad), _FONT, scale, (255, 255, 255), thick, cv2.LINE_AA)
    img.setflags(write=False)
    return img


def _title(img: np.ndarray, text: str, scale: float, thick: int) -> None:
    """Title at the top-left corner on a darkened band (halves the pixels under it); the white
    text is drawn once and laid over the band with a per-pixel maximum."""
    t = _title_image(text, float(scale), int(thick))
    roi = img[: t.shape[0], : t.shape[1]]
    roi >>= 1
    np.maximum(roi, t[: roi.shape[0], : roi.shape[1]], out=roi)
