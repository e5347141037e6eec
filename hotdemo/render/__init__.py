"""The renderer: the input frame with 2D skeletons beside the 3D skeletons on a floor grid.

:mod:`hotdemo.render.render` composes the frame (:class:`Renderer`), :mod:`.overlay` draws the
2D overlay, :mod:`.panel3d` the 3D views and their cameras, :mod:`.style` the shared colours and
labels, :mod:`.video_pass` the render pass of ``hotdemo run``. The names below are the public ones (they were those of the module ``hotdemo.render``).
"""

from hotdemo.render.panel3d import MAIN_FILL, TRAIL_SECONDS, VIEWS, main_track_index, ranked_tracks
from hotdemo.render.render import Renderer
from hotdemo.render.style import CENTER_RGB, LEFT_RGB, RIGHT_RGB, TRACK_PALETTE, track_color
from hotdemo.render.video_pass import render_video

__all__ = ["Renderer", "VIEWS", "MAIN_FILL", "TRAIL_SECONDS", "main_track_index", "ranked_tracks",
           "LEFT_RGB", "RIGHT_RGB", "CENTER_RGB", "TRACK_PALETTE", "track_color", "render_video"]
