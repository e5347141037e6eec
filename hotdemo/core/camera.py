"""Camera geometry: quaternion rotations, world <-> camera frames, projection, screen normalisation.

Conventions (the same as the Human3.6M tools the field uses, e.g. VideoPose3D):

* A camera's orientation is a unit quaternion ``q = (w, x, y, z)`` that rotates camera-frame
  vectors into the world frame (``R = rot(q)``); its translation ``t`` is the camera centre in
  the world, in **metres** here (the Human3.6M file stores millimetres; :func:`load_cameras`
  converts). World to camera: ``X_cam = R^T (X_world - t)``; camera to world:
  ``X_world = R X_cam + t``.
* Camera frame: metres, x right, y down, z forward (out of the lens).
* Pixels: origin at the top-left corner, x right, y down.
* Projection with Human3.6M's distortion model: on the normalised image plane
  ``u = X/Z`` (clamped to [-1, 1] as VideoPose3D does), ``r2 = |u|^2``,
  ``u_d = u (1 + k1 r2 + k2 r2^2 + k3 r2^3 + p . u) + p r2``, pixels ``= f u_d + c``.
* Screen normalisation (what the lifters consume): ``X / w * 2 - [1, h / w]``, which maps the
  image width to [-1, 1] and keeps the aspect ratio.

All functions take NumPy arrays with any leading batch shape and broadcast the camera
parameters over it. Nothing here loops over frames or joints.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Union

import numpy as np

from hotdemo.core.errors import InputError

ArrayLike = Union[np.ndarray, float]


# ----------------------------------------------------------------------------- quaternions
def qrot(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors ``v`` (..., 3) by unit quaternions ``q`` (..., 4) in (w, x, y, z) order.

    ``q`` broadcasts against ``v``'s leading dimensions. Returns (..., 3).
    Uses ``v' = v + 2 w (q_v x v) + 2 q_v x (q_v x v)``.
    """
    q = np.asarray(q, dtype=np.float64)
    v = np.asarray(v)
    if q.shape[-1] != 4 or v.shape[-1] != 3:
        raise ValueError(f"qrot expects q (..., 4) and v (..., 3), got {q.shape} and {v.shape}")
    w = q[..., :1]
    qv = q[..., 1:]
    uv = np.cross(qv, v)
    uuv = np.cross(qv, uv)
    return (v + 2.0 * (w * uv + uuv)).astype(np.result_type(v.dtype, np.float32), copy=False)


