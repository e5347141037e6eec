"""``hotdemo doctor``, ``lifters`` and ``weights``."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.markup import escape

from hotdemo.cli.base import _fail, _Typer, app, console, handle_errors
from hotdemo.cli.options import DOCTOR, build_config, command, opt
from hotdemo.core.errors import InputError

WeightsDirOpt = opt("weights_dir").parameter(DOCTOR).default


@app.command("doctor")
@handle_errors
@command(DOCTOR)
def doctor_cmd(**opts) -> None:
    """Check the set-up: packages, ffmpeg, ONNX Runtime, CUDA, the cache folder, each model, then the
    whole pipeline on a short clip shipped with hotdemo. One line per check; exit 0 only if all pass."""
    from hotdemo.doctor import run_checks

    out = Console()
    failed = []
    for c in run_checks(build_config(DOCTOR, opts), network=not opts["no_network"]):
        mark = {True: "[green]ok  [/]", False: "[bold red]FAIL[/]", None: "[dim]info[/]"}[c.ok]
        out.print(f"{mark} {c.name}: {escape(c.detail)}", highlight=False, soft_wrap=True)
        if c.ok is False:
            failed.append(c.name)
    if failed:
        _fail(f"{len(failed)} check{'s' if len(failed) > 1 else ''} failed: {', '.join(failed)}", 1)
    out.print("all checks passed", highlight=False)


@app.command("lifters")
@handle_errors
def lifters_cmd() -> None:
    """List the 2D-to-3D lifter families: frames, input, FLOPs per output frame at the official size,
    and where official weights come from."""
    from rich.table import Table

    from hotdemo.lift.registry import lifter_table

    table = Table(title="hotdemo lifters (official sizes)")
    for col in ("name", "kind", "frames", "input", "params", "GFLOPs / output frame", "weights"):
        table.add_column(col, overflow="fold")
    for r in lifter_table():
        table.add_row(r["name"], r["kind"], str(r["frames"]), r["input"], f"{r['params'] / 1e6:.1f} M",
                      f"{r['flops_per_frame'] / 1e9:.3g}", r["weights"])
    Console().print(table)
    _print_token_table()


def _print_token_table() -> None:
    """The shipped lifter's measured token trade-off (benchmarks/tokens.py --write), if it matches the file."""
    import json

    from hotdemo.core.paths import bundled_lifter_path
    from hotdemo.io.weights import sha256_file

    lp = bundled_lifter_path()
    p = lp.with_name(lp.stem + ".tokens.json")
    try:
        rec = json.loads(p.read_text())
    except (OSError, ValueError):
        return
    if rec.get("lifter_sha256") != sha256_file(lp):
        return  # measured on another file
    from rich.table import Table

    noises = list(rec["rows"][0]["mpjpe_mm"]) if rec.get("rows") else []
    t = Table(title=f"shipped lifter: tokens kept after pruning (--tokens N; trained with {rec['trained_tokens']} "
                    f"of {rec['frames']} frames)")
    for col in ["tokens"] + [f"MPJPE {n} (mm)" for n in noises] + ["lifter ms / frame", "time vs trained"]:
        t.add_column(col)
    for r in rec["rows"]:
        t.add_row(str(r["tokens"]), *[f"{r['mpjpe_mm'][n]:.1f}" for n in noises], f"{r['lifter_ms_per_frame']:.2f}",
                  f"{r['time_vs_trained']:.2f}x" if r.get("time_vs_trained") else "-")
    Console().print(t)
    Console().print(escape(f"measured by `{rec['command']}` (S9/S11 subset, our Human3.6M reconstruction)"), highlight=False)


weights_app = _Typer(help="List, download and verify model weights.", no_args_is_help=True)
app.add_typer(weights_app, name="weights")

WeightNamesArg = typer.Argument(None, help="Manifest names (default: all).", show_default=False)


