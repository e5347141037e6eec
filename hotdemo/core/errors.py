"""Errors that the CLI turns into a one-line message and a non-zero exit code.

Everything the user can cause (a missing file, a bad video, a corrupt weights file,
an unwritable folder) raises a subclass of :class:`HotdemoError`. The CLI catches
these and prints ``error: <message>`` with no traceback. Programming errors are not
wrapped: they should surface as tracebacks so that they get fixed.
"""

from __future__ import annotations


class HotdemoError(Exception):
    """Base class of the errors a user can cause. ``exit_code`` is what the CLI returns."""

    exit_code: int = 1


class InputError(HotdemoError):
    """Bad command-line input: a missing path, a folder where a file was expected, a non-video."""

    exit_code = 2


class VideoError(InputError):
    """A file that cannot be decoded as a video."""


class WeightsError(HotdemoError):
    """A weights file that is missing, cannot be downloaded, or fails its checksum."""

    exit_code = 3


class CheckpointError(WeightsError):
    """A checkpoint whose keys or shapes do not match the model it is loaded into."""


class OutputError(HotdemoError):
    """An output location that cannot be written."""

    exit_code = 4
