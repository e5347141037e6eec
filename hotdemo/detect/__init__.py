"""People in the video: detection (:mod:`.detector`: which detector a spec names; :mod:`.backends`:
ultralytics YOLO, Darknet), online tracking (:mod:`.track`) and, after the 2D pass, track
assembly, selection and conversion to Human3.6M-17 (:mod:`.assemble`).

The detector names were those of the module ``hotdemo.detect`` this package replaced.
"""

from hotdemo.detect.backends import (DARKNET_IOU, DETECTOR_RUNTIMES, ULTRALYTICS_IOU, DarknetDetector, Detector,
                                     UltralyticsDetector, nms)
from hotdemo.detect.detector import (DEFAULT_DETECTOR, DETECTOR_EXPECTED, build_detector, check_detector_file,
                                     manifest_name, onnx_output_shapes)
from hotdemo.detect.assemble import assemble_tracks, select_tracks, to_h36m
from hotdemo.detect.track import CutDetector, Tracker, iou_matrix

__all__ = ["Detector", "DarknetDetector", "UltralyticsDetector", "build_detector", "nms", "DEFAULT_DETECTOR",
           "DARKNET_IOU", "ULTRALYTICS_IOU", "DETECTOR_RUNTIMES", "DETECTOR_EXPECTED", "check_detector_file",
           "manifest_name", "onnx_output_shapes", "Tracker", "CutDetector", "iou_matrix", "assemble_tracks",
           "select_tracks", "to_h36m"]
