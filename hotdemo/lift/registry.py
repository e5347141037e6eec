"""Lifting networks and their registry.

>>> model = build_model("hot_mixste", frames=81, dim=128, depth=4, token_num=27, layer_index=2)
>>> model_config(model)["token_num"]
27

Every family is described by a :class:`~hotdemo.lift.spec.LifterSpec` defined next to its model
code; :data:`LIFTERS` lists them (one line per family). ``build_model(name, **kwargs)`` accepts
exactly the fields of the family's config dataclass and raises ``TypeError`` on any other
keyword. ``model_config(model)`` returns the dict that rebuilds it:
``build_model(name, **model_config(model))``.

:func:`load_lifter_model` returns the torch module of any supported lifter checkpoint (official
layouts included); its forward takes the official model's input tensor and returns the official
model's output (seq2frame families: the centre frame).
"""

from __future__ import annotations

import os
from typing import Dict, Optional, Tuple, Type, Union

import torch.nn as nn

from hotdemo.lift.families import hot_mixste

from hotdemo.lift.families import mhformer

from hotdemo.lift.families import mixste

from hotdemo.lift.families import motionbert
from hotdemo.lift.families.hot_mixste import (PRUNINGS, RECOVERIES, HoTMixSTE, HoTMixSTEConfig, TPCMixSTE, TPCMixSTEConfig,
                         cluster_index, dpc_knn_scores, interpolate_tokens, motion_index, uniform_index)
from hotdemo.lift.families.mixste import MixSTE, MixSTEBackbone, MixSTEConfig
from hotdemo.lift.spec import LifterSpec

#: the lifter families, by name (a new family: its model file defines a spec; add it here)
LIFTERS: Dict[str, LifterSpec] = {s.name: s for s in (
    mixste.SPEC,
    hot_mixste.HOT_SPEC,
    hot_mixste.TPC_SPEC,
    motionbert.SPEC,
    motionbert.HOT_SPEC,
    mhformer.SPEC,
    mhformer.TPC_SPEC,
)}

#: name -> (config class, model class), derived from :data:`LIFTERS`
MODELS: Dict[str, Tuple[type, Type[nn.Module]]] = {n: (s.config, s.model) for n, s in LIFTERS.items()}

__all__ = [
    "LIFTERS", "MODELS", "LifterSpec", "PRUNINGS", "RECOVERIES", "build_model", "model_config", "model_name",
    "config_class", "get_spec", "load_lifter_model", "lifter_table", "spec_of",
    "MixSTE", "MixSTEBackbone", "MixSTEConfig", "HoTMixSTE", "HoTMixSTEConfig", "TPCMixSTE",
    "TPCMixSTEConfig", "cluster_index", "dpc_knn_scores", "interpolate_tokens", "motion_index",
    "uniform_index", "load_pose2d_model",
]


def get_spec(name: str) -> LifterSpec:
    """The spec of family ``name``; ValueError listing the known families otherwise."""
    try:
        return LIFTERS[name]
    except KeyError:
        raise ValueError(f"unknown lifter {name!r}; known: {', '.join(LIFTERS)}") from None


def config_class(name: str) -> type:
    """The config dataclass of model ``name``."""
    return get_spec(name).config


def build_model(name: str, **kwargs) -> nn.Module:
    """Build a model of family ``name`` (see :data:`LIFTERS`) from its config fields.

    MixSTE family: frames=243, dim=512, depth=8, heads=8, mlp_ratio=2.0, joints=17,
    drop_path=0.1; HoT/TPC add token_num=81, layer_index=3, pruning="cluster"; HoT adds
    recovery="attention". MotionBERT: see :class:`hotdemo.lift.families.motionbert.MotionBERTConfig`.
    Unknown keywords raise ``TypeError`` naming them.
    """
    return get_spec(name).build(**kwargs)


def spec_of(model: nn.Module) -> LifterSpec:
    """The spec of a model built by :func:`build_model`."""
    for spec in LIFTERS.values():
        if type(model) is spec.model:
            return spec
    raise ValueError(f"{type(model).__name__} is not a registered hotdemo model")


def model_name(model: nn.Module) -> str:
    """Registry name of a model built by :func:`build_model`."""
    return spec_of(model).name


def model_config(model: nn.Module) -> dict:
    """The config of ``model`` as a plain dict: ``build_model(model_name(model), **model_config(model))``."""
    spec_of(model)
    return model.cfg.to_dict()


def load_lifter_model(path: Union[str, os.PathLike], family: Optional[str] = None, *, strict: bool = True,
                      **overrides) -> nn.Module:
    """The torch module (eval mode, CPU, float32) of any supported lifter checkpoint.

    ``path``: an official file (bare state dict, ``module.`` prefixes, or under ``model_pos`` /
    ``state_dict`` / ``model`` as MotionBERT's and DataParallel trainings save them), hotdemo's
    shipped weights, or a hotdemo trainer's ``best.pt`` / ``last.pt``. ``family``: the lifter
    name when the file does not say (official files; needed only where the keys are ambiguous,
    e.g. ``mixste`` vs ``tpc_mixste``). ``overrides``: config fields that shapes cannot tell
    (e.g. ``heads``, ``layer_index``). Loading is strict: any missing, unexpected or mis-shaped
    key raises :class:`~hotdemo.core.errors.CheckpointError` naming it.

    The forward takes the official model's input tensor (B, T, 17, C) and returns the official
    model's output ((B, T, 17, 3) for seq2seq families, the centre frame (B, 1, 17, 3) for
    seq2frame ones). See :func:`hotdemo.lift.checkpoint.read_lifter_checkpoint` for root handling and
    output units.
    """
    from hotdemo.lift.checkpoint import read_lifter_checkpoint

    return read_lifter_checkpoint(path, family, **overrides).build(strict=strict).float().eval()


def lifter_table() -> list:
    """One dict per family for ``hotdemo lifters``: name, kind (seq2seq / seq2frame), frames, input,
    params, FLOPs per output frame at the official size (:func:`hotdemo.lift.spec.count_cost`),
    official weights, summary."""
    from hotdemo.lift.spec import count_cost

    rows = []
    for spec in LIFTERS.values():
        cost = count_cost(spec)
        rows.append({"name": spec.name, "kind": "seq2seq" if spec.seq2seq else "seq2frame", "frames": cost["frames"],
                     "input": "x, y, confidence" if spec.input_channels == 3 else "x, y",
                     "params": cost["params"], "flops_per_frame": cost["flops_per_frame"],
                     "weights": spec.weights, "summary": spec.summary})
    return rows


def load_pose2d_model(path) -> nn.Module:
    """The 2D keypoint network a checkpoint holds (HRNet, SimDR, TokenPose ... in their official
    key layouts; the family and size are read from the keys and shapes), weights loaded, eval
    mode. Its forward takes the official input tensor (B, 3, H, W), ImageNet-normalised RGB, and
    returns the official outputs: heatmaps (B, J, h, w), or the SimCC x and y vectors. An unknown
    layout raises :class:`~hotdemo.core.errors.CheckpointError` listing the supported ones.
    See :func:`hotdemo.pose2d.registry.load_pose2d_model`."""
    from hotdemo.pose2d.registry import load_pose2d_model as _load

    return _load(path)
