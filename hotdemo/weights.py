"""Weights manager: a manifest of the default models, a cache, verified downloads.

Where a weights file is looked for, in order (first hit wins):

1. ``weights_dir`` (the ``--weights-dir`` option) or ``$HOTDEMO_WEIGHTS_DIR``;
2. the weights that ship inside the package (``hotdemo/bundled/``, package data: the lifter
   we train, see :func:`hotdemo.paths.bundled_lifter_path`);
3. the download cache, ``$HOTDEMO_HOME/weights`` (default ``~/.cache/hotdemo/weights``);
4. otherwise it is downloaded from the manifest URL into the cache: streamed to a hidden
   temporary file in the cache folder while its sha256 is computed, then renamed into
   place only if size and checksum match. On any failure (HTTP error, no network, wrong
   checksum, Ctrl-C) nothing is left behind and :class:`~hotdemo.errors.WeightsError`
   says which file, from which URL, and where to put it by hand.

A file found in a folder is checked against the manifest checksum before use, so a
truncated or corrupted file fails with a message naming it instead of a confusing
unpickling error deep inside torch.

About the checksums: ``sha256`` is the full digest where the upstream project (or
independent pins of the same release asset) publish it. mmpose publishes only the first
8 hex digits of each checkpoint's sha256, in its file name (``...-81c58e40_20220909.pth``,
their ``publish_model`` convention); for those files the manifest holds that prefix and
:func:`verify` checks it — a 32-bit check that catches corruption and truncation, not a
cryptographic pin. :attr:`WeightSpec.full_hash` says which is which, and ``hotdemo
weights list`` shows it.

Archives: openmmlab publishes RTMPose for its SDK as a zip holding ``end2end.onnx``
(:attr:`WeightSpec.archive_member`). Such a zip is downloaded and checked like any file (its
8-hex-digit sha256 prefix), then its member is unpacked into the cache as
``<zip name>.onnx`` (temporary file + rename) and the zip is deleted. On that first download
the full sha256 of the unpacked file and of the zip are recorded beside it in
``<zip name>.onnx.sha256`` (``sha256sum`` format, like the shipped lifter's); later uses check
the unpacked file against that full digest.
A zip found in a weights folder is unpacked the same way; an unpacked ``.onnx`` put in a
weights folder by hand is used as is (no recorded digest to check it against).

The shipped lifter is not downloaded: :func:`shipped_specs` describes it, with the sha256
pinned in ``<file>.sha256`` beside it (``sha256sum`` format), so ``hotdemo weights verify``
checks it, or a copy of it, like any other file.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import zipfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple, Union

from .errors import WeightsError
from .paths import bundled_lifter_path, bundled_weights_dir, cache_dir

PathLike = Union[str, os.PathLike]

_CHUNK = 1 << 20


@dataclass(frozen=True)
class WeightSpec:
    """One downloadable weights file."""

    name: str  #: manifest name, used on the command line (``--pose2d hrnet_w32_coco_256x192``)
    url: str  #: where it is downloaded from
    sha256: str  #: lowercase hex sha256; a prefix (>= 8 digits) where only that is published
    size: Optional[int]  #: bytes, or None where upstream does not publish it
    licence: str
    filename: str  #: file name in the cache / weights folder
    kind: str  #: "detector", "pose2d" or "lifter"
    description: str
    hash_source: str = ""  #: where the checksum comes from
    #: for a zip: the member to unpack (matched by the end of its path, e.g. ``end2end.onnx``)
    archive_member: Optional[str] = None
    shipped: bool = False  #: inside the package (no download, ``url`` empty)

    @property
    def full_hash(self) -> bool:
        return len(self.sha256) == 64

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
            hash_source="sha256 prefix in the mmpose file name; the full digest is not published",
        ),
    )
}

_RTMPOSE_SDK = "https://download.openmmlab.com/mmpose/v1/projects/rtmposev1/onnx_sdk/"
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
for _name, _zip, _desc in _RTMPOSE_MODELS:
    MANIFEST[_name] = WeightSpec(
        name=_name, url=_RTMPOSE_SDK + _zip, sha256=re.search(r"-([0-9a-f]{8})_\d{8}\.zip$", _zip).group(1), size=None,
        licence="Apache-2.0 (OpenMMLab mmpose RTMPose); trained on body7 (COCO, AIC, CrowdPose, MPII, "
                "sub-JHMDB, Halpe, PoseTrack18: see each dataset's terms)",
        filename=_zip, kind="pose2d",
        description=_desc + ", ONNX for the mmdeploy SDK, COCO-17 SimCC outputs",
        hash_source="sha256 prefix in the openmmlab file name; the full digest is recorded on first download",
        archive_member="end2end.onnx",
    )
del _name, _zip, _desc


def _read_sha256_file(path: Path) -> str:
    """The digest in a ``sha256sum``-format file, or "" when it is missing or malformed."""
    try:
        word = path.read_text(encoding="ascii").split()[0].lower()
    except (OSError, UnicodeDecodeError, IndexError):
        return ""
    return word if len(word) == 64 and all(c in "0123456789abcdef" for c in word) else ""


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
    names = [spec.local_name, spec.filename] if spec.archive_member else [spec.filename]
    for name in names:
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


def check_file(path: PathLike, spec: WeightSpec) -> Path:
    """Raise :class:`WeightsError` naming ``path`` unless its size and sha256 match ``spec``."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such weights file")
    if spec.archive_member and path.name == spec.local_name:
        return _check_unpacked(path, spec)
    if not spec.sha256:
        raise WeightsError(f"{path}: no checksum to verify it against ({spec.hash_source or 'none recorded'} is missing)")
    n = path.stat().st_size
    if spec.size is not None and n != spec.size:
        raise WeightsError(
            f"{path}: corrupted or incomplete weights file ({n} bytes, expected {spec.size}); {_redownload_hint(spec)}"
        )
    digest = sha256_file(path)
    if not digest.startswith(spec.sha256.lower()):
        raise WeightsError(
            f"{path}: checksum mismatch, the weights file is corrupted (sha256 {digest[:16]}..., "
            f"expected {spec.sha256[:16]}...); {_redownload_hint(spec)}"
        )
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
        if os.sep in s or "/" in s:
            raise WeightsError(f"{p}: no such weights file")
        raise WeightsError(f"unknown weights {s!r}; known: {', '.join(x.name for x in all_specs())}")
    local = find_local(spec, weights_dir)
    if local is None:
        raise WeightsError(f"{spec.filename} is not downloaded; run `hotdemo weights download {spec.name}`")
    return check_file(local, spec)


