"""``hotdemo batch``: every video of a folder, unattended, resumable, with a report.

* The models are loaded once (one :class:`~hotdemo.pipeline.Pipeline`) and reused for
  every clip.
* One output folder per clip, mirroring the input tree: ``FOLDER/a/b.mp4`` ->
  ``OUT/a/b/``. (Two inputs with the same stem in one folder, ``x.mp4`` and ``x.mov``,
  get ``x_mp4/`` and ``x_mov/``.)
* Resumable: after a clip succeeds, a small manifest ``.hotdemo_clip.json`` is written
  (atomically) into its output folder with the input's size and modification time, the
  settings that change the outputs, the weights files they resolve to (size and
  modification time of local files and of the shipped lifter; the pinned sha256 of
  downloaded ones; for a ``--pose2d`` ``.json`` spec, the weights it names too), and the
  list of output files. A later batch skips a
  clip whose manifest matches the input and settings and whose outputs all still exist;
  ``overwrite=True`` redoes it. The manifest is removed before a clip is (re)processed,
  so an interrupted clip is never mistaken for a complete one.
* A failing clip (bad file, no frame, ...) is recorded and the batch goes on.
* ``batch_report.json`` in the output root (written atomically, also after Ctrl-C) lists
  per clip: status (ok, skipped, failed, interrupted, not run), frames, people, seconds,
  error. Every output file of the pipeline goes through temp-file + rename, so Ctrl-C
  leaves no half-written file.
* ``ray=...``: the clips are spread over a Ray cluster (``"auto"`` starts a local Ray
  instance, anything else is a cluster address). Each Ray worker is an actor that loads
  the models once and processes clips as they come (dynamic load balancing). Workers write
  straight into the output folder, so on a multi-node cluster FOLDER and OUT must be on a
  file system every node sees (NFS, a mounted bucket...). The report is the same.
"""

from __future__ import annotations

import dataclasses
import logging
import fnmatch
import json
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from hotdemo.core.errors import HotdemoError, InputError
from hotdemo.core.paths import is_model_path
from hotdemo.io.files import atomic_write_json
from hotdemo.io.outdir import prepare_output_dir
from hotdemo.io.video import VIDEO_EXTENSIONS

CLIP_MANIFEST = ".hotdemo_clip.json"
REPORT_NAME = "batch_report.json"
_MANIFEST_VERSION = 1

log = logging.getLogger("hotdemo")
#: PipelineConfig settings that do not change what a clip's outputs are (the runtime group, and trust)
_IRRELEVANT_FIELDS = {"runtime.device", "runtime.weights_dir", "runtime.batch_size",
                      "pose.trust_checkpoint"}


# ---------------------------------------------------------------- data
@dataclass
class ClipResult:
    """One clip's line in the report. ``status``: ok, skipped, failed, interrupted, not run."""

    input: str  # path relative to the batch folder
    output: str  # output folder relative to the output root
    status: str = "not run"
    frames: Optional[int] = None
    people: Optional[int] = None
    seconds: Optional[float] = None
    error: Optional[str] = None
    warnings: List[str] = field(default_factory=list)
    stage_seconds: Dict[str, float] = field(default_factory=dict)


@dataclass
class BatchReport:
    folder: str
    output: str
    clips: List[ClipResult]
    seconds: float = 0.0
    interrupted: bool = False
    workers: int = 1
    mode: str = "local"  # "local" or "ray"

    @property
    def ok(self) -> bool:
        """True when every clip was processed or skipped (nothing failed, nothing left)."""
        return not self.interrupted and all(c.status in ("ok", "skipped") for c in self.clips)

    def counts(self) -> Dict[str, int]:
        out: Dict[str, int] = {}
        for c in self.clips:
            out[c.status] = out.get(c.status, 0) + 1
        return out

    def to_dict(self) -> Dict[str, Any]:
        return {
            "folder": self.folder, "output": self.output, "mode": self.mode, "workers": self.workers,
            "seconds": round(self.seconds, 3), "interrupted": self.interrupted, "ok": self.ok,
            "counts": self.counts(), "clips": [dataclasses.asdict(c) for c in self.clips],
        }


