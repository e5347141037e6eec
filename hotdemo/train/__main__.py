"""``python -m hotdemo.train {train,eval,cache,compare,export}``: the training commands of
:mod:`hotdemo.cli.train` (``hotdemo train`` / ``hotdemo eval`` are the same commands).

Examples::

    python -m hotdemo.train train --run-dir /work/train_runs/hot --steps 3000 --max-minutes 70
    python -m hotdemo.train train --config RUN/config.json --run-dir RUN2   # reproduce a run
    python -m hotdemo.train eval --checkpoint /work/train_runs/hot/last.pt --json eval.json
    python -m hotdemo.train export /work/train_runs/hot/last.pt hotdemo/bundled/hot_mixste_h36m.pt --eval eval.json
    python -m hotdemo.train cache .device/h36m17_f16.npz    # compact float16 data for a GPU machine
    python -m hotdemo.train compare gpu_out/cmp             # HoT vs MixSTE over seeds (tools/gpu_compare.sh)
"""

from __future__ import annotations

import sys
from argparse import Namespace
from typing import List, Optional

from hotdemo.cli.train import click_group, given_options, main

__all__ = ["main", "parse_options"]


def parse_options(argv: List[str]) -> Namespace:
    """A training command line (``["train", "--steps", "7", ...]``) parsed, without running it:
    ``command`` and the options given (what the command passes on)."""
    group = click_group()
    name, *rest = argv
    cmd = group.get_command(None, name)  # type: ignore[arg-type]
    ctx = cmd.make_context(name, list(rest))
    values = given_options(ctx, ctx.params) if name == "train" else dict(ctx.params)
    return Namespace(command=name, **values)


class _Parser:
    """``_parser().parse_args(argv)``: :func:`parse_options`, for callers of the argparse days."""

    def parse_args(self, argv: Optional[List[str]] = None) -> Namespace:
        return parse_options(list(sys.argv[1:] if argv is None else argv))


def _parser() -> _Parser:
    return _Parser()


if __name__ == "__main__":
    sys.exit(main())