# ------------------------------------------------------------------ archives
def _record_path(unpacked: Path) -> Path:
    return unpacked.with_name(unpacked.name + ".sha256")


def recorded_hashes(unpacked: PathLike) -> Optional[dict]:
    """The digests recorded when an archive was unpacked, or None: ``sha256`` (the unpacked file)
    and ``archive_sha256`` (the zip), read from ``<file>.sha256`` (``sha256sum`` format, the
    unpacked file on the first line, the zip it came from on the second)."""
    try:
        lines = [ln.split() for ln in _record_path(Path(unpacked)).read_text(encoding="ascii").splitlines() if ln.strip()]
    except (OSError, UnicodeDecodeError):
        return None
    ok = [w for w in lines if len(w) >= 2 and len(w[0]) == 64 and all(c in "0123456789abcdef" for c in w[0].lower())]
    if not ok:
        return None
    out = {"sha256": ok[0][0].lower()}
    if len(ok) > 1:
        out["archive_sha256"], out["archive"] = ok[1][0].lower(), ok[1][-1].lstrip("*")
    return out


def _check_unpacked(path: Path, spec: WeightSpec) -> Path:
    rec = recorded_hashes(path)
    if rec is None or "sha256" not in rec:
        return path  # put there by hand: nothing recorded to check it against
    digest = sha256_file(path)
    if digest != rec["sha256"]:
        raise WeightsError(
            f"{path}: checksum mismatch with the digest recorded when it was unpacked (sha256 {digest[:16]}..., "
            f"expected {rec['sha256'][:16]}...); {_redownload_hint(spec)}"
        )
    return path


