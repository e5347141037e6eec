"""One file per 2D model family (model, spec as ``FAMILY``, checkpoint matcher, presets); each is
named by one line in :mod:`hotdemo.pose2d.registry`."""