def qinverse(q: np.ndarray) -> np.ndarray:
    """Inverse of unit quaternions (..., 4), (w, x, y, z): the conjugate."""
    q = np.asarray(q, dtype=np.float64)
    return np.concatenate([q[..., :1], -q[..., 1:]], axis=-1)


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) of unit quaternions (..., 4) in (w, x, y, z) order."""
    q = np.asarray(q, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = (q[..., i] for i in range(4))
    m = np.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
            2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
            2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
        ],
        axis=-1,
    )
    return m.reshape(q.shape[:-1] + (3, 3))


# ----------------------------------------------------------------------------- frames
def world_to_camera(x_world: np.ndarray, orientation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """World points (..., 3) metres -> camera frame (..., 3) metres: ``R^T (X - t)``.

    ``orientation``: quaternion (4,) or broadcastable (..., 4), camera-to-world;
    ``translation``: camera centre (3,) in world **metres**.
    """
    x = np.asarray(x_world) - np.asarray(translation, dtype=np.float32)
    return qrot(qinverse(orientation), x)


def camera_to_world(x_cam: np.ndarray, orientation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """Camera-frame points (..., 3) metres -> world (..., 3) metres: ``R X + t``."""
    return qrot(orientation, x_cam) + np.asarray(translation, dtype=np.float32)


# ----------------------------------------------------------------------------- projection
def project(
    x_cam: np.ndarray,
    focal: ArrayLike,
    center: ArrayLike,
    radial: Optional[ArrayLike] = None,
    tangential: Optional[ArrayLike] = None,
    clamp: bool = True,
) -> np.ndarray:
    """Project camera-frame points (..., 3) to pixels (..., 2) with radial+tangential distortion.

    ``focal`` (2,) or (..., 2) pixels (fx, fy); ``center`` (2,) or (..., 2) pixels;
    ``radial`` (3,) or (..., 3) k1..k3 and ``tangential`` (2,) or (..., 2) p1, p2; None for
    a pinhole camera. Camera parameters broadcast against the points' leading dimensions,
    e.g. (B, 1, 1, 2) for points (B, T, J, 3). With ``clamp`` the normalised image
    coordinates are clamped to [-1, 1] before distortion, as VideoPose3D does (it keeps the
    polynomial from blowing up far off-axis); use ``clamp=False`` for an exact pinhole with
    a wide field of view. Points must be in front of the camera (Z > 0).
    """
    x_cam = np.asarray(x_cam)
    uv = x_cam[..., :2] / x_cam[..., 2:3]
    if clamp:
        uv = np.clip(uv, -1.0, 1.0)
    f = np.asarray(focal, dtype=np.float32)
    c = np.asarray(center, dtype=np.float32)
    if radial is None and tangential is None:
        return f * uv + c
    k = np.zeros(3, np.float32) if radial is None else np.asarray(radial, dtype=np.float32)
    p = np.zeros(2, np.float32) if tangential is None else np.asarray(tangential, dtype=np.float32)
    r2 = np.sum(uv * uv, axis=-1, keepdims=True)
    radial_term = 1.0 + np.sum(k * np.concatenate([r2, r2 ** 2, r2 ** 3], axis=-1), axis=-1, keepdims=True)
    tan_term = np.sum(p * uv, axis=-1, keepdims=True)
    uv_d = uv * (radial_term + tan_term) + p * r2
    return f * uv_d + c


# ----------------------------------------------------------------------------- screen coords
def normalize_screen_coordinates(x: np.ndarray, w: ArrayLike, h: ArrayLike) -> np.ndarray:
    """Pixels (..., 2) -> screen-normalised (..., 2): ``x / w * 2 - [1, h / w]``.

    ``w``/``h``: scalars or arrays broadcastable to ``x.shape[:-1]`` (e.g. (B, 1, 1) for
    (B, T, J, 2)). The image's x range maps to [-1, 1], y to [-h/w, h/w] (aspect kept). Computed
    in float64 for float64 pixels (as the official demo does), else in float32.
    """
    x = np.asarray(x)
    if x.shape[-1] != 2:
        raise ValueError(f"expected (..., 2) pixel coordinates, got {x.shape}")
    dtype = np.float64 if x.dtype == np.float64 else np.float32
    w = np.asarray(w, dtype=dtype)
    h = np.asarray(h, dtype=dtype)
    return np.stack([x[..., 0] / w * 2.0 - 1.0, x[..., 1] / w * 2.0 - h / w], axis=-1)


def image_coordinates(x: np.ndarray, w: ArrayLike, h: ArrayLike) -> np.ndarray:
    """Inverse of :func:`normalize_screen_coordinates`: screen-normalised (..., 2) -> pixels."""
    x = np.asarray(x)
    if x.shape[-1] != 2:
        raise ValueError(f"expected (..., 2) coordinates, got {x.shape}")
    w = np.asarray(w, dtype=np.float32)
    h = np.asarray(h, dtype=np.float32)
    return np.stack([(x[..., 0] + 1.0) * w / 2.0, (x[..., 1] + h / w) * w / 2.0], axis=-1)


# ----------------------------------------------------------------------------- camera records
@dataclass(frozen=True)
class Camera:
    """One calibrated camera. Translation in metres, orientation camera-to-world (w, x, y, z)."""

    id: str
    focal: np.ndarray  # (2,) pixels
    center: np.ndarray  # (2,) pixels
    radial: np.ndarray  # (3,) k1, k2, k3
    tangential: np.ndarray  # (2,) p1, p2
    width: int
    height: int
    orientation: np.ndarray = field(default_factory=lambda: np.array([1.0, 0.0, 0.0, 0.0]))  # (4,)
    translation: np.ndarray = field(default_factory=lambda: np.zeros(3))  # (3,) metres

    def world_to_camera(self, x_world: np.ndarray) -> np.ndarray:
        return world_to_camera(x_world, self.orientation, self.translation)

    def camera_to_world(self, x_cam: np.ndarray) -> np.ndarray:
        return camera_to_world(x_cam, self.orientation, self.translation)

    def project(self, x_cam: np.ndarray) -> np.ndarray:
        """Camera-frame points (..., 3) -> pixels (..., 2) with this camera's distortion."""
        return project(x_cam, self.focal, self.center, self.radial, self.tangential)


def load_cameras(path: Union[str, Path]) -> Dict[str, List[Camera]]:
    """Read a Human3.6M ``cameras.json``: ``subject -> [Camera x 4]`` (subjects without extrinsics skipped).

    The file holds a list of 4 ``intrinsics`` (``id``, ``center``, ``focal_length``,
    ``radial_distortion``, ``tangential_distortion``, ``res_w``, ``res_h``) and, per subject,
    4 ``extrinsics`` (``orientation`` quaternion w,x,y,z camera-to-world, ``translation`` in mm).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        intr = data["intrinsics"]
        extr = data["extrinsics"]
    except FileNotFoundError:
        raise InputError(f"camera file not found: {path}") from None
    except (ValueError, KeyError, TypeError) as e:
        raise InputError(f"not a Human3.6M cameras.json ({e.__class__.__name__}: {e}): {path}") from None
    out: Dict[str, List[Camera]] = {}
    for subject, cams in extr.items():
        if not cams or not all(c.get("orientation") and c.get("translation") for c in cams):
            continue
        out[subject] = [
            Camera(
                id=str(i["id"]),
                focal=np.asarray(i["focal_length"], dtype=np.float32),
                center=np.asarray(i["center"], dtype=np.float32),
                radial=np.asarray(i["radial_distortion"], dtype=np.float32),
                tangential=np.asarray(i["tangential_distortion"], dtype=np.float32),
                width=int(i["res_w"]),
                height=int(i["res_h"]),
                orientation=np.asarray(e["orientation"], dtype=np.float64),
                translation=np.asarray(e["translation"], dtype=np.float64) / 1000.0,
            )
            for i, e in zip(intr, cams)
        ]
    return out
