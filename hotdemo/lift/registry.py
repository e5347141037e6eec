"""Lifting networks and their registry.

>>> model = build_model("hot_mixste", frames=81, dim=128, depth=4, token_num=27, layer_index=2)
>>> model_config(model)["token_num"]
27

Every family is described by a :class:`~hotdemo.lift.spec.LifterSpec` defined next to its model
code; :data:`LIFTERS` lists them (one line per family). ``build_model(name, **kwargs)`` accepts
exactly the fields of the family's config dataclass and raises ``TypeError`` on any other
keyword. ``model_config(model)`` returns the dict that rebuilds it:
``build_model(name, **model_config(model))``.

A family is one file in ``hotdemo/lift/families/`` defining its spec, plus one ``LIFTERS.add``
line below (docs/adding_a_family.md has a complete example).

:func:`~hotdemo.lift.checkpoint.load_lifter_model` (importable from here too) returns the torch
module of any supported lifter checkpoint (official layouts included); its forward takes the
official model's input tensor and returns the official model's output (seq2frame families: the
centre frame).
"""

from __future__ import annotations

from typing import Iterator, Mapping, Tuple

import torch.nn as nn

from hotdemo.core.registry import Registry
from hotdemo.lift.families.hot_mixste import (PRUNINGS, RECOVERIES, HoTMixSTE, HoTMixSTEConfig, TPCMixSTE,
                                              TPCMixSTEConfig, cluster_index, dpc_knn_scores, interpolate_tokens,
                                              motion_index, uniform_index)
from hotdemo.lift.families.mixste import MixSTE, MixSTEBackbone, MixSTEConfig
from hotdemo.lift.spec import LifterSpec, count_cost

#: the lifter families, in this order (``hotdemo lifters``, recognising official files); a new
#: family: its file defines a LifterSpec, and one line here names it
LIFTERS: Registry[LifterSpec] = Registry("lifter")
LIFTERS.add("mixste", "hotdemo.lift.families.mixste:SPEC")
LIFTERS.add("hot_mixste", "hotdemo.lift.families.hot_mixste:HOT_SPEC")
LIFTERS.add("tpc_mixste", "hotdemo.lift.families.hot_mixste:TPC_SPEC")
LIFTERS.add("motionbert", "hotdemo.lift.families.motionbert:SPEC")
LIFTERS.add("hot_motionbert", "hotdemo.lift.families.motionbert:HOT_SPEC")
LIFTERS.add("mhformer", "hotdemo.lift.families.mhformer:SPEC")
LIFTERS.add("tpc_mhformer", "hotdemo.lift.families.mhformer:TPC_SPEC")


class _Models(Mapping):
    """name -> (config class, model class), read from :data:`LIFTERS`."""

    def __getitem__(self, name: str) -> Tuple[type, type]:
        spec = LIFTERS[name]
        return spec.config, spec.model

    def __iter__(self) -> Iterator[str]:
        return iter(LIFTERS)

    def __len__(self) -> int:
        return len(LIFTERS)


#: name -> (config class, model class), derived from :data:`LIFTERS`
MODELS: Mapping[str, Tuple[type, type]] = _Models()

__all__ = [
    "LIFTERS", "MODELS", "LifterSpec", "PRUNINGS", "RECOVERIES", "build_model", "model_config", "model_name",
    "config_class", "get_spec", "lifter_table", "spec_of",
    "MixSTE", "MixSTEBackbone", "MixSTEConfig", "HoTMixSTE", "HoTMixSTEConfig", "TPCMixSTE",
    "TPCMixSTEConfig", "cluster_index", "dpc_knn_scores", "interpolate_tokens", "motion_index",
    "uniform_index",
]


def get_spec(name: str) -> LifterSpec:
    """The spec of family ``name``; ValueError listing the known families otherwise."""
    return LIFTERS.lookup(name)


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


def lifter_table() -> list:
    """One dict per family for ``hotdemo lifters``: name, kind (seq2seq / seq2frame), frames, input,
    params, FLOPs per output frame at the official size (:func:`hotdemo.lift.spec.count_cost`),
    official weights, summary."""
    rows = []
    for spec in LIFTERS.values():
        cost = count_cost(spec)
        rows.append({"name": spec.name, "kind": "seq2seq" if spec.seq2seq else "seq2frame", "frames": cost["frames"],
                     "input": "x, y, confidence" if spec.input_channels == 3 else "x, y",
                     "params": cost["params"], "flops_per_frame": cost["flops_per_frame"],
                     "weights": spec.weights, "summary": spec.summary})
    return rows


#: names defined downstream of this module, kept importable from here (the README's entry points)
_MOVED = {"load_lifter_model": "hotdemo.lift.checkpoint", "load_pose2d_model": "hotdemo.pose2d.checkpoints"}


def __getattr__(name: str):
    """``load_lifter_model`` (:mod:`hotdemo.lift.checkpoint`, which imports this module) and
    ``load_pose2d_model`` (:mod:`hotdemo.pose2d.checkpoints`), imported on first use."""
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
