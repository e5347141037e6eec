import os

import pytest

from hotdemo.core.paths import shared_dir

os.environ.setdefault("YOLO_OFFLINE", "1")


@pytest.fixture(scope="session")
def shared():
    """Path to ../shared; tests that use it are skipped with a reason when it is absent."""
    d = shared_dir()
    if d is None:
        pytest.skip("../shared (or $HOTDEMO_SHARED) is absent: offline models, videos and 3D data not available")
    return d
