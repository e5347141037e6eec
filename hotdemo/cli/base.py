"""The CLI's plumbing: help that reads right, one-line errors, the result lines."""

from __future__ import annotations

import functools
from typing import Callable, Dict, List

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

from hotdemo.core.errors import HotdemoError

console = Console(stderr=True)


# ---------------------------------------------------------------- help that reads right
# Typer renders help with rich markup, so help text is escaped here (``hotdemo[ray]`` and
# ``[default: 128]`` stay as written); flags get no ``<bool>`` type, and the usage line names
# arguments the usual way (``VIDEO``, ``[NAMES]...``) whatever the Typer version draws.
# tests/test_cli.py checks the rendered help.
def _tidy_help(cmd) -> None:
    if cmd.help:
        cmd.help = escape(cmd.help)
    for p in cmd.params:
        _tidy_param(p)


def _tidy_param(p) -> None:
    if getattr(p, "help", None):
        p.help = escape(p.help)
    if getattr(p, "is_flag", False):
        p.metavar = ""


def _usage_pieces(cmd, ctx) -> List[str]:
    rv = [cmd.options_metavar] if cmd.options_metavar else []
    for p in cmd.get_params(ctx):
        if getattr(p, "param_type_name", "") != "argument":
            continue
        name = (p.metavar or p.name or "ARG").upper() + ("..." if p.nargs != 1 else "")
        rv.append(name if p.required else f"[{name}]")
    return rv


class _Command(TyperCommand):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _tidy_help(self)

    def collect_usage_pieces(self, ctx):
        return _usage_pieces(self, ctx)

    def get_help_option(self, ctx):
        opt = super().get_help_option(ctx)
        if opt is not None:
            _tidy_param(opt)
        return opt


#: commands of the root group (``hotdemo``) built only when asked for (their options need heavy
#: imports): name -> builder
ROOT_NAME = "hotdemo"
LAZY_COMMANDS: Dict[str, Callable[[], object]] = {}


class _Group(TyperGroup):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _tidy_help(self)

    def list_commands(self, ctx):
        names = super().list_commands(ctx)
        return names + [n for n in LAZY_COMMANDS if n not in names] if self.name == ROOT_NAME else names

    def get_command(self, ctx, name):
        cmd = super().get_command(ctx, name)
        if cmd is None and self.name == ROOT_NAME and name in LAZY_COMMANDS:
            cmd = LAZY_COMMANDS[name]()
            self.add_command(cmd, name)
        return cmd

    def get_help_option(self, ctx):
        opt = super().get_help_option(ctx)
        if opt is not None:
            _tidy_param(opt)
        return opt


class _Typer(typer.Typer):
    """A Typer whose commands use :class:`_Command` unless told otherwise."""

    def __init__(self, **kwargs):
        kwargs.setdefault("cls", _Group)
        kwargs.setdefault("rich_markup_mode", "rich")
        super().__init__(**kwargs)

    def command(self, *args, cls=None, **kwargs):
        return super().command(*args, cls=cls or _Command, **kwargs)


app = _Typer(
    name=ROOT_NAME,
    help=(
        "Turn an ordinary video into 3D human poses: YOLO person detection and tracking, "
        "top-down 2D keypoints, and the HoT (Hourglass Tokenizer) lifting transformer. "
        "Writes a rendered video (input + 2D overlay beside a rotating 3D view) and the poses "
        "(JSON, NPZ, CSV, BVH, glTF, TRC, joint angles, an HTML 3D viewer)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _fail(message: str, code: int) -> None:
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def handle_errors(fn):
    """Turn HotdemoError into a one-line message and its exit code; Ctrl-C into exit 130."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except HotdemoError as e:
            _fail(str(e), e.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted; no partial output was kept", 130)

    return wrapper


def print_result(result) -> None:
    c = Console()
    c.print(
        f"[green]done[/] {result.frames} frames, {result.people} "
        f"{'person' if result.people == 1 else 'people'} in {result.seconds:.1f} s -> {escape(str(result.out_dir))}",
        highlight=False, soft_wrap=True,
    )
    for p in result.outputs:
        c.print(f"  {escape(str(p))}", highlight=False, soft_wrap=True)
