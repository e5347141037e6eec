"""Training losses of the official HoT / MixSTE training (re-implemented).

``total = weighted_mpjpe + 0.5 * temporal_consistency + 2.0 * mean_velocity`` with the per-joint
weights below (feet, knees, elbows and wrists weigh more). Inputs are (B, T, J, 3) metres.
"""

from __future__ import annotations

from typing import Dict

import torch

#: per-joint weights of the official training (H36M17 order)
JOINT_WEIGHTS = (1.0, 1.0, 2.5, 2.5, 1.0, 2.5, 2.5, 1.0, 1.0, 1.0, 1.5, 1.5, 4.0, 4.0, 1.5, 4.0, 4.0)
W_TEMPORAL = 0.5
W_VELOCITY = 2.0


def weighted_mpjpe(pred: torch.Tensor, target: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Mean over B, T, J of ``w[j] * ||pred - target||``."""
    return (w * torch.linalg.vector_norm(pred - target, dim=-1)).mean()


def temporal_consistency(pred: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Mean of ``w[j] * (pred[t+1] - pred[t])^2`` (a smoothness penalty on the prediction only)."""
    d = pred[:, 1:] - pred[:, :-1]
    return (w[:, None] * d.square()).mean()


def mean_velocity(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean per-joint velocity error: ``||(pred[t+1]-pred[t]) - (target[t+1]-target[t])||``."""
    vp = pred[:, 1:] - pred[:, :-1]
    vt = target[:, 1:] - target[:, :-1]
    return torch.linalg.vector_norm(vp - vt, dim=-1).mean()


def training_loss(pred: torch.Tensor, target: torch.Tensor) -> Dict[str, torch.Tensor]:
    """The official combination; returns the total under ``loss`` and each term."""
    w = torch.tensor(JOINT_WEIGHTS, dtype=pred.dtype, device=pred.device)
    wm = weighted_mpjpe(pred, target, w)
    tc = temporal_consistency(pred, w)
    mv = mean_velocity(pred, target)
    return {"loss": wm + W_TEMPORAL * tc + W_VELOCITY * mv, "w_mpjpe": wm, "temporal": tc, "velocity": mv}


# ----------------------------------------------------------------------------- MotionBERT
#: MotionBERT's pose3d fine-tuning weights (configs/pose3d/MB_ft_h36m.yaml; the other terms are 0)
W_MB_SCALE = 0.5
W_MB_VELOCITY = 20.0


def n_mpjpe(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MPJPE after the per-frame least-squares scale of ``pred`` onto ``target`` (B, T, J, 3)."""
    pp = pred.square().sum(dim=-1, keepdim=True).mean(dim=-2, keepdim=True)
    pt = (target * pred).sum(dim=-1, keepdim=True).mean(dim=-2, keepdim=True)
    return torch.linalg.vector_norm(pt / pp * pred - target, dim=-1).mean()


def motionbert_loss(pred: torch.Tensor, target: torch.Tensor) -> Dict[str, torch.Tensor]:
    """MotionBERT's 3D loss: ``mpjpe + 0.5 * n_mpjpe + 20 * velocity``."""
    mp = torch.linalg.vector_norm(pred - target, dim=-1).mean()
    nm = n_mpjpe(pred, target)
    mv = mean_velocity(pred, target) if pred.shape[1] > 1 else pred.new_zeros(())
    return {"loss": mp + W_MB_SCALE * nm + W_MB_VELOCITY * mv, "mpjpe": mp, "n_mpjpe": nm, "velocity": mv}


def mpjpe_loss(pred: torch.Tensor, target: torch.Tensor) -> Dict[str, torch.Tensor]:
    """MHFormer's training loss: plain MPJPE over every supervised frame."""
    mp = torch.linalg.vector_norm(pred - target, dim=-1).mean()
    return {"loss": mp, "mpjpe": mp}


#: loss name (``LifterSpec.loss``) -> function(pred, target) -> {'loss': total, term: value}
LOSSES = {"mixste": training_loss, "motionbert": motionbert_loss, "mpjpe": mpjpe_loss}
