"""Weights manager: a manifest of the default models, a cache, verified downloads.

Where a weights file is looked for, in order (first hit wins):

1. ``weights_dir`` (the ``--weights-dir`` option) or ``$HOTDEMO_WEIGHTS_DIR``;
2. the weights that ship inside the package (``hotdemo/bundled/``, package data: the lifter
   we train, see :func:`hotdemo.core.paths.bundled_lifter_path`);
3. the download cache, ``$HOTDEMO_HOME/weights`` (default ``~/.cache/hotdemo/weights``);
4. otherwise it is downloaded into the cache (:func:`fetch`): from each of the entry's URLs in
   turn (:attr:`WeightSpec.urls`: the publisher's, then a public mirror of the same path where
   one exists), streamed to a hidden part file ``.<name>.part-<pid>`` in the cache folder while
   its sha256 is computed, and renamed into place only once it is complete and verified. A
   download that broke off keeps its part file: the next try resumes it with an HTTP ``Range``
   request (part files of processes that are gone are adopted or removed; Ctrl-C keeps the part
   too). Every failure (HTTP error, no network, a certificate, a body cut short, a timeout, the
   overall deadline, a wrong checksum) ends in one :class:`~hotdemo.core.errors.WeightsError` line
   that names the file, each URL tried with what went wrong, and a hint that fits.

How a file is verified depends on what its publisher gives (:attr:`WeightSpec.check`, shown by
``hotdemo weights list``):

* ``pinned``: a full sha256, from the publisher or from independent pins of the same release
  asset that agree (:attr:`WeightSpec.hash_source` says which);
* ``prefix``: mmpose names each ``.pth`` checkpoint after the first 8 hex digits of its sha256
  (``...-81c58e40_20220909.pth``, their ``publish_model`` convention): the download must start
  with them (a 32-bit check against corruption, not a cryptographic pin);
* ``structure``: openmmlab's RTMPose SDK zips are named after the ``.pth`` they were exported
  from, so the 8 hex digits in a zip's name are *not* the zip's. Such a zip is checked by what
  it holds: its ``end2end.onnx`` (at ``<date>/rtmpose_onnx/<stem>/end2end.onnx`` beside
  ``pipeline.json``, ``deploy.json`` and ``detail.json``; the member's CRC is checked as it is
  unpacked) must have one input ``(B, 3, H, W)`` at the entry's size and the outputs ``simcc_x
  (B, 17, 2W)`` and ``simcc_y (B, 17, 2H)`` (:func:`check_simcc_onnx`).

For every file without a full pinned digest, the full sha256 of what was downloaded is
*recorded on first download* in ``<file>.sha256`` beside it (``sha256sum`` format; for an
archive: the unpacked file on the first line, the zip it came from on the second) and checked
on every later use. Archives are unpacked into the cache as ``<zip stem>.onnx`` (temporary file +
rename) and the zip is deleted; a zip put in a weights folder by hand is unpacked the same way,
and an unpacked ``.onnx`` put there by hand is checked by its structure.

The shipped lifter is not downloaded: :func:`shipped_specs` describes it, with the sha256
pinned in ``<file>.sha256`` beside it (``sha256sum`` format), so ``hotdemo weights verify``
checks it, or a copy of it, like any other file.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import os
import re
import socket
import ssl
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Tuple, Union

from hotdemo.core.errors import WeightsError
from hotdemo.core.paths import bundled_lifter_path, bundled_weights_dir, cache_dir, is_model_path

PathLike = Union[str, os.PathLike]

_CHUNK = 1 << 20
#: seconds without a byte before a connection or read gives up (each URL)
READ_TIMEOUT = 30.0
#: seconds one file's download may take in all, every URL together (``$HOTDEMO_DOWNLOAD_DEADLINE``)
DEFAULT_DEADLINE = 1800.0
#: a part file older than this is stale even if its process id is in use again
_STALE_PART_SECONDS = 24 * 3600


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
        """How a download is verified: ``pinned``, ``prefix`` or ``structure`` (module docstring)."""
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


# ------------------------------------------------------------------ checking
def sha256_file(path: PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _redownload_hint(spec: WeightSpec) -> str:
    if spec.shipped:
        return "reinstall hotdemo to get the shipped file back"
    return f"delete it and run `hotdemo weights download {spec.name}`"


def check_simcc_onnx(path: PathLike, input_hw: Tuple[int, int], joints: int = 17) -> None:
    """Raise :class:`WeightsError` unless ``path`` is an ONNX model with one input ``(B, 3, H, W)``
    and the outputs ``simcc_x (B, joints, 2W)`` and ``simcc_y (B, joints, 2H)`` (the RTMPose SDK's
    ``end2end.onnx``, as mmdeploy exports it: batch axis dynamic, the rest static). The batch size
    may be fixed or symbolic; so may the joints axis (some exporters leave it symbolic), but not
    the input's or the outputs' spatial sizes."""
    import onnx

    path = Path(path)
    h, w = input_hw
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # protobuf DecodeError, truncated file, not ONNX
        raise WeightsError(f"{path}: not a readable ONNX model ({type(e).__name__}); {_structure_hint()}") from None
    graph = model.graph
    inits = {i.name for i in graph.initializer}

    def dims(vi) -> Tuple:
        return tuple(d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim)

    inputs = [(i.name, dims(i)) for i in graph.input if i.name not in inits]
    outputs = {o.name: dims(o) for o in graph.output}
    want_out = {"simcc_x": 2 * w, "simcc_y": 2 * h}
    ok = (len(inputs) == 1 and len(inputs[0][1]) == 4 and inputs[0][1][1:] == (3, h, w)
          and set(want_out) <= set(outputs)
          and all(len(outputs[k]) == 3 and outputs[k][2] == v and outputs[k][1] in (joints, None)
                  for k, v in want_out.items()))
    if not ok:
        got = ", ".join([f"input {n} {d}" for n, d in inputs] + [f"output {n} {d}" for n, d in outputs.items()])
        raise WeightsError(
            f"{path}: not the expected RTMPose model (want input (B, 3, {h}, {w}), outputs simcc_x (B, {joints}, "
            f"{2 * w}) and simcc_y (B, {joints}, {2 * h}); got {got or 'nothing'}); {_structure_hint()}")


def _structure_hint() -> str:
    return "the download is damaged or is not this model: delete it and download it again"


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def recorded_hashes(path: PathLike) -> Optional[dict]:
    """The digests recorded on first download, or None: ``sha256`` (the file itself) and, for a file
    unpacked from an archive, ``archive_sha256`` and ``archive`` (the zip), read from
    ``<file>.sha256`` (``sha256sum`` format, the file on the first line, the zip on the second)."""
    try:
        lines = [ln.split() for ln in _record_path(Path(path)).read_text(encoding="ascii").splitlines() if ln.strip()]
    except (OSError, UnicodeDecodeError):
        return None
    ok = [w for w in lines if len(w) >= 2 and _is_digest(w[0])]
    if not ok:
        return None
    out = {"sha256": ok[0][0].lower()}
    if len(ok) > 1:
        out["archive_sha256"], out["archive"] = ok[1][0].lower(), ok[1][-1].lstrip("*")
    return out


def _write_record(path: Path, lines: List[Tuple[str, str]]) -> None:
    from hotdemo.io.files import atomic_write

    text = "".join(f"{digest}  {name}\n" for digest, name in lines)
    atomic_write(_record_path(path), lambda f: f.write(text.encode("ascii")))


def _check_recorded(path: Path, spec: WeightSpec) -> bool:
    """Check ``path`` against the digest recorded on its first download; False when none is recorded."""
    rec = recorded_hashes(path)
    if rec is None:
        return False
    digest = sha256_file(path)
    if digest != rec["sha256"]:
        raise WeightsError(
            f"{path}: checksum mismatch with the digest recorded on first download (sha256 {digest[:16]}..., "
            f"expected {rec['sha256'][:16]}...); {_redownload_hint(spec)}"
        )
    return True


def check_file(path: PathLike, spec: WeightSpec) -> Path:
    """Raise :class:`WeightsError` naming ``path`` unless it passes ``spec``'s check: its size and
    sha256 (pinned digest or published prefix, and the digest recorded on first download where
    there is one); for an archive's unpacked member, the recorded or pinned digest, else its
    structure."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such weights file")
    if spec.archive_member and path.name == spec.local_name:
        return _check_unpacked(path, spec)
    n = path.stat().st_size
    if spec.size is not None and n != spec.size:
        raise WeightsError(
            f"{path}: corrupted or incomplete weights file ({n} bytes, expected {spec.size}); {_redownload_hint(spec)}"
        )
    if spec.archive_member and not spec.sha256:
        return path  # a zip checked by what it holds, once unpacked (unpack)
    if not spec.sha256:
        raise WeightsError(f"{path}: no checksum to verify it against ({spec.hash_source or 'none recorded'} is missing)")
    digest = sha256_file(path)
    if not digest.startswith(spec.sha256.lower()):
        raise WeightsError(
            f"{path}: checksum mismatch, the weights file is corrupted (sha256 {digest[:16]}..., "
            f"expected {spec.sha256[:16]}...); {_redownload_hint(spec)}"
        )
    if not spec.full_hash:
        _check_recorded(path, spec)
    return path


