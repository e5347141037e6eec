"""hotdemo: video to 3D human poses with the Hourglass Tokenizer (HoT) lifter."""

__version__ = "0.1.0"