def unpack(archive: PathLike, spec: WeightSpec, dest_dir: Optional[PathLike] = None) -> Path:
    """Unpack ``spec.archive_member`` of the (already verified) zip ``archive`` into ``dest_dir``
    (default: the cache) as ``spec.local_name``, atomically, and record the full sha256 of the zip
    and of the unpacked file beside it. Returns the unpacked file."""
    from .fileio import atomic_write

    archive = Path(archive)
    dest_dir = Path(dest_dir) if dest_dir is not None else weights_cache_dir()
    dest_dir.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(archive) as z:
            members = [m for m in z.namelist() if m == spec.archive_member or m.endswith("/" + spec.archive_member)]
            if not members:
                raise WeightsError(f"{archive}: holds no {spec.archive_member}; {_redownload_hint(spec)}")
            h = hashlib.sha256()
            with z.open(sorted(members, key=len)[0]) as src:
                def write(f):
                    for chunk in iter(lambda: src.read(_CHUNK), b""):
                        f.write(chunk)
                        h.update(chunk)
                dest = dest_dir / spec.local_name
                archive_digest = sha256_file(archive)
                # unpack to a temporary file, record the digests, then rename into place
                tmp = dest_dir / f".{spec.local_name}.unpack-{os.getpid()}"
                try:
                    atomic_write(tmp, write)
                    record = f"{h.hexdigest()}  {dest.name}\n{archive_digest}  {spec.filename}\n"
                    atomic_write(_record_path(dest), lambda f: f.write(record.encode("ascii")))
                    os.replace(tmp, dest)
                finally:
                    if tmp.exists():
                        tmp.unlink()
    except zipfile.BadZipFile as e:
        raise WeightsError(f"{archive}: not a valid zip archive ({e}); {_redownload_hint(spec)}") from None
    return dest


# ------------------------------------------------------------------ download
def _manual_hint(spec: WeightSpec, dest_dir: Path) -> str:
    return f"download it yourself and put it in {dest_dir} (or in a folder given by --weights-dir / $HOTDEMO_WEIGHTS_DIR)"


def _download_error(spec: WeightSpec, reason: str, message: str) -> WeightsError:
    """A WeightsError that also carries the short ``reason`` (for :func:`ensure_local`)."""
    e = WeightsError(message)
    e.reason = reason  # type: ignore[attr-defined]
    return e


def fetch(spec: WeightSpec, dest_dir: Optional[PathLike] = None, *, progress: bool = True,
             timeout: float = 30.0) -> Path:
    """Download ``spec`` into ``dest_dir`` (default: the cache), checking size and sha256.

    The file is streamed to a hidden ``.part`` file in ``dest_dir`` and renamed into place
    only when complete and verified; on any failure the part file is removed.
    """
    dest_dir = Path(dest_dir) if dest_dir is not None else weights_cache_dir()
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WeightsError(f"cannot create the weights folder {dest_dir}: {e.strerror or e}") from None
    dest = dest_dir / spec.filename
    tmp = dest_dir / f".{spec.filename}.part-{os.getpid()}"
    h = hashlib.sha256()
    got = 0
    try:
        req = urllib.request.Request(spec.url, headers={"User-Agent": "hotdemo-weights/1"})
        try:
            resp = urllib.request.urlopen(req, timeout=timeout)
        except urllib.error.HTTPError as e:
            raise _download_error(spec, f"HTTP {e.code} {e.reason}",
                                  f"cannot download {spec.filename} from {spec.url} (HTTP {e.code} {e.reason}); "
                                  f"{_manual_hint(spec, dest_dir)}") from None
        except (urllib.error.URLError, socket.timeout, OSError) as e:
            reason = f"{getattr(e, 'reason', e)}; offline?"
            raise _download_error(spec, reason, f"cannot download {spec.filename} from {spec.url} ({reason}); "
                                                f"{_manual_hint(spec, dest_dir)}") from None
        with resp, open(tmp, "wb") as out:
            total = spec.size or int(resp.headers.get("Content-Length") or 0) or None
            with _progress_bar(progress, spec.filename, total) as advance:
                while True:
                    try:
                        chunk = resp.read(_CHUNK)
                    except (socket.timeout, OSError) as e:
                        raise WeightsError(
                            f"download of {spec.filename} from {spec.url} broke off after {got} bytes ({e}); "
                            f"{_manual_hint(spec, dest_dir)}"
                        ) from None
                    if not chunk:
                        break
                    out.write(chunk)
                    h.update(chunk)
                    got += len(chunk)
                    advance(len(chunk))
        if spec.size is not None and got != spec.size:
            raise WeightsError(
                f"downloaded {spec.filename} from {spec.url} has {got} bytes, expected {spec.size}; nothing was saved"
            )
        digest = h.hexdigest()
        if not digest.startswith(spec.sha256.lower()):
            raise WeightsError(
                f"downloaded {spec.filename} from {spec.url} fails its sha256 check (got {digest[:16]}..., "
                f"expected {spec.sha256[:16]}...); nothing was saved"
            )
        os.replace(tmp, dest)
    except BaseException:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        raise
    return dest


