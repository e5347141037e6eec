"""``hotdemo run``, ``lift``, ``batch`` and ``live``: their options come from the table
(:mod:`hotdemo.cli.options`); each command builds the config and calls the Python API."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

from hotdemo.cli.base import app, console, handle_errors, print_result
from hotdemo.cli.options import BATCH, LIFT, LIVE, RUN, build_config, command


@app.command()
@handle_errors
@command(RUN)
def run(**opts) -> None:
    """Run the whole pipeline on one video: detect, track, 2D keypoints, lift to 3D, render, export."""
    import hotdemo.pipeline as P

    video, overwrite = opts["video"], opts["overwrite"]
    out = opts["output"] or P.default_output_dir(video)
    # a bad input or an unusable output folder fails here, before any model is loaded; nothing is created
    P.check_job(video, out, overwrite=overwrite)
    cfg = build_config(RUN, opts)
    with P.Pipeline(cfg, verbose=True) as pipe:
        result = pipe.run(video, out, overwrite=overwrite)
    print_result(result)


@app.command()
@handle_errors
@command(LIFT)
def lift(**opts) -> None:
    """Lift a 2D keypoint file to 3D, without the video stages."""
    import hotdemo.pipeline as P

    keypoints = opts["keypoints"]
    cfg = build_config(LIFT, opts)
    out = opts["output"] or keypoints.resolve().parent / f"{keypoints.stem}_3d"
    result = P.lift_keypoints_file(keypoints, out, cfg, verbose=True, overwrite=opts["overwrite"])
    print_result(result)


@app.command()
@handle_errors
@command(BATCH)
def batch(**opts) -> None:
    """Process every video in a folder (models loaded once, resumable, with a report)."""
    import hotdemo.batch as B

    cfg = build_config(BATCH, opts)
    report = B.run_batch(opts["folder"], opts["output"], config=cfg, recursive=opts["recursive"],
                         pattern=opts["pattern"], overwrite=opts["overwrite"], ray=opts["ray"])
    raise typer.Exit(0 if report.ok else 1)


@app.command("live")
@handle_errors
@command(LIVE)
def live_cmd(**opts) -> None:
    """Live 3D from a webcam, a stream or a video file in real time: a causal pipeline (the lifter's window
    ends at the current frame) that drops frames rather than falling behind, and reports its latency."""
    from hotdemo.io.files import atomic_write_json
    from hotdemo.live import run_live

    cfg = build_config(LIVE, opts)
    cfg.output.formats = ()  # live writes no exports
    output = opts["output"]
    stats = run_live(opts["source"], cfg, window=not opts["no_window"], output=output, max_seconds=opts["seconds"],
                     log=lambda m: console.print(escape(m), highlight=False))
    if opts["report"] is not None:
        atomic_write_json(opts["report"], stats.summary())
    Console().print("live: " + escape(stats.line()), highlight=False)
    if output is not None:
        Console().print(escape(f"  {output}"), highlight=False)
