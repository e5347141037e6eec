"""Lifting networks and their registry.

>>> model = build_model("hot_mixste", frames=81, dim=128, depth=4, token_num=27, layer_index=2)
>>> model_config(model)["token_num"]
27

``build_model(name, **kwargs)`` accepts exactly the fields of the model's config dataclass
(:class:`MixSTEConfig`, :class:`HoTMixSTEConfig`, :class:`TPCMixSTEConfig`) and raises
``TypeError`` on any other keyword. ``model_config(model)`` returns the dict that rebuilds it:
``build_model(name, **model_config(model))``.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Dict, Tuple, Type

import torch.nn as nn

from .hot_mixste import (PRUNINGS, RECOVERIES, HoTMixSTE, HoTMixSTEConfig, TPCMixSTE, TPCMixSTEConfig,
                         cluster_index, dpc_knn_scores, interpolate_tokens, motion_index, uniform_index)
from .mixste import MixSTE, MixSTEBackbone, MixSTEConfig

#: name -> (config class, model class)
MODELS: Dict[str, Tuple[type, Type[nn.Module]]] = {
    "mixste": (MixSTEConfig, MixSTE),
    "hot_mixste": (HoTMixSTEConfig, HoTMixSTE),
    "tpc_mixste": (TPCMixSTEConfig, TPCMixSTE),
}

__all__ = [
    "MODELS", "PRUNINGS", "RECOVERIES", "build_model", "model_config", "model_name", "config_class",
    "MixSTE", "MixSTEBackbone", "MixSTEConfig", "HoTMixSTE", "HoTMixSTEConfig", "TPCMixSTE",
    "TPCMixSTEConfig", "cluster_index", "dpc_knn_scores", "interpolate_tokens", "motion_index",
    "uniform_index", "load_pose2d_model",
]


def config_class(name: str) -> type:
    """The config dataclass of model ``name``."""
    try:
        return MODELS[name][0]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)}") from None


def build_model(name: str, **kwargs) -> nn.Module:
    """Build model ``name`` ("mixste", "hot_mixste", "tpc_mixste") from its config fields.

    Common fields: frames=243, dim=512, depth=8, heads=8, mlp_ratio=2.0, joints=17,
    drop_path=0.1; HoT/TPC add token_num=81, layer_index=3, pruning="cluster"; HoT adds
    recovery="attention". Unknown keywords raise ``TypeError`` naming them.
    """
    cfg_cls = config_class(name)
    allowed = {f.name for f in fields(cfg_cls)}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise TypeError(f"{name} does not take {', '.join(unknown)}; its options are: {', '.join(sorted(allowed))}")
    return MODELS[name][1](cfg_cls(**kwargs))


def model_name(model: nn.Module) -> str:
    """Registry name of a model built by :func:`build_model`."""
    for name, (_, cls) in MODELS.items():
        if type(model) is cls:
            return name
    raise ValueError(f"{type(model).__name__} is not a registered hotdemo model")


def model_config(model: nn.Module) -> dict:
    """The config of ``model`` as a plain dict: ``build_model(model_name(model), **model_config(model))``."""
    model_name(model)
    return model.cfg.to_dict()


def load_pose2d_model(path) -> nn.Module:
    """The 2D keypoint network a checkpoint holds (HRNet, SimDR, TokenPose ... in their official
    key layouts; the family and size are read from the keys and shapes), weights loaded, eval
    mode. Its forward takes the official input tensor (B, 3, H, W), ImageNet-normalised RGB, and
    returns the official outputs: heatmaps (B, J, h, w), or the SimCC x and y vectors. An unknown
    layout raises :class:`~hotdemo.errors.CheckpointError` listing the supported ones.
    See :func:`hotdemo.pose2d.registry.load_pose2d_model`."""
    from ..pose2d.registry import load_pose2d_model as _load

    return _load(path)