class _progress_bar:
    """Context manager yielding ``advance(nbytes)``; a rich download bar when enabled."""

    def __init__(self, enabled: bool, label: str, total: Optional[int]):
        self.enabled, self.label, self.total = enabled, label, total
        self._p = None

    def __enter__(self):
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
        if named is not None and p.name == named.filename:
            checked = check_file(p, named)
            return unpack(checked, named) if named.archive_member else checked
        return p
    if p.is_dir():
        raise WeightsError(f"{p} is a folder; expected a weights file")
    if spec is None:
        raise WeightsError(f"{p}: no such weights file (and not a built-in name: {', '.join(x.name for x in all_specs())})")
    if os.sep in s or "/" in s:
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
    got = fetch(spec, progress=progress)
    if not spec.archive_member:
        return got
    try:
        return unpack(got, spec)
    finally:
        got.unlink(missing_ok=True)  # only the unpacked model is kept


def status(weights_dir: Optional[PathLike] = None) -> List[Tuple[WeightSpec, Optional[Path]]]:
    """Every entry (downloadable, then shipped) with its local copy (unverified) or None."""
    return [(s, find_local(s, weights_dir)) for s in all_specs()]


def download_all(specs: Iterable[WeightSpec], *, weights_dir: Optional[PathLike] = None, progress: bool = True
                 ) -> List[Tuple[WeightSpec, Union[Path, WeightsError]]]:
    """Fetch (or find, verified) every spec; one failing file does not stop the others.

    Returns ``(spec, path)`` for each success and ``(spec, WeightsError)`` for each failure,
    in order. Shipped entries are only checked for presence."""
    out: List[Tuple[WeightSpec, Union[Path, WeightsError]]] = []
    for spec in specs:
        try:
            out.append((spec, resolve(spec.name, weights_dir=weights_dir, progress=progress)))
        except WeightsError as e:
            out.append((spec, e))
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
    names every missing file with its URL and the offline route (``--detector`` / ``--pose2d``
    with local files, or the files put into the cache or a ``--weights-dir`` folder)."""
    specs = [s for s in (get_spec(n) for n in names_ if n) if s is not None and not s.shipped]
    missing = [s for s in specs if find_local(s, weights_dir) is None]
    if not missing:
        return
    failed = [(s, r) for s, r in download_all(missing, weights_dir=weights_dir, progress=progress)
              if isinstance(r, WeightsError)]
    if not failed:
        return
    what = "; ".join(f"{s.filename} from {s.url} ({getattr(r, 'reason', r)})" for s, r in failed)
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
    "download_all", "ensure_local", "check_file", "sha256_file", "unpack", "recorded_hashes",
    "search_dirs", "find_local", "weights_cache_dir", "status", "names", "format_size",
]