def verify(name_or_path: PathLike, *, weights_dir: Optional[PathLike] = None) -> Path:
    """Check a weights file against the manifest; returns its path.

    ``name_or_path`` is a manifest name (its local copy is checked; missing -> WeightsError)
    or a file path whose file name is in the manifest.
    """
    s = str(name_or_path)
    spec = get_spec(s)
    p = Path(s).expanduser()
    if p.is_file():
        spec = get_spec(p.name) or spec
        if spec is None:
            raise WeightsError(f"{p}: not in the weights manifest, no checksum to verify it against")
        return check_file(p, spec)
    if spec is None:
        if is_model_path(s, is_name=lambda _: True):  # unknown: a wrong name, unless it has a folder part
            raise WeightsError(f"{p}: no such weights file")
        raise WeightsError(f"unknown weights {s!r}; known: {', '.join(x.name for x in all_specs())}")
    local = find_local(spec, weights_dir)
    if local is None:
        raise WeightsError(f"{spec.filename} is not downloaded; run `hotdemo weights download {spec.name}`")
    return check_file(local, spec)


# ------------------------------------------------------------------ archives
def _check_unpacked(path: Path, spec: WeightSpec) -> Path:
    if spec.unpacked_sha256:
        digest = sha256_file(path)
        if digest != spec.unpacked_sha256:
            raise WeightsError(f"{path}: checksum mismatch (sha256 {digest[:16]}..., pinned "
                               f"{spec.unpacked_sha256[:16]}...); {_redownload_hint(spec)}")
        return path
    if _check_recorded(path, spec):
        return path
    if spec.simcc_input_hw is not None:  # put there by hand: nothing recorded, check what it is
        check_simcc_onnx(path, spec.simcc_input_hw)
    return path


