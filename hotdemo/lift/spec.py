"""What hotdemo needs to know about one lifter family: :class:`LifterSpec`.

Every model file defines one spec per family next to its model code; the registry in
:mod:`hotdemo.lift.registry` lists them. Everything else (checkpoint reading, ``hotdemo run/lift
--lifter``, ``hotdemo train --model``, ``hotdemo eval``, ``hotdemo lifters``,
``benchmarks/lifter.py``) works from the spec, so adding a family is one model file plus one
registry line.

Model interface the spec promises (``cfg`` is the family's config dataclass):

* ``model.cfg.frames``: the window length T;
* ``model(x)`` with ``x`` (B, T, 17, C), C = ``input_channels``: (x, y) screen-normalised as
  ``X / w * 2 - [1, h / w]`` (the official HoT / MotionBERT Human3.6M convention), plus the 2D
  confidence in [0, 1] as third channel when C is 3;
* seq2seq families return (B, T, 17, 3); seq2frame families return the official model's output
  (the centre frame (B, 1, 17, 3) for TPC-MixSTE, every frame for MHFormer, the kept frames and
  their indices for TPC-MHFormer) and also have ``predict_centre(x, reuse=None) -> (y (B, 1, 17,
  3), reuse)`` (``reuse``: what the mirrored pass may share with the plain one, e.g. the kept
  frames) and ``train_forward(x, target) -> (pred, target)`` (what the family's official training
  supervises).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Callable, Dict, Mapping, Optional

import torch

StateDict = Mapping[str, torch.Tensor]

#: root handling names (see :class:`hotdemo.lift.lifter.Lifter`)
ROOT_MODES = ("zero", "subtract")
#: output units: "metres" (root-relative camera frame) or "normalised" (MotionBERT's 2.5D units:
#: x, y as the input's screen normalisation, depth at the same scale; see hotdemo.lift.lifter)
OUTPUT_UNITS = ("metres", "normalised")


@dataclass(frozen=True)
class LifterSpec:
    """One lifter family.

    ``recognise(sd)`` says whether a bare state dict (``module.`` prefixes stripped) has this
    family's keys; ``infer_config(sd)`` returns the config fields readable from its shapes (the
    rest take the config's defaults, which are the official values). ``official`` is the
    official size (for benchmarks and ``hotdemo lifters``), ``tiny`` a small config for plumbing
    tests and ``--allow-untrained``. ``root`` / ``output`` are the conventions of the family's
    official checkpoints (hotdemo's trainer writes its own into every checkpoint). ``loss``
    names the official training loss in :data:`hotdemo.train.losses.LOSSES`. ``baseline``: the
    family this one modifies (HoT/TPC variants), compared with it at the same size by
    ``benchmarks/lifter.py``.
    """

    name: str
    config: type
    model: type
    summary: str
    seq2seq: bool
    input_channels: int
    recognise: Callable[[StateDict], bool]
    infer_config: Callable[[StateDict], Dict[str, Any]]
    official: Mapping[str, Any] = field(default_factory=dict)
    tiny: Mapping[str, Any] = field(default_factory=dict)
    weights: str = ""
    root: str = "zero"
    output: str = "metres"
    loss: str = "mixste"
    paper: str = ""
    baseline: str = ""

    def __post_init__(self) -> None:
        if self.input_channels not in (2, 3):
            raise ValueError(f"{self.name}: input_channels must be 2 or 3")
        if self.root not in ROOT_MODES:
            raise ValueError(f"{self.name}: root must be one of {ROOT_MODES}")
        if self.output not in OUTPUT_UNITS:
            raise ValueError(f"{self.name}: output must be one of {OUTPUT_UNITS}")

    @property
    def fields(self) -> tuple:
        """Names of the config fields."""
        return tuple(f.name for f in fields(self.config))

    def make_config(self, **kwargs):
        """The config dataclass from keyword fields; TypeError naming unknown keywords."""
        allowed = set(self.fields)
        unknown = sorted(set(kwargs) - allowed)
        if unknown:
            raise TypeError(f"{self.name} does not take {', '.join(unknown)}; its options are: "
                            f"{', '.join(sorted(allowed))}")
        return self.config(**kwargs)

    def build(self, **kwargs) -> torch.nn.Module:
        """A fresh model (random weights) of this family."""
        return self.model(self.make_config(**kwargs))

    def frames_of(self, cfg: Optional[Mapping[str, Any]] = None) -> int:
        c = self.make_config(**dict(cfg if cfg is not None else self.official))
        return int(c.frames)


def check_config(cfg: Any, positive: tuple, *, heads_of: str = "dim", ratio: bool = True) -> None:
    """Common checks of a transformer config dataclass (ValueError with the field's name):
    every field in ``positive`` >= 1, ``heads_of`` divisible by ``heads``, and, when ``ratio``,
    ``mlp_ratio`` > 0 and ``drop_path`` in [0, 1)."""
    for name in positive:
        if int(getattr(cfg, name)) < 1:
            raise ValueError(f"{name} must be >= 1, got {getattr(cfg, name)}")
    if getattr(cfg, heads_of) % cfg.heads:
        raise ValueError(f"{heads_of} {getattr(cfg, heads_of)} is not divisible by heads {cfg.heads}")
    if ratio:
        if cfg.mlp_ratio <= 0:
            raise ValueError(f"mlp_ratio must be > 0, got {cfg.mlp_ratio}")
        if not 0.0 <= cfg.drop_path < 1.0:
            raise ValueError(f"drop_path must be in [0, 1), got {cfg.drop_path}")


def block_count(sd: StateDict, prefix: str) -> int:
    """1 + the largest ``N`` of keys ``{prefix}.N.…`` (0 when there are none)."""
    n = 0
    p = prefix + "."
    for k in sd:
        if k.startswith(p):
            head = k[len(p):].split(".", 1)[0]
            if head.isdigit():
                n = max(n, int(head) + 1)
    return n


def count_cost(spec: LifterSpec, cfg: Optional[Mapping[str, Any]] = None) -> Dict[str, float]:
    """Parameters and FLOPs of one forward pass at ``cfg`` (default: the official size), counted on
    the ``meta`` device (no memory, no data) with ``torch.utils.flop_counter`` (matmuls and
    attention; a multiply-add is 2 FLOPs). ``flops_per_frame``: per output frame (a seq2seq
    window yields T frames, a seq2frame window one)."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = spec.build(**dict(cfg if cfg is not None else spec.official)).eval()
        x = torch.zeros(1, model.cfg.frames, model.cfg.joints, spec.input_channels)
    with FlopCounterMode(display=False) as fc:  # grad mode on: the module tracker needs grad_fn
        model(x)
    flops = float(fc.get_total_flops())
    frames = int(model.cfg.frames)
    return {"frames": frames, "params": float(sum(p.numel() for p in model.parameters())),
            "flops_per_window": flops, "flops_per_frame": flops / (frames if spec.seq2seq else 1)}
