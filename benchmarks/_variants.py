"""The post-processing variants shared by ``noise_models.py`` and ``real_video_steps.py``: which
steps a variant keeps, the ``VARIANT:key=value`` settings, and :func:`apply_variant`, which sets
them on a :class:`hotdemo.post.refine.PostSettings` (see ``noise_models.py``'s docstring for the names)."""

from __future__ import annotations

#: variant -> which post steps it keeps (smooth, bones, reproject)
VARIANTS = {
    "raw": dict(smooth=False, bones=False, reproject=False),
    "smooth": dict(smooth=True, bones=False, reproject=False),
    "bones": dict(smooth=False, bones=True, reproject=False),
    "agree": dict(smooth=False, bones=False, reproject=True),
    "no-agree": dict(smooth=True, bones=True, reproject=False),
    "default": dict(smooth=True, bones=True, reproject=True),
}
STEPS = ("smooth", "bones", "agree", "no-agree", "default")
#: variant keys -> PostSettings attributes
KEYS = {"r": "trust_residual", "rs": "trust_residual_sigma", "rl": "trust_residual_length_sigma", "db": "debias_2d", "dbr": "debias_residual", "rd": "debias_residual_at",
        "dw": "bone_depth_weight",
        "sm": "bone_sign_margin"}


def apply_variant(settings, spec: str, defaults: dict) -> dict:
    """Set the post settings up for the variant ``spec`` (``VARIANT[:key=value...]``): every :data:`KEYS`
    attribute back to ``defaults`` (keyed by the short names, plus ``smooth``: the default
    smoothing sigma), then the spec's settings, then the variant's steps. Returns the variant's
    entry of :data:`VARIANTS`."""
    base, *kvs = spec.split(":")
    cfg = VARIANTS[base]
    for k, a in KEYS.items():
        setattr(settings, a, defaults[k])
    for kv in kvs:
        k, _, val = kv.partition("=")
        setattr(settings, KEYS[k], (float(val) or None) if k in ("r", "rd") else bool(float(val))
                if k in ("db", "dbr") else float(val))
    settings.smooth_sigma = defaults["smooth"] if cfg["smooth"] else 0.0
    if not cfg["bones"]:
        settings.bone_depth_weight = 0.0
    settings.reproject = bool(cfg["reproject"])
    return cfg