def _archive_member(z: zipfile.ZipFile, member: str) -> Optional[str]:
    """The zip entry for ``member``: the one whose path ends with it, preferring one that sits beside
    the SDK's ``pipeline.json`` (``<date>/rtmpose_onnx/<stem>/end2end.onnx``), then the shortest."""
    names_ = z.namelist()
    hits = [m for m in names_ if m == member or m.endswith("/" + member)]
    if not hits:
        return None
    beside = [m for m in hits if m[: -len(member)] + "pipeline.json" in names_]
    return sorted(beside or hits, key=len)[0]


def unpack(archive: PathLike, spec: WeightSpec, dest_dir: Optional[PathLike] = None, *,
           archive_name: Optional[str] = None) -> Path:
    """Unpack ``spec.archive_member`` of the zip ``archive`` into ``dest_dir`` (default: the cache)
    as ``spec.local_name``, atomically, after checking it (its CRC as it is read, then the pinned
    digest or its structure, :func:`check_simcc_onnx`), and record the full sha256 of the unpacked
    file and of the zip (named ``archive_name``, default its file name) beside it. Returns the
    unpacked file; nothing is left behind on failure."""
    from hotdemo.io.files import atomic_write

    archive = Path(archive)
    dest_dir = Path(dest_dir) if dest_dir is not None else weights_cache_dir()
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / spec.local_name
    tmp = dest_dir / f".{spec.local_name}.unpack-{os.getpid()}"
    try:
        with zipfile.ZipFile(archive) as z:
            member = _archive_member(z, spec.archive_member)
            if member is None:
                raise WeightsError(f"{archive}: holds no {spec.archive_member}; {_redownload_hint(spec)}")
            h = hashlib.sha256()
            with z.open(member) as src:
                def write(f):
                    for chunk in iter(lambda: src.read(_CHUNK), b""):
                        f.write(chunk)
                        h.update(chunk)
                atomic_write(tmp, write)
        digest = h.hexdigest()
        if spec.unpacked_sha256 and digest != spec.unpacked_sha256:
            raise WeightsError(f"{archive}: its {spec.archive_member} fails the pinned sha256 (got {digest[:16]}..., "
                               f"expected {spec.unpacked_sha256[:16]}...); {_redownload_hint(spec)}")
        if spec.simcc_input_hw is not None:
            try:
                check_simcc_onnx(tmp, spec.simcc_input_hw)
            except WeightsError as e:
                raise WeightsError(str(e).replace(str(tmp), f"{archive}: {member}")) from None
        _write_record(dest, [(digest, dest.name), (sha256_file(archive), archive_name or archive.name)])
        os.replace(tmp, dest)
    except zipfile.BadZipFile as e:
        raise WeightsError(f"{archive}: not a valid zip archive ({e}); {_redownload_hint(spec)}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest


# ------------------------------------------------------------------ download
class _Failed(Exception):
    """One URL failed: ``reason`` for the message, ``kind`` (offline / certificate / server /
    checksum / deadline) for the hint."""

    def __init__(self, reason: str, kind: str):
        super().__init__(reason)
        self.reason, self.kind = reason, kind


_HINTS = {
    "offline": "no network? Offline, download it on another machine and put it in {dir} "
               "(or in a folder given by --weights-dir / $HOTDEMO_WEIGHTS_DIR)",
    "certificate": "the server's TLS certificate could not be verified (a proxy that inspects traffic, or an old "
                   "CA bundle?): point SSL_CERT_FILE at your CA bundle, or download it by hand into {dir}",
    "server": "the server failed; run the command again later (a partial download is kept and resumed), "
              "or download it by hand into {dir}",
    "deadline": "the download is too slow; run the command again to resume it (or raise "
                "$HOTDEMO_DOWNLOAD_DEADLINE, in seconds), or download it by hand into {dir}",
    "checksum": "the server sent a different file; report it, or download it by hand into {dir}",
}


def _classify(e: BaseException) -> _Failed:
    """A network failure (urllib, http.client, ssl, socket) as one short reason and a kind."""
    if isinstance(e, _Failed):
        return e
    if isinstance(e, urllib.error.HTTPError):
        return _Failed(f"HTTP {e.code} {e.reason}", "server")
    inner = getattr(e, "reason", None) if isinstance(e, urllib.error.URLError) else e
    if isinstance(inner, ssl.SSLCertVerificationError):
        return _Failed(f"certificate verify failed: {inner.verify_message or inner}", "certificate")
    if isinstance(inner, ssl.SSLError):
        return _Failed(f"TLS error: {inner.reason or inner}", "server")
    if isinstance(inner, (socket.timeout, TimeoutError)):
        return _Failed("timed out waiting for the server", "offline" if isinstance(e, urllib.error.URLError) else "server")
    if isinstance(inner, socket.gaierror):
        return _Failed(f"cannot resolve the host name ({inner.strerror or inner})", "offline")
    if isinstance(e, http.client.IncompleteRead):
        return _Failed(f"the body was cut short ({len(e.partial)} bytes of a chunk or body read, "
                       f"{e.expected if e.expected is not None else '?'} more expected)", "server")
    if isinstance(e, http.client.RemoteDisconnected):
        return _Failed("the server closed the connection without a reply", "server")
    if isinstance(e, http.client.BadStatusLine):
        return _Failed(f"not an HTTP reply ({str(e)[:40] or 'empty'})", "server")
    if isinstance(e, http.client.HTTPException):
        return _Failed(f"broken HTTP reply ({type(e).__name__}: {str(e)[:60]})", "server")
    if isinstance(inner, (ConnectionRefusedError, ConnectionAbortedError)) and isinstance(e, urllib.error.URLError):
        return _Failed("connection refused", "offline")
    if isinstance(inner, ConnectionResetError):
        return _Failed("the connection was reset", "server")
    if isinstance(inner, OSError) and inner.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN):
        return _Failed(inner.strerror or "network unreachable", "offline")
    if isinstance(inner, OSError):
        return _Failed(f"{inner.strerror or inner}", "offline" if isinstance(e, urllib.error.URLError) else "server")
    return _Failed(str(inner or e) or type(e).__name__, "server")