@dataclass(frozen=True)
class _Job:
    video: str  # absolute path
    out_dir: str  # absolute path
    rel_input: str
    rel_output: str
    overwrite: bool = False  # replace another input's outputs in out_dir (see hotdemo.io.outdir)


# ---------------------------------------------------------------- helpers
def find_videos(folder: Path, *, recursive: bool = False, pattern: Optional[str] = None,
                exclude: Optional[Path] = None) -> List[Path]:
    """Videos in ``folder`` (sorted). ``pattern`` is a glob on file names (case-insensitive);
    by default the common video extensions. Hidden files and anything under ``exclude`` (the
    output root) are ignored."""
    it = folder.rglob("*") if recursive else folder.glob("*")
    excl = exclude.resolve() if exclude is not None else None
    out = []
    for p in it:
        if p.name.startswith(".") or not p.is_file():
            continue
        rel_parts = p.relative_to(folder).parts
        if any(part.startswith(".") for part in rel_parts[:-1]):
            continue
        if excl is not None and (p.resolve() == excl or excl in p.resolve().parents):
            continue
        name = p.name.lower()
        if pattern:
            if not fnmatch.fnmatch(name, pattern.lower()):
                continue
        elif not name.endswith(VIDEO_EXTENSIONS):
            continue
        out.append(p)
    return sorted(out)


def plan_jobs(folder: Path, out_root: Path, videos: Sequence[Path]) -> List[_Job]:
    """One output folder per clip, mirroring the input tree; same-stem clashes get the extension."""
    rels = [v.relative_to(folder) for v in videos]
    stems: Dict[Path, int] = {}
    for r in rels:
        k = r.with_suffix("")
        stems[k] = stems.get(k, 0) + 1
    jobs = []
    for v, r in zip(videos, rels):
        k = r.with_suffix("")
        if stems[k] > 1:
            k = r.parent / (r.stem + "_" + r.suffix.lstrip(".").lower())
        jobs.append(_Job(str(v.resolve()), str((out_root / k).resolve()), r.as_posix(), k.as_posix()))
    return jobs


def config_fingerprint(config: Any) -> Dict[str, Any]:
    """The settings that change a clip's outputs (JSON-friendly): every option that selects or
    tunes a stage, and under ``"weights_files"`` the identity of the weights files they resolve
    to (:func:`weights_signature`), so that a replaced model file redoes the clips."""
    if config is None:
        return {}
    d = config.flat() if hasattr(config, "flat") else dict(vars(config))
    fp = {k: (list(v) if isinstance(v, tuple) else (str(v) if isinstance(v, Path) else v))
          for k, v in sorted(d.items()) if k not in _IRRELEVANT_FIELDS}
    fp["weights_files"] = weights_signature(config)
    return fp


