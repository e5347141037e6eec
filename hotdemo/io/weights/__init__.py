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

The code, one module per job: :mod:`~hotdemo.io.weights.manifest` (the entries, their pins and
mirrors, where a file is looked for), :mod:`~hotdemo.io.weights.checks` (sha256, recorded
digests, the ONNX structure check, unpacking), :mod:`~hotdemo.io.weights.download` (HTTP, Range
resume, part files, mirrors, classified errors, the deadline) and :mod:`~hotdemo.io.weights.local`
(a name or path to a checked local file, downloading what is missing). This package re-exports
their public names.
"""

from hotdemo.io.weights.checks import (check_file, check_simcc_onnx, recorded_hashes, sha256_file, unpack,
                                      verify)
from hotdemo.io.weights.download import (DEFAULT_DEADLINE, READ_TIMEOUT, _HINTS, _classify,  # noqa: F401
                                         _Failed, _progress_bar, fetch)
from hotdemo.io.weights.local import checksum_note, download_all, ensure_local, resolve, status
from hotdemo.io.weights.manifest import (MANIFEST, WeightSpec, all_specs, find_local, format_size, get_spec,
                                         names, search_dirs, shipped_specs, weights_cache_dir)

__all__ = [
    "WeightSpec", "MANIFEST", "shipped_specs", "all_specs", "get_spec", "resolve", "verify", "fetch",
    "download_all", "ensure_local", "check_file", "check_simcc_onnx", "checksum_note", "sha256_file", "unpack",
    "recorded_hashes", "search_dirs", "find_local", "weights_cache_dir", "status", "names", "format_size",
    "READ_TIMEOUT", "DEFAULT_DEADLINE",
]
