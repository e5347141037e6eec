"""Resolving a weights name or path to a checked local file, downloading what is missing
(:func:`resolve`, :func:`ensure_local`, :func:`download_all`), and the status shown by
``hotdemo weights list``."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, List, Optional, Tuple, Union

from hotdemo.core.errors import WeightsError
from hotdemo.core.paths import bundled_lifter_path, is_model_path
from hotdemo.io.weights import manifest as _manifest
from hotdemo.io.weights.checks import check_file, recorded_hashes, unpack
from hotdemo.io.weights.download import fetch
from hotdemo.io.weights.manifest import PathLike, WeightSpec, all_specs, find_local, get_spec, search_dirs


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
    dirs = ", ".join(str(d) for d in search_dirs(weights_dir) if d != _manifest.bundled_weights_dir())
    raise WeightsError(
        f"cannot download the default model{'s' if len(failed) > 1 else ''}: {what}. "
        f"Offline, run with local files instead: {route}; or download {'these files' if len(failed) > 1 else 'it'} "
        f"elsewhere and put {'them' if len(failed) > 1 else 'it'} in one of: {dirs} (--weights-dir DIR adds a folder)"
    )

