"""The weights manifest: one :class:`WeightSpec` per downloadable file (publisher URL, public
mirrors, pinned or published digests, licence), the shipped lifter's entry, and where a file is
looked for (:func:`search_dirs`, :func:`find_local`). How a file is checked is in
:mod:`hotdemo.io.weights.checks`, how it is downloaded in :mod:`hotdemo.io.weights.download`."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

from hotdemo.core.paths import bundled_lifter_path, bundled_weights_dir, cache_dir

PathLike = Union[str, os.PathLike]


@dataclass(frozen=True)
class WeightSpec:
    """One downloadable weights file."""

    name: str  #: manifest name, used on the command line (``--pose2d hrnet_w32_coco_256x192``)
    url: str  #: the publisher's URL (tried first)
    sha256: str  #: lowercase hex: the full pinned digest, a published prefix, or "" (checked by structure)
    size: Optional[int]  #: bytes, or None where upstream does not publish it
    licence: str
    filename: str  #: file name in the cache / weights folder
    kind: str  #: "detector", "pose2d" or "lifter"
    description: str
    hash_source: str = ""  #: where the checksum (or the structure check) comes from
    #: for a zip: the member to unpack (matched by the end of its path, e.g. ``end2end.onnx``)
    archive_member: Optional[str] = None
    shipped: bool = False  #: inside the package (no download, ``url`` empty)
    mirrors: Tuple[str, ...] = ()  #: further URLs of the same file, tried in order after ``url``
    #: (H, W) of a SimCC ONNX model's input: what :func:`check_simcc_onnx` checks the download against
    simcc_input_hw: Optional[Tuple[int, int]] = None
    #: full sha256 of the unpacked member of an archive, where independent pins agree ("" = none)
    unpacked_sha256: str = ""

    @property
    def full_hash(self) -> bool:
        return len(self.sha256) == 64

    @property
    def urls(self) -> Tuple[str, ...]:
        return tuple(u for u in (self.url, *self.mirrors) if u)

    @property
    def check(self) -> str:
        """How a download is verified: ``pinned``, ``prefix`` or ``structure`` (:mod:`hotdemo.io.weights`)."""
        if self.full_hash or self.unpacked_sha256:
            return "pinned"
        if self.sha256:
            return "prefix"
        return "structure"

    @property
    def local_name(self) -> str:
        """The file a caller gets: ``filename``, or for an archive ``<zip stem><member suffix>``."""
        if self.archive_member:
            return Path(self.filename).stem + Path(self.archive_member).suffix
        return self.filename


MANIFEST: Dict[str, WeightSpec] = {
    s.name: s
    for s in (
        WeightSpec(
            name="yolo11n",
            url="https://github.com/ultralytics/assets/releases/download/v8.3.0/yolo11n.pt",
            sha256="0ebbc80d4a7680d14987a577cd21342b65ecfd94632bd9a8da63ae6417644ee1",
            size=5_613_764,
            licence="AGPL-3.0 (Ultralytics; enterprise licence available from Ultralytics)",
            filename="yolo11n.pt",
            kind="detector",
            description="YOLO11n COCO detector (person class used), Ultralytics release v8.3.0",
            hash_source="digest of the v8.3.0 release asset, pinned identically by several independent projects",
        ),
        WeightSpec(
            name="hrnet_w32_coco_256x192",
            url=(
                "https://download.openmmlab.com/mmpose/v1/body_2d_keypoint/topdown_heatmap/coco/"
                "td-hm_hrnet-w32_8xb64-210e_coco-256x192-81c58e40_20220909.pth"
            ),
            sha256="81c58e40",
            size=None,
            licence="Apache-2.0 (OpenMMLab mmpose model zoo); trained on COCO (annotations CC BY 4.0)",
            filename="td-hm_hrnet-w32_8xb64-210e_coco-256x192-81c58e40_20220909.pth",
            kind="pose2d",
            description="HRNet-W32 top-down COCO-17 keypoints, 256x192 input (mmpose, COCO val AP 0.749)",
            hash_source="sha256 prefix in the mmpose file name; the full digest is recorded on first download",
        ),
    )
}

#: openmmlab's RTMPose SDK folder, and the public mirror of openmmlab's ``mmpose/v1/projects/``
#: tree that rtmlib (>= 0.0.16) falls back to (same relative paths)
_MMPOSE_PROJECTS = "https://download.openmmlab.com/mmpose/v1/projects/"
_PROJECTS_MIRROR = "https://huggingface.co/Tau-J/RTMPose/resolve/main/"
_RTMPOSE_SDK = "rtmposev1/onnx_sdk/"
_RTMPOSE_MODELS = (
    # name, zip file, description (COCO val AP / GFLOPs from mmpose's RTMPose README)
    ("rtmpose_t_body7_256x192", "rtmpose-t_simcc-body7_pt-body7_420e-256x192-026a1439_20230504.zip",
     "RTMPose-t body7 256x192 (COCO AP 65.9, 0.36 GFLOPs)"),
    ("rtmpose_s_body7_256x192", "rtmpose-s_simcc-body7_pt-body7_420e-256x192-acd4a1ef_20230504.zip",
     "RTMPose-s body7 256x192 (COCO AP 69.7, 0.68 GFLOPs)"),
    ("rtmpose_m_body7_256x192", "rtmpose-m_simcc-body7_pt-body7_420e-256x192-e48f03d0_20230504.zip",
     "RTMPose-m body7 256x192 (COCO AP 74.9, 1.93 GFLOPs)"),
    ("rtmpose_l_body7_256x192", "rtmpose-l_simcc-body7_pt-body7_420e-256x192-4dba18fc_20230504.zip",
     "RTMPose-l body7 256x192 (COCO AP 76.7, 4.16 GFLOPs)"),
    ("rtmpose_l_body7_384x288", "rtmpose-l_simcc-body7_pt-body7_420e-384x288-3f5a1437_20230504.zip",
     "RTMPose-l body7 384x288 (COCO AP 78.3, 9.35 GFLOPs)"),
    ("rtmpose_x_body7_384x288", "rtmpose-x_simcc-body7_pt-body7_700e-384x288-71d7b7e9_20230629.zip",
     "RTMPose-x body7 384x288 (COCO AP 78.8, 17.22 GFLOPs)"),
)
#: full digests of RTMPose SDK zips (or of their end2end.onnx) that two independent public sources
#: agree on: name -> (zip sha256, end2end.onnx sha256, where from); see the README's limitations
_RTMPOSE_PINNED: Dict[str, Tuple[str, str, str]] = {
    "rtmpose_t_body7_256x192": (
        "937003a70832d9cc34ea16927f504792f3133e92dda1b9c626236bbbe9e805cb",
        "a6c2f6a3896a4d51131d14d7a80a3d08b50f559af5a58a45d5b098aef510a70f",
        "zip and end2end.onnx sha256 pinned alike by independent public projects' model manifests"),
    "rtmpose_s_body7_256x192": (
        "7673922e531014906ca4f0f239b7e233b740146a10b632deaa2a28d45470d802",
        "9aeb635b83f86aea45cf45d85798f7eba1a162de8e0d721c44e54fe5eebaf47d",
        "zip and end2end.onnx sha256 pinned alike by independent public projects' model manifests"),
    "rtmpose_m_body7_256x192": (
        "", "5c0a4bf67953e6d2ac43ce15e77dc9d5d354ae18430a47d2c5963a7bc5683e3c",
        "end2end.onnx sha256 pinned alike by independent public projects (the zip's by one only: recorded)"),
    "rtmpose_l_body7_256x192": (
        "", "cff059fd58a2c0d5fabaddcd66a96abcfb327563bcb0149ea59c9de4a8990fe2",
        "end2end.onnx sha256 pinned alike by two independent public projects (the zip's: recorded)"),
    "rtmpose_x_body7_384x288": (
        "", "df0c0fa91e9870b1515dcaff741fd76cc753dcfb12786862f61b243bae81cd52",
        "end2end.onnx sha256 pinned alike by two independent public projects (the zip's: recorded)"),
}
#: zip sizes in bytes, where the pinning sources give them
_RTMPOSE_ZIP_SIZE = {"rtmpose_t_body7_256x192": 12_547_710, "rtmpose_s_body7_256x192": 20_496_303}
for _name, _zip, _desc in _RTMPOSE_MODELS:
    _h, _w = (int(v) for v in re.search(r"_(\d+)x(\d+)$", _name).groups())
    _zip_pin, _onnx_pin, _pin_source = _RTMPOSE_PINNED.get(_name, ("", "", ""))
    MANIFEST[_name] = WeightSpec(
        name=_name, url=_MMPOSE_PROJECTS + _RTMPOSE_SDK + _zip, sha256=_zip_pin, size=_RTMPOSE_ZIP_SIZE.get(_name),
        licence="Apache-2.0 (OpenMMLab mmpose RTMPose); trained on body7 (COCO, AIC, CrowdPose, MPII, "
                "sub-JHMDB, Halpe, PoseTrack18: see each dataset's terms)",
        filename=_zip, kind="pose2d",
        description=_desc + ", ONNX for the mmdeploy SDK, COCO-17 SimCC outputs",
        hash_source=(_pin_source + "; " if _pin_source else
                     "no digest published (the 8 hex digits in the zip's name are the .pth's sha256 prefix); ")
        + f"end2end.onnx checked by structure (input Bx3x{_h}x{_w}, simcc_x Bx17x{2 * _w}, simcc_y Bx17x{2 * _h})"
        + ("" if _zip_pin and _onnx_pin else "; the full digest is recorded on first download"),
        archive_member="end2end.onnx",
        mirrors=(_PROJECTS_MIRROR + _RTMPOSE_SDK + _zip,),
        simcc_input_hw=(_h, _w),
        unpacked_sha256=_onnx_pin,
    )
del _name, _zip, _desc, _h, _w, _zip_pin, _onnx_pin, _pin_source


def _read_sha256_file(path: Path) -> str:
    """The digest in a ``sha256sum``-format file, or "" when it is missing or malformed."""
    try:
        word = path.read_text(encoding="ascii").split()[0].lower()
    except (OSError, UnicodeDecodeError, IndexError):
        return ""
    return word if _is_digest(word) else ""


def _is_digest(word: str) -> bool:
    return len(word) == 64 and all(c in "0123456789abcdef" for c in word.lower())


def shipped_specs() -> List[WeightSpec]:
    """The weights that ship inside the package (the default lifter), checksums from the
    ``.sha256`` files beside them."""
    p = bundled_lifter_path()
    return [WeightSpec(
        name=p.stem, url="", sha256=_read_sha256_file(p.with_name(p.name + ".sha256")), size=None,
        licence="research only (trained by hotdemo on Human3.6M motion)", filename=p.name, kind="lifter",
        description="HoT-MixSTE lifter trained by hotdemo, shipped in the package (model card: README.md beside it)",
        hash_source=f"{p.name}.sha256 shipped beside it", shipped=True,
    )]


def all_specs() -> List[WeightSpec]:
    """The downloadable manifest entries, then the shipped ones."""
    return list(MANIFEST.values()) + shipped_specs()


# ------------------------------------------------------------------ lookup
def get_spec(name: str) -> Optional[WeightSpec]:
    """The entry (downloadable or shipped) for a name or its file name (case-insensitive), else None."""
    key = str(name).strip().lower()
    for s in all_specs():
        if key in (s.name.lower(), s.filename.lower(), s.local_name.lower()) or key == Path(s.filename).stem.lower():
            return s
    return None


def _weights_dir_from_env() -> Optional[Path]:
    env = os.environ.get("HOTDEMO_WEIGHTS_DIR")
    return Path(env).expanduser() if env else None


def weights_cache_dir() -> Path:
    """Folder downloads go to: ``cache_dir()/weights``."""
    return cache_dir() / "weights"


def search_dirs(weights_dir: Optional[PathLike] = None) -> List[Path]:
    """The folders searched for a manifest file, in order."""
    dirs: List[Path] = []
    if weights_dir:
        dirs.append(Path(weights_dir).expanduser())
    env = _weights_dir_from_env()
    if env is not None:
        dirs.append(env)
    dirs += [bundled_weights_dir(), weights_cache_dir()]
    out: List[Path] = []
    for d in dirs:
        if d not in out:
            out.append(d)
    return out


def find_local(spec: WeightSpec, weights_dir: Optional[PathLike] = None) -> Optional[Path]:
    """First existing copy of ``spec``'s file in :func:`search_dirs` (for a shipped entry: the
    package's own copy), unverified; None if none. For an archive: the unpacked file if there is
    one anywhere, else the archive itself."""
    if spec.shipped:
        p = bundled_lifter_path().with_name(spec.filename)
        return p if p.is_file() else None
    names_ = [spec.local_name, spec.filename] if spec.archive_member else [spec.filename]
    for name in names_:
        for d in search_dirs(weights_dir):
            p = d / name
            if p.is_file():
                return p
    return None


def names(kind: Optional[str] = None) -> List[str]:
    return [s.name for s in all_specs() if kind is None or s.kind == kind]


def format_size(n: Optional[int]) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return str(n)  # pragma: no cover
