"""hotdemo: video to 3D human poses with the Hourglass Tokenizer (HoT) lifter.

Stage wings, data flowing one way (see docs/architecture.md): :mod:`hotdemo.detect` (people
and tracks) -> :mod:`hotdemo.pose2d` (2D keypoints) -> :mod:`hotdemo.lift` (3D) ->
:mod:`hotdemo.post` (reprojection, bones, smoothing, world, trajectory) -> :mod:`hotdemo.render`
and :mod:`hotdemo.io` (video, weights, output folders, export formats), all on
:mod:`hotdemo.core` (types, skeletons, camera, errors, paths, device).
:mod:`hotdemo.pipeline` chains them.
"""

__version__ = "0.1.0"

from hotdemo import _compat

_compat.install()
