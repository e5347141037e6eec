"""Command-line interface. Parsing only: every command calls the Python API.

Errors the user can cause (hotdemo.core.errors.HotdemoError) are printed as one line,
``error: ...``, and exit with the error's code; no traceback.

One module per command group: :mod:`.jobs` (run, lift, batch, live: their options come from the
table in :mod:`.options`), :mod:`.tools` (doctor, lifters, weights), :mod:`.train` (train, eval;
also ``python -m hotdemo.train``), the plumbing in :mod:`.base`.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

os.environ.setdefault("YOLO_OFFLINE", "1")

import typer  # noqa: E402

from hotdemo import __version__  # noqa: E402
from hotdemo.cli.base import LAZY_COMMANDS, app, console, handle_errors  # noqa: E402,F401
from hotdemo.cli.options import RUN, build_config, opt  # noqa: E402

__all__ = ["app", "main", "console", "handle_errors"]


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"hotdemo {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """hotdemo: video to 3D human poses."""



from hotdemo.cli import jobs, tools  # noqa: E402,F401  (they register their commands)


def _train_command(name: str):
    def build():
        from hotdemo.cli.train import click_group

        return click_group().commands[name]
    return build


LAZY_COMMANDS["train"] = _train_command("train")
LAZY_COMMANDS["eval"] = _train_command("eval")

#: the ``--export`` option as Typer declares it (its default and help)
ExportOpt = opt("export").parameter(RUN).default


def _config(params: Mapping[str, Any]):
    """The :class:`~hotdemo.pipeline.PipelineConfig` of ``run`` from parsed option values (by
    parameter name; the others take their defaults)."""
    return build_config(RUN, params)


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
