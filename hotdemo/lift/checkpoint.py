"""Saving and loading lifter weights, official HoT checkpoints included.

* :func:`load_checkpoint` loads weights into a model. It accepts a path or an already loaded
  object: a bare state dict, or a dict holding one under ``state_dict``, ``model``,
  ``model_pos`` or ``net``; ``module.`` prefixes (``nn.DataParallel``) are stripped. With ``strict=True``
  any missing, unexpected or mis-shaped key raises :class:`~hotdemo.core.errors.CheckpointError`
  listing them.
* :func:`save_checkpoint` writes ``{'model_name', 'config', 'state_dict', **extra}`` atomically.
* :func:`read_lifter_checkpoint` is the one reader of lifter files (official layouts, hotdemo's
  shipped files, a trainer's ``best.pt`` / ``last.pt``): family, config, weights, root handling
  and output units; :func:`load_model` builds and loads the model from it, and
  :func:`load_lifter_model` returns it ready for inference.

Reading, unwrapping and strict loading are :mod:`hotdemo.io.torchfile`'s, shared with the 2D
checkpoints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import torch
import torch.nn as nn

from hotdemo.core.errors import CheckpointError, WeightsError
from hotdemo.io.files import atomic_torch_save
from hotdemo.io.torchfile import (LoadReport, compare_state_dict, load_state_dict_strict, safe_torch_load,
                                  unwrap_state_dict)
from hotdemo.lift.registry import LIFTERS, build_model, get_spec, model_config, model_name
from hotdemo.lift.spec import ROOT_MODES

StateDict = Dict[str, torch.Tensor]

__all__ = ["LoadReport", "compare_state_dict", "read_checkpoint", "extract_state_dict", "load_checkpoint",
           "resample_token_axis", "save_checkpoint", "LifterCheckpoint", "read_lifter_checkpoint",
           "infer_config_from_state_dict", "load_model", "load_lifter_model"]


def read_checkpoint(path: Union[str, os.PathLike]) -> Any:
    """A checkpoint file read on the CPU by :func:`hotdemo.io.torchfile.safe_torch_load` (tensors, plain
    and numpy values, never code); :class:`WeightsError` with the reason if it cannot be."""
    return safe_torch_load(path)


def extract_state_dict(obj: Any) -> StateDict:
    """The state dict inside a loaded checkpoint object, with ``module.`` prefixes stripped
    (:func:`hotdemo.io.torchfile.unwrap_state_dict`)."""
    return unwrap_state_dict(obj)


def load_checkpoint(model: nn.Module, path_or_state: Union[str, os.PathLike, Mapping], strict: bool = True,
                    resample: bool = False) -> LoadReport:
    """Load weights into ``model`` (in place) and return the :class:`LoadReport`.

    ``strict=True``: every key must match by name and shape, else :class:`CheckpointError`
    listing the offending keys (nothing is loaded). ``strict=False``: the matching keys are
    loaded and the others reported. ``resample=True`` first stretches token-axis tensors to the
    model's length (:func:`resample_token_axis`: a 27-frame model's temporal embeddings
    initialise an 81-frame one); the keys it changed are in ``LoadReport.resampled``.
    """
    obj = path_or_state if isinstance(path_or_state, Mapping) else read_checkpoint(path_or_state)
    where = "" if isinstance(path_or_state, Mapping) else f"{path_or_state}: "
    return _load(model, obj, strict, where, resample)


def resample_token_axis(sd: Mapping[str, torch.Tensor], model: nn.Module) -> Tuple[StateDict, List[str]]:
    """Linearly resample the ``(1, N, C)`` tensors of ``sd`` whose N differs from ``model``'s.

    Only tensors of shape ``(1, N, C)`` in both with the same C are touched (positional embeddings
    and learned query tokens along the frame or token axis); the end points are kept
    (``align_corners=True``). Returns the new state dict and the resampled keys.
    """
    own = model.state_dict()
    out: StateDict = dict(sd)
    changed: List[str] = []
    for k, v in sd.items():
        t = own.get(k)
        if (t is None or v.dim() != 3 or t.dim() != 3 or v.shape[0] != 1 or t.shape[0] != 1
                or v.shape[2] != t.shape[2] or v.shape[1] == t.shape[1]):
            continue
        x = v.float().permute(0, 2, 1)  # (1, C, N)
        x = torch.nn.functional.interpolate(x, size=t.shape[1], mode="linear", align_corners=True)
        out[k] = x.permute(0, 2, 1).to(v.dtype).contiguous()
        changed.append(k)
    return out, sorted(changed)


def _load(model: nn.Module, obj: Any, strict: bool, where: str, resample: bool = False) -> LoadReport:
    sd = unwrap_state_dict(obj, where=where)
    resampled: List[str] = []
    if resample:
        sd, resampled = resample_token_axis(sd, model)
    report = load_state_dict_strict(model, sd, strict=strict, where=where)
    report.resampled = resampled
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


# ----------------------------------------------------------------------------- the one lifter reader


@dataclass
class LifterCheckpoint:
    """Everything a lifter file says, read once by :func:`read_lifter_checkpoint`.

    ``family``: registry name; ``config``: the full config dict (``build_model(family, **config)``);
    ``state_dict``: the weights (``module.`` prefixes stripped); ``root``: root handling for
    :class:`hotdemo.lift.lifter.Lifter` ("subtract" for hotdemo-trained weights, which are supervised on
    root-subtracted output; the family's official convention, "zero", for official files);
    ``output``: output units ("metres", or "normalised" for MotionBERT's 2.5D units); ``kind``:
    "hotdemo" (shipped file or a trainer's best.pt), "trainer" (a trainer's last.pt) or
    "official" (no stored config); ``meta``: the file's other plain entries (step, eval, ...).
    """

    family: str
    config: Dict[str, Any]
    state_dict: StateDict
    root: str
    output: str
    kind: str
    meta: Dict[str, Any] = field(default_factory=dict)
    where: str = ""

    @property
    def spec(self):
        return get_spec(self.family)

    def build(self, strict: bool = True) -> nn.Module:
        """The model with the weights loaded (strict: any key mismatch raises CheckpointError)."""
        try:
            model = build_model(self.family, **self.config)
        except (TypeError, ValueError) as e:
            raise CheckpointError(f"{self.where}cannot build {self.family} from the checkpoint's config: {e}") from None
        _load(model, self.state_dict, strict, self.where)
        return model


def _is_train_config(d: Any) -> bool:
    return isinstance(d, Mapping) and isinstance(d.get("model"), str) and "frames" in d


def _config_from_train_config(family: str, tc: Mapping[str, Any]) -> Dict[str, Any]:
    """The model config a trainer's TrainConfig dict describes (its fields shared with the family's
    config; the others take the family's defaults, as the trainer built the model)."""
    spec = get_spec(family)
    return spec.make_config(**{k: tc[k] for k in spec.fields if k in tc}).to_dict()


def read_lifter_checkpoint(src: Union[str, os.PathLike, Mapping], family: Optional[str] = None,
                           **overrides) -> LifterCheckpoint:
    """Read any lifter file once: family, config, weights, root handling, output units.

    Recognised layouts:

    * hotdemo's files (shipped weights, a trainer's ``best.pt``): ``{'model_name', 'config',
      'state_dict', ...}``; root handling from ``root_mode`` (files from hotdemo's trainer without
      one, i.e. with ``train_config``, are "subtract");
    * a trainer's ``last.pt``: ``{'model', 'optimizer', 'step', 'config': TrainConfig, ...}``; the
      model config is ``model_config`` when stored, else derived from the TrainConfig (never
      re-inferred from shapes); root handling "subtract";
    * official files: a bare state dict, or one under ``model_pos`` / ``state_dict`` / ``model``,
      ``module.`` prefixes allowed; the family is recognised from the keys (``family`` picks one
      where they are ambiguous, e.g. mixste / tpc_mixste) and the size inferred from the shapes;
      root handling and units are the family's official ones.

    ``overrides``: config fields that win over stored or inferred ones (e.g. ``heads``).
    Raises :class:`WeightsError` (unreadable file) or :class:`CheckpointError`.
    """
    obj = src if isinstance(src, Mapping) else read_checkpoint(src)
    where = "" if isinstance(src, Mapping) else f"{src}: "
    if family is not None and family not in LIFTERS:
        raise WeightsError(f"unknown lifter {family!r}; known: {', '.join(LIFTERS)}")
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{where}checkpoint holds no state dict")
    meta = {k: v for k, v in obj.items() if not isinstance(v, (Mapping, torch.Tensor)) or k in ("eval", "train_config")}
    stored = obj.get("model_name")
    trainer_last = "optimizer" in obj and _is_train_config(obj.get("config"))
    if trainer_last or (isinstance(stored, str) and isinstance(obj.get("config"), Mapping)):
        if trainer_last:
            tc = obj["config"]
            stored = stored if isinstance(stored, str) else tc["model"]
            kind, cfg_src = "trainer", obj.get("model_config")
            meta["train_config"] = tc
        else:
            tc, kind, cfg_src = obj.get("train_config"), "hotdemo", obj["config"]
        if stored not in LIFTERS:
            raise CheckpointError(f"{where}checkpoint holds an unknown model {stored!r}; known: {', '.join(LIFTERS)}")
        if family is not None and family != stored:
            raise CheckpointError(f"{where}checkpoint holds a {stored} model, not {family}")
        spec = get_spec(stored)
        try:
            cfg = dict(cfg_src) if isinstance(cfg_src, Mapping) else _config_from_train_config(stored, tc)
        except (TypeError, ValueError) as e:
            raise CheckpointError(f"{where}bad stored config for {stored}: {e}") from None
        from_trainer = kind == "trainer" or isinstance(tc, Mapping)
        root = obj.get("root_mode") if obj.get("root_mode") in ROOT_MODES else ("subtract" if from_trainer else spec.root)
        output = obj.get("output_units") if obj.get("output_units") in ("metres", "normalised") else (
            "metres" if from_trainer else spec.output)
        sd = unwrap_state_dict(obj["model"] if trainer_last else obj, where=where)
        return LifterCheckpoint(stored, {**cfg, **overrides}, sd, root, output, kind, meta, where)

    sd = unwrap_state_dict(obj, where=where)
    if family is None:
        found = [s.name for s in LIFTERS.values() if s.recognise(sd)]
        if not found:
            raise CheckpointError(f"{where}not a known lifter checkpoint (its keys match none of "
                                  f"{', '.join(LIFTERS)}); first keys: {', '.join(list(sd)[:4])}")
        if len(found) > 1:
            raise CheckpointError(f"{where}the keys fit {' and '.join(found)}; say which lifter it is "
                                  f"(--lifter NAME / family=NAME)")
        family = found[0]
    spec = get_spec(family)
    try:
        cfg = spec.infer_config(sd)
    except KeyError as e:
        raise CheckpointError(f"{where}not a {family} checkpoint: key {e.args[0]} is missing") from None
    try:
        cfg = spec.make_config(**{**cfg, **overrides}).to_dict()
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{where}cannot build {family} from the checkpoint's shapes: {e}") from None
    return LifterCheckpoint(family, cfg, sd, spec.root, spec.output, "official", meta, where)


def infer_config_from_state_dict(name: str, sd: Mapping[str, torch.Tensor], **overrides) -> dict:
    """Config of model ``name`` that fits a state dict without stored config (official files):
    the family's ``infer_config`` plus its defaults for what shapes cannot tell; ``overrides`` win."""
    spec = get_spec(name)
    sd = extract_state_dict(sd)
    try:
        cfg = {**spec.infer_config(sd), **overrides}
    except KeyError as e:
        raise CheckpointError(f"not a {name} checkpoint: key {e.args[0]} is missing") from None
    return {k: v for k, v in cfg.items() if k in spec.fields}


def load_model(path_or_state: Union[str, os.PathLike, Mapping], name: Optional[str] = None, *,
               strict: bool = True, **overrides) -> nn.Module:
    """Build and load a model from any lifter file (see :func:`read_lifter_checkpoint`)."""
    return read_lifter_checkpoint(path_or_state, name, **overrides).build(strict=strict)


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
    return read_lifter_checkpoint(path, family, **overrides).build(strict=strict).float().eval()
