"""Training and evaluation of hotdemo's lifters on Human3.6M-style 3D motion.

* :mod:`.data` - loading ``data_3d_h36m.npz``-style files, the 17 joints, the cache, windows;
* :mod:`.augment` - real/virtual cameras, bone scaling, speed, flip, detector-like 2D noise;
* :mod:`.losses` - the official HoT/MixSTE training losses;
* :mod:`.trainer` - the resumable training loop (:func:`train`, :class:`TrainConfig`);
* :mod:`.evaluate` - MPJPE / P-MPJPE / MPJVE per action on S9/S11 through the 4 real cameras.

Entry point: ``python -m hotdemo.train --help`` (also ``hotdemo train`` / ``hotdemo eval``).
"""

from hotdemo.train.augment import AugmentConfig, make_batch
from hotdemo.train.data import TEST_SUBJECTS, TRAIN_SUBJECTS, MotionData, load_motion, select_h36m17
from hotdemo.train.evaluate import DISCLAIMER, EvalResult, evaluate, format_table, mpjpe, mpjve, p_mpjpe
from hotdemo.train.losses import training_loss
from hotdemo.train.trainer import TrainConfig, lr_at, train

__all__ = [
    "AugmentConfig", "make_batch", "TEST_SUBJECTS", "TRAIN_SUBJECTS", "MotionData", "load_motion",
    "select_h36m17", "DISCLAIMER", "EvalResult", "evaluate", "format_table", "mpjpe", "mpjve", "p_mpjpe",
    "training_loss", "TrainConfig", "lr_at", "train",
]