def _part_pid(p: Path) -> Optional[int]:
    m = re.search(r"\.part-(\d+)$", p.name)
    return int(m.group(1)) if m else None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    except OSError:
        return False
    return True


def _claim_part(dest_dir: Path, filename: str) -> Path:
    """This process's part file for ``filename``: the largest stale part file (of a process that is
    gone, or older than a day) is taken over to be resumed; the other stale ones are removed. Part
    files of live processes (a download in progress elsewhere) are left alone."""
    mine = dest_dir / f".{filename}.part-{os.getpid()}"
    now = time.time()
    stale = []
    for p in dest_dir.glob(f".{glob_escape(filename)}.part-*"):
        pid = _part_pid(p)
        if p == mine or pid is None:
            continue
        try:
            old = now - p.stat().st_mtime > _STALE_PART_SECONDS
        except OSError:
            continue
        if old or not _alive(pid):
            stale.append(p)
    stale.sort(key=lambda p: p.stat().st_size if p.exists() else -1, reverse=True)
    if stale and not mine.exists():
        try:
            os.replace(stale.pop(0), mine)
        except OSError:
            pass
    for p in stale:
        try:
            p.unlink()
        except OSError:
            pass
    return mine


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def _deadline_from_env() -> float:
    try:
        return float(os.environ.get("HOTDEMO_DOWNLOAD_DEADLINE", DEFAULT_DEADLINE))
    except ValueError:
        return DEFAULT_DEADLINE


