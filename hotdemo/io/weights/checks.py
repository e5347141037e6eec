"""Checking a weights file: its sha256 (pinned, a published prefix, or recorded on first
download in ``<file>.sha256``), an RTMPose SDK ``end2end.onnx`` by its structure
(:func:`check_simcc_onnx`), and unpacking a zip's member after checking it (:func:`unpack`)."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path
from typing import List, Optional, Tuple

from hotdemo.core.paths import is_model_path
from hotdemo.core.errors import WeightsError
from hotdemo.io.weights.manifest import (PathLike, WeightSpec, _is_digest, all_specs, find_local, get_spec,
                                         weights_cache_dir)

_CHUNK = 1 << 20  #: bytes read at a time (hashing, unpacking, downloading)


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

                def check(tmp: Path) -> None:  # before the rename: a failing member never lands
                    digest = h.hexdigest()
                    if spec.unpacked_sha256 and digest != spec.unpacked_sha256:
                        raise WeightsError(f"{archive}: its {spec.archive_member} fails the pinned sha256 (got "
                                           f"{digest[:16]}..., expected {spec.unpacked_sha256[:16]}...); "
                                           f"{_redownload_hint(spec)}")
                    if spec.simcc_input_hw is not None:
                        try:
                            check_simcc_onnx(tmp, spec.simcc_input_hw)
                        except WeightsError as e:
                            raise WeightsError(str(e).replace(str(tmp), f"{archive}: {member}")) from None
                    _write_record(dest, [(digest, dest.name), (sha256_file(archive), archive_name or archive.name)])

                atomic_write(dest, write, check=check)
    except zipfile.BadZipFile as e:
        raise WeightsError(f"{archive}: not a valid zip archive ({e}); {_redownload_hint(spec)}") from None
    return dest

