"""Saving and loading lifter weights, official HoT checkpoints included.

* :func:`load_checkpoint` loads weights into a model. It accepts a path or an already loaded
  object: a bare state dict, or a dict holding one under ``state_dict``, ``model`` or
  ``model_pos``; ``module.`` prefixes (``nn.DataParallel``) are stripped. With ``strict=True``
  any missing, unexpected or mis-shaped key raises :class:`~hotdemo.errors.CheckpointError`
  listing them.
* :func:`save_checkpoint` writes ``{'model_name', 'config', 'state_dict', **extra}`` atomically.
* :func:`infer_config_from_state_dict` recovers the model size from an official checkpoint,
  which stores no config; :func:`load_model` builds and loads a model from either kind of file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import torch
import torch.nn as nn

from .errors import CheckpointError, WeightsError
from .fileio import atomic_torch_save
from .models import MODELS, build_model, config_class, model_config, model_name

StateDict = Dict[str, torch.Tensor]
_WRAPPER_KEYS = ("state_dict", "model", "model_pos")


@dataclass
class LoadReport:
    """Keys that did not line up when loading (empty lists after a strict load)."""

    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[Tuple[str, tuple, tuple]] = field(default_factory=list)  # key, checkpoint, model shape

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def describe(self, limit: int = 12) -> str:
        def short(items: List[str]) -> str:
            more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
            return ", ".join(items[:limit]) + more

        parts = []
        if self.missing:
            parts.append(f"missing keys: {short(self.missing)}")
        if self.unexpected:
            parts.append(f"unexpected keys: {short(self.unexpected)}")
        if self.mismatched:
            parts.append("shape mismatches: " + short(
                [f"{k} {list(a)} in checkpoint vs {list(b)} in model" for k, a, b in self.mismatched]))
        return "; ".join(parts)


def read_checkpoint(path: Union[str, os.PathLike]) -> Any:
    """``torch.load`` a checkpoint file on the CPU, raising :class:`WeightsError` if it cannot."""
    p = Path(path)
    if not p.is_file():
        raise WeightsError(f"{p}: checkpoint file not found" if not p.exists() else f"{p} is not a file")
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # corrupt file, not a torch file, disallowed pickled objects
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise WeightsError(f"{p}: cannot read as a PyTorch checkpoint ({first})") from None


def extract_state_dict(obj: Any) -> StateDict:
    """The state dict inside a loaded checkpoint object, with ``module.`` prefixes stripped."""
    if isinstance(obj, Mapping):
        for key in _WRAPPER_KEYS:
            inner = obj.get(key)
            if isinstance(inner, Mapping) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
                obj = inner
                break
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(
            "checkpoint holds no state dict (expected a dict of tensors, or one under "
            + "/".join(repr(k) for k in _WRAPPER_KEYS) + ")")
    return {re.sub(r"^(module\.)+", "", str(k)): v for k, v in obj.items()}


def compare_state_dict(model: nn.Module, sd: Mapping[str, torch.Tensor]) -> LoadReport:
    """Missing / unexpected / mis-shaped keys of ``sd`` relative to ``model.state_dict()``."""
    own = model.state_dict()
    return LoadReport(
        missing=sorted(k for k in own if k not in sd),
        unexpected=sorted(k for k in sd if k not in own),
        mismatched=sorted((k, tuple(sd[k].shape), tuple(own[k].shape))
                          for k in own if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)),
    )


def load_checkpoint(model: nn.Module, path_or_state: Union[str, os.PathLike, Mapping], strict: bool = True,
                    ) -> LoadReport:
    """Load weights into ``model`` (in place) and return the :class:`LoadReport`.

    ``strict=True``: every key must match by name and shape, else :class:`CheckpointError`
    listing the offending keys (nothing is loaded). ``strict=False``: the matching keys are
    loaded and the others reported.
    """
    obj = path_or_state if isinstance(path_or_state, Mapping) else read_checkpoint(path_or_state)
    where = "" if isinstance(path_or_state, Mapping) else f"{path_or_state}: "
    return _load(model, obj, strict, where)


def _load(model: nn.Module, obj: Any, strict: bool, where: str) -> LoadReport:
    try:
        sd = extract_state_dict(obj)
    except CheckpointError as e:
        raise CheckpointError(f"{where}{e}") from None
    report = compare_state_dict(model, sd)
    if strict and not report.ok:
        err = CheckpointError(f"{where}checkpoint does not match {type(model).__name__}: {report.describe()}")
        err.report = report  # type: ignore[attr-defined]
        raise err
    bad = {k for k, _, _ in report.mismatched}
    model.load_state_dict({k: v for k, v in sd.items() if k not in bad and k not in report.unexpected},
                          strict=False)
    return report


def save_checkpoint(path: Union[str, os.PathLike], model: nn.Module, extra: Optional[Mapping[str, Any]] = None,
                    ) -> Path:
    """Write ``{'model_name', 'config', 'state_dict', **extra}`` to ``path`` atomically.

    Tensors are stored on the CPU; ``extra`` (e.g. ``{'epoch': 10, 'mpjpe_mm': 52.1}``) must hold
    plain Python values so that the file loads with ``torch.load(weights_only=True)``.
    """
    path = Path(path)
    extra = dict(extra or {})
    reserved = {"model_name", "config", "state_dict"} & set(extra)
    if reserved:
        raise ValueError(f"extra may not override {sorted(reserved)}")
    sd = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    atomic_torch_save({"model_name": model_name(model), "config": model_config(model), "state_dict": sd, **extra},
                      path)
    return path


def infer_config_from_state_dict(name: str, sd: Mapping[str, torch.Tensor], **overrides) -> dict:
    """Config of model ``name`` that fits a state dict without stored config (official files).

    ``frames`` and ``dim`` come from ``Temporal_pos_embed``, ``joints`` from ``Spatial_pos_embed``,
    ``depth`` from the block count, ``mlp_ratio`` from ``mlp.fc1``, ``token_num`` from
    ``pos_embed_token`` (HoT); ``heads`` cannot be read from shapes and defaults to 8 (official),
    ``layer_index`` to 3 and, for TPC, ``token_num`` to frames // 3. ``overrides`` win.
    """
    sd = extract_state_dict(sd)
    cls = config_class(name)
    try:
        _, frames, dim = sd["Temporal_pos_embed"].shape
        joints = sd["Spatial_pos_embed"].shape[1]
        hidden = sd["STEblocks.0.mlp.fc1.weight"].shape[0]
    except KeyError as e:
        raise CheckpointError(f"not a MixSTE-family checkpoint: key {e.args[0]} is missing") from None
    depth = 1 + max(int(m.group(1)) for k in sd if (m := re.match(r"STEblocks\.(\d+)\.", k)))
    cfg: Dict[str, Any] = dict(frames=int(frames), dim=int(dim), depth=depth, joints=int(joints),
                               mlp_ratio=hidden / dim)
    if name == "hot_mixste":
        if "pos_embed_token" not in sd:
            raise CheckpointError("not a HoT-MixSTE checkpoint: key pos_embed_token is missing")
        cfg["token_num"] = int(sd["pos_embed_token"].shape[1])
        cfg["recovery"] = "attention" if "x_token" in sd else "linear"
    elif name == "tpc_mixste":
        cfg["token_num"] = max(1, int(frames) // 3)
    cfg.update(overrides)
    valid = {f.name for f in fields(cls)}
    return {k: v for k, v in cfg.items() if k in valid}


def load_model(path_or_state: Union[str, os.PathLike, Mapping], name: Optional[str] = None, *,
               strict: bool = True, **overrides) -> nn.Module:
    """Build and load a model from a checkpoint: ours (with ``model_name`` / ``config``) or an
    official one (bare state dict; ``name`` needed, size inferred from the shapes)."""
    obj = path_or_state if isinstance(path_or_state, Mapping) else read_checkpoint(path_or_state)
    where = "" if isinstance(path_or_state, Mapping) else f"{path_or_state}: "
    stored_name = obj.get("model_name") if isinstance(obj, Mapping) else None
    stored_cfg = obj.get("config") if isinstance(obj, Mapping) else None
    if name is not None and name not in MODELS:
        raise WeightsError(f"unknown lifter {name!r}; known: {', '.join(MODELS)}")
    if stored_name is not None and isinstance(stored_cfg, Mapping):
        if name is not None and name != stored_name:
            raise CheckpointError(f"{where}checkpoint holds a {stored_name} model, not {name}")
        if stored_name not in MODELS:
            raise CheckpointError(f"{where}checkpoint holds an unknown model {stored_name!r}")
        cfg = {**stored_cfg, **overrides}
        name = stored_name
    else:
        if name is None:
            raise CheckpointError(f"{where}checkpoint stores no model name; say which model it is "
                                  f"({', '.join(MODELS)})")
        try:
            cfg = infer_config_from_state_dict(name, extract_state_dict(obj), **overrides)
        except CheckpointError as e:
            raise CheckpointError(f"{where}{e}") from None
    try:
        model = build_model(name, **cfg)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{where}cannot build {name} from the checkpoint's config: {e}") from None
    _load(model, obj, strict, where)
    return model