def _weight_specs(names: Optional[List[str]]):
    from hotdemo.io.weights import all_specs, get_spec

    if not names:
        return all_specs()
    specs = []
    for n in names:
        s = get_spec(n)
        if s is None:
            raise InputError(f"unknown weights {n!r}; known: {', '.join(x.name for x in all_specs())}")
        specs.append(s)
    return specs


@weights_app.command("list")
@handle_errors
def weights_list(weights_dir: Optional[Path] = WeightsDirOpt) -> None:
    """Show the default models (downloaded and shipped): file, size, licence, sha256, local copy."""
    from rich.markup import escape
    from rich.table import Table

    from hotdemo.io.weights import checksum_note, format_size, search_dirs, status

    table = Table(title="hotdemo weights")
    for col in ("name", "kind", "file", "size", "licence", "checked by", "local copy"):
        table.add_column(col, overflow="fold")
    rows = status(weights_dir)
    digests = []
    for spec, path in rows:
        size = spec.size if spec.size is not None or path is None else path.stat().st_size
        how, known = checksum_note(spec, path)
        digests += known
        table.add_row(
            spec.name, spec.kind, spec.filename, format_size(size), escape(spec.licence.split(" (")[0]), escape(how),
            escape(str(path)) + (" (shipped)" if spec.shipped else "") if path
            else ("[red]missing, reinstall hotdemo[/]" if spec.shipped else "[dim]not downloaded[/]"),
        )
    out = Console()
    out.print(table)
    out.print("sha256 (sha256sum format; pinned, or recorded on first download):", highlight=False)
    for digest, name, where in digests:
        note = "  # recorded on first download" if where != "pinned" else ""
        out.print(f"  {digest}  {escape(name)}{note}", highlight=False, soft_wrap=True)
    out.print(escape("searched: " + ", ".join(str(d) for d in search_dirs(weights_dir))), highlight=False, soft_wrap=True)


@weights_app.command("download")
@handle_errors
def weights_download(names: Optional[List[str]] = WeightNamesArg, weights_dir: Optional[Path] = WeightsDirOpt) -> None:
    """Download weights into the cache ($HOTDEMO_HOME/weights), verifying their checksums.

    Every file is tried; each failure is reported and the exit code is 3 if any failed."""
    from hotdemo.io.weights import download_all

    out = Console()
    results = download_all(_weight_specs(names), weights_dir=weights_dir)
    failed = [(s, r) for s, r in results if isinstance(r, Exception)]
    for spec, r in results:
        if isinstance(r, Exception):
            console.print(f"[bold red]error:[/] {escape(str(r))}", highlight=False, soft_wrap=True)
        else:
            note = " (shipped with hotdemo)" if spec.shipped else ""
            out.print(f"[green]ok[/] {spec.name}: {escape(str(r))}{note}", highlight=False, soft_wrap=True)
    if failed:
        _fail(f"{len(failed)} of {len(results)} weights files failed: {', '.join(s.name for s, _ in failed)}", 3)


@weights_app.command("verify")
@handle_errors
def weights_verify(
    names: Optional[List[str]] = typer.Argument(None, help="Manifest names or weights files (default: all local copies).", show_default=False),
    weights_dir: Optional[Path] = WeightsDirOpt,
) -> None:
    """Check local weights files against their manifest checksums (exit 3 if any is corrupted)."""
    from hotdemo.core.errors import WeightsError
    from hotdemo.io.weights import find_local, verify

    out = Console()
    bad = 0
    targets = names or [s.name for s in _weight_specs(None) if find_local(s, weights_dir)]
    if not targets:
        out.print("no weights downloaded yet; nothing to verify (`hotdemo weights download`)")
    for n in targets:
        try:
            out.print(f"[green]ok[/] {escape(n)}: {escape(str(verify(n, weights_dir=weights_dir)))}",
                      highlight=False, soft_wrap=True)
        except WeightsError as e:
            bad += 1
            console.print(f"[bold red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
    if bad:
        raise typer.Exit(3)