def _file_signature(path: Path) -> Dict[str, Any]:
    try:
        st = Path(path).stat()
    except OSError:
        return {"path": str(path), "missing": True}
    return {"path": str(Path(path).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def weights_signature(config: Any) -> Dict[str, Any]:
    """What each stage's weights are, without loading or downloading anything: a local file (and
    a Darknet model's ``.cfg``) by path, size and modification time; a built-in downloadable model
    by its pinned sha256 (it is verified against it before use); the shipped lifter by its file."""
    from hotdemo.detect.detector import manifest_name as detector_weights
    from hotdemo.io.weights import get_spec

    def named_or_file(manifest: Optional[str], given: Optional[Any]) -> Any:
        if manifest is not None:
            spec = get_spec(manifest)
            return {"name": manifest, "sha256": spec.sha256 if spec else None}
        if given is None:
            return None
        p = Path(str(given)).expanduser()
        sig = _file_signature(p)
        if p.suffix.lower() == ".weights":
            return [sig, _file_signature(p.with_suffix(".cfg"))]
        return sig

    det, pose = config.detect.detector, config.pose.pose2d
    lifter, ckpt = config.lift.lifter, config.lift.checkpoint
    if ckpt is not None:
        lift_sig: Any = _file_signature(Path(ckpt))
    elif lifter is not None and is_model_path(lifter, is_name=_is_lifter_name):
        lift_sig = _file_signature(Path(str(lifter)).expanduser())
    else:  # a built-in lifter name: the shipped weights (only hot_mixste has them; others run untrained)
        from hotdemo.core.paths import bundled_lifter_path

        lift_sig = {"name": lifter or "hot_mixste", "shipped": _file_signature(bundled_lifter_path())}
    return {"detector": named_or_file(detector_weights(det), det),
            "pose2d": pose2d_signature(pose, named_or_file), "lifter": lift_sig}


def _is_lifter_name(name: str) -> bool:
    from hotdemo.lift.registry import LIFTERS

    return name in LIFTERS


def pose2d_signature(pose: Optional[Any], named_or_file: Callable[[Optional[str], Optional[Any]], Any]) -> Any:
    """``--pose2d``'s weights: a built-in name's pinned sha256 or a file's signature; for a ``.json``
    spec, the JSON and the weights it names (a file, relative to the JSON, or a built-in name)."""
    from hotdemo.core.errors import HotdemoError
    from hotdemo.pose2d.registry import _spec_from_json, manifest_name

    if pose is not None and str(pose).lower().endswith(".json") and Path(str(pose)).expanduser().is_file():
        p = Path(str(pose)).expanduser()
        try:
            spec = _spec_from_json(p)
        except HotdemoError:  # building the pipeline reports it
            return {"spec": _file_signature(p), "weights": None}
        return {"spec": _file_signature(p),
                "weights": named_or_file(manifest_name(spec), spec.weights) if spec.weights else None}
    return named_or_file(manifest_name(pose), pose)


def _input_signature(video: Path) -> Dict[str, Any]:
    st = video.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def is_complete(job: _Job, fingerprint: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The clip manifest if the clip's outputs are complete and current, else None."""
    mpath = Path(job.out_dir) / CLIP_MANIFEST
    try:
        m = json.loads(mpath.read_text(encoding="utf-8"))
        if m.get("version") != _MANIFEST_VERSION:
            return None
        if m.get("input") != _input_signature(Path(job.video)) or m.get("config") != fingerprint:
            return None
        if not all((Path(job.out_dir) / o).is_file() for o in m.get("outputs", [])):
            return None
        return m
    except (OSError, ValueError, AttributeError):
        return None


def process_clip(pipeline: Any, job: _Job, fingerprint: Dict[str, Any]) -> ClipResult:
    """Run one clip; never raises except KeyboardInterrupt / SystemExit."""
    res = ClipResult(job.rel_input, job.rel_output)
    out_dir = Path(job.out_dir)
    t0 = time.perf_counter()
    try:
        (out_dir / CLIP_MANIFEST).unlink()
    except FileNotFoundError:
        pass
    except OSError:
        pass
    try:
        video = Path(job.video)
        sig = _input_signature(video)
        r = pipeline.run(video, out_dir, overwrite=job.overwrite)
        res.status = "ok"
        res.frames, res.people = int(r.frames), int(r.people)
        res.warnings = list(getattr(r, "warnings", []) or [])
        res.stage_seconds = {k: round(float(v), 3) for k, v in (getattr(r, "stage_seconds", {}) or {}).items()}
        outputs = []
        for p in r.outputs:
            p = Path(p)
            try:
                outputs.append(p.resolve().relative_to(out_dir.resolve()).as_posix())
            except ValueError:
                outputs.append(str(p))
        atomic_write_json(out_dir / CLIP_MANIFEST, {
            "version": _MANIFEST_VERSION, "input": sig, "config": fingerprint, "outputs": outputs,
            "frames": res.frames, "people": res.people, "warnings": res.warnings,
        })
    except HotdemoError as e:
        res.status, res.error = "failed", str(e)
    except Exception as e:  # noqa: BLE001 - one bad clip must not stop the batch
        tb = traceback.extract_tb(e.__traceback__)
        where = f" ({Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
        res.status, res.error = "failed", f"{type(e).__name__}: {e}{where}"
    except KeyboardInterrupt:
        res.status, res.error = "interrupted", "stopped by Ctrl-C; partial outputs were discarded"
        res.seconds = round(time.perf_counter() - t0, 3)
        raise _Interrupted(res) from None
    res.seconds = round(time.perf_counter() - t0, 3)
    return res


class _Interrupted(KeyboardInterrupt):
    def __init__(self, result: ClipResult):
        super().__init__()
        self.result = result


def _skipped(job: _Job, manifest: Dict[str, Any]) -> ClipResult:
    return ClipResult(job.rel_input, job.rel_output, status="skipped", frames=manifest.get("frames"),
                      people=manifest.get("people"), seconds=0.0, warnings=list(manifest.get("warnings", [])))


def default_pipeline_factory(config: Any):
    from hotdemo.pipeline import Pipeline

    return Pipeline(config, verbose=False)


# ---------------------------------------------------------------- entry point
def run_batch(folder, output=None, *, config=None, recursive: bool = False, pattern: Optional[str] = None,
              overwrite: bool = False, ray: Optional[str] = None, verbose: bool = True,
              pipeline_factory: Optional[Callable[[Any], Any]] = None, ray_workers: Optional[int] = None
              ) -> BatchReport:
    """Process every video in ``folder`` into ``output`` (default ``folder/hotdemo_out``).

    ``pipeline_factory(config)`` builds the object whose ``run(video, out_dir, overwrite=...)`` processes a
    clip (default: :class:`hotdemo.pipeline.Pipeline`); it is called once (once per Ray
    worker). Returns the :class:`BatchReport`, also written to ``output/batch_report.json``.
    KeyboardInterrupt is re-raised after the report is written.
    """
    t0 = time.perf_counter()
    folder = Path(folder)
    if not folder.exists():
        raise InputError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise InputError(f"{folder} is a file; `hotdemo batch` takes a folder (use `hotdemo run` for one video)")
    out_root = Path(output) if output is not None else folder / "hotdemo_out"
    videos = find_videos(folder, recursive=recursive, pattern=pattern, exclude=out_root)
    if not videos:
        what = f"matching {pattern!r}" if pattern else f"with a video extension ({', '.join(VIDEO_EXTENSIONS[:5])}, ...)"
        raise InputError(f"no files {what} in {folder}{'' if recursive else ' (add --recursive to look in sub-folders)'}")
    prepare_output_dir(out_root)

    jobs = plan_jobs(folder, out_root, videos)
    fp = config_fingerprint(config)
    results: Dict[str, ClipResult] = {j.rel_input: ClipResult(j.rel_input, j.rel_output) for j in jobs}
    todo: List[_Job] = []
    for j in jobs:
        m = None if overwrite else is_complete(j, fp)
        if m is not None:
            results[j.rel_input] = _skipped(j, m)
        else:
            todo.append(dataclasses.replace(j, overwrite=True) if overwrite else j)
    report = BatchReport(str(folder), str(out_root), [results[j.rel_input] for j in jobs],
                         mode="ray" if ray else "local")
    con = _console(verbose)
    if getattr(config, "trust_checkpoint", False):  # never silently: said once, up front, whatever the verbosity
        log.warning("--trust-checkpoint: a 2D checkpoint that holds more than tensors is unpickled fully for "
                    "every clip, which runs code from the file")
    if con:
        n_skip = len(jobs) - len(todo)
        con.print(f"{len(jobs)} clip{'s' if len(jobs) != 1 else ''} in {escape(str(folder))}"
                  + (f", {n_skip} already done (skipped; --overwrite redoes them)" if n_skip else ""), highlight=False)

    def record(r: ClipResult) -> None:
        results[r.input] = r
        report.clips = [results[j.rel_input] for j in jobs]
        atomic_write_json(out_root / REPORT_NAME, report.to_dict())
        if con:
            _print_clip_line(con, r, sum(1 for c in report.clips if c.status != "not run" and c.status != "skipped"), len(todo))

    factory = pipeline_factory or default_pipeline_factory
    try:
        if todo:
            if ray:
                from hotdemo.batch_ray import run_on_ray

                report.workers = run_on_ray(ray, todo, config, fp, factory, record, ray_workers, con)
            else:
                pipeline = factory(config)
                try:
                    for j in todo:
                        if con:
                            con.print(f"[bold]→[/] {escape(j.rel_input)}", highlight=False, soft_wrap=True)
                        record(process_clip(pipeline, j, fp))
                finally:
                    close = getattr(pipeline, "__exit__", None)
                    if close is not None:
                        close(None, None, None)
    except KeyboardInterrupt as e:
        report.interrupted = True
        if isinstance(e, _Interrupted):
            results[e.result.input] = e.result
        report.clips = [results[j.rel_input] for j in jobs]
        report.seconds = time.perf_counter() - t0
        atomic_write_json(out_root / REPORT_NAME, report.to_dict())
        if con:
            con.print(f"[yellow]interrupted[/]: report written to {escape(str(out_root / REPORT_NAME))}; "
                      "run the same command again to resume", highlight=False)
        raise KeyboardInterrupt from None
    report.clips = [results[j.rel_input] for j in jobs]
    report.seconds = time.perf_counter() - t0
    atomic_write_json(out_root / REPORT_NAME, report.to_dict())
    if con:
        print_summary(report, con)
    return report




def escape(text: str) -> str:
    """``text`` (a path, an error message) shown literally by rich: ``Title [id].mp4`` is not markup."""
    from rich.markup import escape as _escape

    return _escape(str(text))


def _console(verbose: bool):
    if not verbose:
        return None
    from rich.console import Console

    return Console(stderr=True)


def _print_clip_line(con, r: ClipResult, done: int, total: int) -> None:
    colour = {"ok": "green", "failed": "red", "interrupted": "yellow"}.get(r.status, "white")
    detail = (f"{r.frames} frames, {r.people} people, {r.seconds:.1f} s" if r.status == "ok" else (r.error or ""))
    con.print(f"[{colour}]{r.status}[/] \\[{done}/{total}] {escape(r.input)}: {escape(detail)}", highlight=False,
              soft_wrap=True)
    for w in r.warnings:
        con.print(f"  [yellow]warning:[/] {escape(w)}", highlight=False, soft_wrap=True)


def print_summary(report: BatchReport, con=None) -> None:
    from rich.console import Console
    from rich.table import Table

    con = con or Console(stderr=True)
    t = Table(title=f"hotdemo batch: {report.folder}")
    for col, just in (("clip", "left"), ("status", "left"), ("frames", "right"), ("people", "right"),
                      ("seconds", "right"), ("error / warning", "left")):
        t.add_column(col, justify=just, overflow="fold")
    colour = {"ok": "green", "skipped": "cyan", "failed": "red", "interrupted": "yellow"}
    for c in report.clips:
        note = c.error or ("; ".join(c.warnings) if c.warnings else "")
        t.add_row(escape(c.input), f"[{colour.get(c.status, 'white')}]{c.status}[/]",
                  "" if c.frames is None else str(c.frames), "" if c.people is None else str(c.people),
                  "" if c.seconds is None else f"{c.seconds:.1f}", escape(note))
    con.print(t)
    counts = ", ".join(f"{v} {k}" for k, v in report.counts().items())
    con.print(f"{counts} in {report.seconds:.1f} s; report: {escape(str(Path(report.output) / REPORT_NAME))}",
              highlight=False, soft_wrap=True)
