"""Post-processing of lifted 3D tracks: the post step after the lifter (:mod:`hotdemo.post.refine`:
agreement with the 2D, :mod:`hotdemo.post.reproject`; bone lengths, :mod:`hotdemo.post.bones`;
temporal filters, :mod:`hotdemo.post.smooth`), then the world frame (:mod:`hotdemo.post.world`,
:mod:`hotdemo.post.trajectory`) and joint angles (:mod:`hotdemo.post.angles`).

``PostSettings``, ``lift_and_refine``, ``lift_track``, ``refine`` and ``debias`` are importable from
here (loaded on first use)."""

_REFINE = ("PostSettings", "lift_and_refine", "lift_track", "refine", "debias")


def __getattr__(name):
    if name in _REFINE:
        from hotdemo.post import refine

        return getattr(refine, name)
    raise AttributeError(f"module 'hotdemo.post' has no attribute {name!r}")