def _download_to(url: str, part: Path, *, timeout: float, until: float, total_hint: Optional[int],
                 progress: bool, label: str) -> None:
    """Append ``url``'s body to ``part``, resuming from its size with a Range request (a server that
    answers 200 sends it whole: the part starts again). Raises :class:`_Failed`."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "hotdemo-weights/2"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                      timeout=max(0.1, min(timeout, until - time.monotonic())))
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # the part is complete or not of this file: start again
            part.unlink()
            return _download_to(url, part, timeout=timeout, until=until, total_hint=total_hint,
                                progress=progress, label=label)
        raise _classify(e) from None
    except Exception as e:  # URLError, ssl, socket, http.client
        raise _classify(e) from None
    with resp:
        status = getattr(resp, "status", 200)
        start = 0
        if have and status == 206:
            m = re.match(r"bytes (\d+)-", resp.headers.get("Content-Range", ""))
            start = int(m.group(1)) if m else -1
            if start != have:
                raise _Failed(f"the server resumed at byte {start}, not {have}", "server")
        length = resp.headers.get("Content-Length")
        total = total_hint or ((int(length) + start) if length and length.isdigit() else None)
        expect = int(length) if length and length.isdigit() else None
        got = 0
        with open(part, "ab" if start else "wb") as out, _progress_bar(progress, label, total) as advance:
            advance(start)
            while True:
                if time.monotonic() > until:
                    raise _Failed("the overall download deadline passed", "deadline")
                try:
                    chunk = resp.read(_CHUNK)
                except Exception as e:  # IncompleteRead, reset, timeout, TLS
                    if isinstance(e, http.client.IncompleteRead):  # what did arrive is kept, to be resumed
                        arrived = e.partial or b""
                        if isinstance(e.__cause__, http.client.IncompleteRead):  # a chunked body's last chunk
                            arrived += e.__cause__.partial or b""
                        out.write(arrived)
                        got += len(arrived)
                    raise _classify(e) from None
                if not chunk:
                    if expect is not None and got < expect:
                        raise _Failed(f"the body was cut short ({got} of {expect} bytes)", "server")
                    break
                out.write(chunk)
                got += len(chunk)
                advance(len(chunk))


def fetch(spec: WeightSpec, dest_dir: Optional[PathLike] = None, *, progress: bool = True,
          timeout: float = READ_TIMEOUT, deadline: Optional[float] = None) -> Path:
    """Download ``spec`` into ``dest_dir`` (default: the cache) from each of its URLs in turn until one
    gives a file that passes its size and checksum checks (module docstring); returns its path (for
    an archive: the checked, unpacked member; the zip itself is not kept).

    The body goes to a hidden part file, renamed into place only when verified. A transfer that
    broke off keeps the part file, and the next URL (or the next run) resumes it; a part that fails
    its check is removed. ``timeout``: seconds without data (each request); ``deadline``: seconds
    for the whole file (default ``$HOTDEMO_DOWNLOAD_DEADLINE`` or 30 minutes). Raises one
    :class:`WeightsError` naming the file, each URL tried and why, with a hint; its ``reason``
    attribute is the short form (for :func:`ensure_local`)."""
    dest_dir = Path(dest_dir) if dest_dir is not None else weights_cache_dir()
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WeightsError(f"cannot create the weights folder {dest_dir}: {e.strerror or e}") from None
    if not os.access(dest_dir, os.W_OK):
        raise WeightsError(f"cannot write to the weights folder {dest_dir}; set $HOTDEMO_HOME to a writable folder")
    dest = dest_dir / spec.filename
    part = _claim_part(dest_dir, spec.filename)
    until = time.monotonic() + (deadline if deadline is not None else _deadline_from_env())
    tried: List[Tuple[str, _Failed]] = []
    for url in spec.urls:
        for attempt in (0, 1):  # a resumed part that fails its check is fetched again whole
            resumed = part.exists() and part.stat().st_size > 0
            try:
                _download_to(url, part, timeout=timeout, until=until, total_hint=spec.size, progress=progress,
                             label=spec.filename)
                _verify_download(part, spec)
                if spec.archive_member:  # what it holds is checked before it counts as downloaded
                    try:
                        unpacked = unpack(part, spec, dest_dir, archive_name=spec.filename)
                    except WeightsError as e:
                        raise _Failed(str(e).split(": ", 1)[-1].rsplit("; ", 1)[0], "checksum") from None
                    part.unlink(missing_ok=True)  # only the unpacked model is kept
                    return unpacked
            except _Failed as f:
                if f.kind == "checksum":
                    part.unlink(missing_ok=True)
                    if resumed and attempt == 0:
                        continue
                tried.append((url, f))
                break
            if not spec.full_hash and not spec.archive_member:
                _write_record(dest, [(sha256_file(part), dest.name)])
            os.replace(part, dest)
            return dest
        if tried and tried[-1][1].kind == "deadline":
            break
    what = "; ".join(f"{u} ({f.reason})" for u, f in tried)
    kind = tried[-1][1].kind if tried else "server"
    if any(f.kind == "certificate" for _, f in tried):
        kind = "certificate"
    e = WeightsError(f"cannot download {spec.filename}: {what}; {_HINTS[kind].format(dir=dest_dir)}")
    e.reason = "; ".join(f"{f.reason} from {u}" for u, f in tried)  # type: ignore[attr-defined]
    e.kind = kind  # type: ignore[attr-defined]
    raise e


def _verify_download(part: Path, spec: WeightSpec) -> None:
    n = part.stat().st_size  # the whole body arrived (_download_to returned): a mismatch is the wrong file
    if spec.size is not None and n != spec.size:
        raise _Failed(f"{n} bytes, expected {spec.size}", "checksum")
    if spec.sha256:
        digest = sha256_file(part)
        if not digest.startswith(spec.sha256.lower()):
            raise _Failed(f"sha256 {digest[:16]}..., expected {spec.sha256[:16]}...", "checksum")


class _progress_bar:
    """Context manager yielding ``advance(nbytes)``; a rich download bar when enabled."""

    def __init__(self, enabled: bool, label: str, total: Optional[int]):
        self.enabled, self.label, self.total = enabled, label, total
        self._p = None

    def __enter__(self) -> Callable[[int], None]:
        if not self.enabled:
            return lambda n: None
        from rich.console import Console
        from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                                   TransferSpeedColumn)

        self._p = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                           TransferSpeedColumn(), TimeRemainingColumn(), console=Console(stderr=True))
        self._p.__enter__()
        tid = self._p.add_task(f"downloading {self.label}", total=self.total)
        return lambda n: self._p.advance(tid, n)

    def __exit__(self, *exc):
        if self._p is not None:
            self._p.__exit__(*exc)
        return False


# ------------------------------------------------------------------ resolve
def resolve(name_or_path: PathLike, *, weights_dir: Optional[PathLike] = None, download: bool = True,
            progress: bool = True) -> Path:
    """Path of a weights file given a file path or a manifest name.

    * an existing file path is returned as is (checked against the manifest only if its
      file name is a manifest file name);
    * a path that does not exist (anything with a folder separator or that is not a manifest
      name) raises :class:`WeightsError`;
    * a manifest name is looked for in :func:`search_dirs` (verified), then downloaded into
      the cache unless ``download`` is False.
    """
    s = str(name_or_path)
    p = Path(s).expanduser()
    spec = get_spec(s)
    if p.is_file():
        named = get_spec(p.name)
        if named is not None and p.name in (named.filename, named.local_name):
            checked = check_file(p, named)
            return unpack(checked, named) if named.archive_member and checked.name == named.filename else checked
        return p
    if p.is_dir():
        raise WeightsError(f"{p} is a folder; expected a weights file")
    if spec is None:
        raise WeightsError(f"{p}: no such weights file (and not a built-in name: {', '.join(x.name for x in all_specs())})")
    if is_model_path(s, is_name=lambda _: True):  # a known name, unless it has a folder part
        raise WeightsError(f"{p}: no such weights file")
    local = find_local(spec, weights_dir)
    if local is not None:
        checked = check_file(local, spec)
        if spec.archive_member and checked.name == spec.filename:
            return unpack(checked, spec)  # a zip put in a weights folder: unpack it into the cache
        return checked
    if spec.shipped:
        raise WeightsError(f"{spec.filename}, which ships with hotdemo, is missing from {bundled_lifter_path().parent}; "
                           "reinstall hotdemo")
    if not download:
        dirs = ", ".join(str(d) for d in search_dirs(weights_dir))
        raise WeightsError(f"{spec.filename} not found in {dirs}; download {spec.url} and put it in one of those folders")
    return fetch(spec, progress=progress)


def status(weights_dir: Optional[PathLike] = None) -> List[Tuple[WeightSpec, Optional[Path]]]:
    """Every entry (downloadable, then shipped) with its local copy (unverified) or None."""
    return [(s, find_local(s, weights_dir)) for s in all_specs()]


def checksum_note(spec: WeightSpec, local: Optional[Path]) -> Tuple[str, List[Tuple[str, str, str]]]:
    """How ``spec`` is checked, in words, and its full digests as ``(sha256, file name, "pinned" |
    "recorded on first download")``, for ``hotdemo weights list``."""
    out: List[Tuple[str, str, str]] = []
    if spec.full_hash:
        out.append((spec.sha256, spec.filename, "pinned"))
    if spec.unpacked_sha256:
        out.append((spec.unpacked_sha256, spec.local_name, "pinned"))
    rec = recorded_hashes(local) if local is not None else None
    if rec is not None:
        pinned = {d for d, _, _ in out}
        if rec["sha256"] not in pinned:
            out.append((rec["sha256"], local.name, "recorded on first download"))
        if rec.get("archive_sha256") and rec["archive_sha256"] not in pinned:
            out.append((rec["archive_sha256"], rec["archive"], "recorded on first download"))
    parts = []
    if spec.full_hash:
        parts.append("sha256 pinned" if not spec.archive_member else "zip sha256 pinned")
    elif spec.sha256:
        parts.append(f"sha256 prefix {spec.sha256} (file name)")
    if spec.unpacked_sha256:
        parts.append(f"{spec.archive_member} sha256 pinned")
    if spec.simcc_input_hw is not None:
        parts.append("structure")
    if not spec.full_hash and not spec.shipped:
        parts.append(("zip " if spec.archive_member else "full ") + "sha256 recorded on first download")
    return ", ".join(parts), out


def download_all(specs: Iterable[WeightSpec], *, weights_dir: Optional[PathLike] = None, progress: bool = True
                 ) -> List[Tuple[WeightSpec, Union[Path, WeightsError]]]:
    """Fetch (or find, verified) every spec; one failing file does not stop the others, whatever
    went wrong with it.

    Returns ``(spec, path)`` for each success and ``(spec, WeightsError)`` for each failure,
    in order. Shipped entries are only checked for presence."""
    out: List[Tuple[WeightSpec, Union[Path, WeightsError]]] = []
    for spec in specs:
        try:
            out.append((spec, resolve(spec.name, weights_dir=weights_dir, progress=progress)))
        except WeightsError as e:
            out.append((spec, e))
        except OSError as e:  # a full disk, a folder that vanished: still one line, and carry on
            out.append((spec, WeightsError(f"{spec.filename}: {e.strerror or e}")))
    return out


#: how each stage runs without a download, for the offline error message
_OFFLINE_ROUTE = {
    "detector": "--detector FILE (a Darknet .weights with its .cfg beside it, or a YOLO .pt)",
    "pose2d": "--pose2d FILE (a top-down .onnx model or an HRNet .pth)",
}


def ensure_local(names_: Iterable[Optional[str]], *, weights_dir: Optional[PathLike] = None,
                 progress: bool = True) -> None:
    """Make every manifest file in ``names_`` (None entries ignored) available locally, downloading
    what is missing, before any model is built. If any cannot be had, one :class:`WeightsError`
    names every missing file with its URLs and the offline route (``--detector`` / ``--pose2d``
    with local files, or the files put into the cache or a ``--weights-dir`` folder)."""
    specs = [s for s in (get_spec(n) for n in names_ if n) if s is not None and not s.shipped]
    missing = [s for s in specs if find_local(s, weights_dir) is None]
    if not missing:
        return
    failed = [(s, r) for s, r in download_all(missing, weights_dir=weights_dir, progress=progress)
              if isinstance(r, WeightsError)]
    if not failed:
        return
    what = "; ".join(f"{s.filename} ({getattr(r, 'reason', r)})" for s, r in failed)
    route = " and ".join(_OFFLINE_ROUTE[s.kind] for s, _ in failed if s.kind in _OFFLINE_ROUTE)
    dirs = ", ".join(str(d) for d in search_dirs(weights_dir) if d != bundled_weights_dir())
    raise WeightsError(
        f"cannot download the default model{'s' if len(failed) > 1 else ''}: {what}. "
        f"Offline, run with local files instead: {route}; or download {'these files' if len(failed) > 1 else 'it'} "
        f"elsewhere and put {'them' if len(failed) > 1 else 'it'} in one of: {dirs} (--weights-dir DIR adds a folder)"
    )


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


__all__: Iterable[str] = [
    "WeightSpec", "MANIFEST", "shipped_specs", "all_specs", "get_spec", "resolve", "verify", "fetch",
    "download_all", "ensure_local", "check_file", "check_simcc_onnx", "checksum_note", "sha256_file", "unpack",
    "recorded_hashes", "search_dirs", "find_local", "weights_cache_dir", "status", "names", "format_size",
]
