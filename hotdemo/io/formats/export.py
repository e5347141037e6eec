"""The names of the former ``hotdemo.io.formats.export`` module, kept importable.

Exports are now one module per format with a registry of them (:mod:`hotdemo.io.formats`);
reading exports and the input of ``hotdemo lift`` back is :mod:`hotdemo.io.formats.keypoints`.
Import from those; this module only re-exports their names for existing callers.
"""

from hotdemo.io.files import atomic_write  # noqa: F401
from hotdemo.io.formats import (DEFAULT_FORMATS, EXPORT_FORMATS, FORMATS, ExportFormat, ExportJob,  # noqa: F401
                                _check_job, _resolve, check_formats, parse_formats, write_exports)
from hotdemo.io.formats.bvh import check_bvh, write_bvh, write_bvh_files  # noqa: F401
from hotdemo.io.formats.csv_file import CSV_COLUMNS, read_csv, write_csv  # noqa: F401
from hotdemo.io.formats.json_file import write_json  # noqa: F401
from hotdemo.io.formats.keypoints import (MAX_KEYPOINT_FRAMES, load_export, load_keypoints,  # noqa: F401
                                          load_lift_input, load_tracks2d)
from hotdemo.io.formats.npz_file import to_npz_arrays, write_npz  # noqa: F401
from hotdemo.io.formats.schema import (COORDINATE_FRAMES, SCHEMA_VERSION, ExportData,  # noqa: F401
                                       PathLike, _effective_fps)

__all__ = [
    "DEFAULT_FORMATS", "EXPORT_FORMATS", "FORMATS", "ExportFormat", "ExportJob", "check_formats", "parse_formats",
    "write_exports", "write_bvh_files", "CSV_COLUMNS", "read_csv", "write_csv", "write_json", "MAX_KEYPOINT_FRAMES",
    "load_export", "load_keypoints", "load_lift_input", "load_tracks2d", "to_npz_arrays", "write_npz",
    "COORDINATE_FRAMES", "SCHEMA_VERSION", "ExportData",
]
