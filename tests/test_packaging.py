"""The package carries its shipped lifter: package data found through importlib.resources,
present in the wheel and the sdist that ``python -m build`` makes."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from importlib.resources import files
from pathlib import Path

import pytest

from hotdemo.core.paths import BUNDLED_LIFTER, REPO_DIR, bundled_lifter_path
from hotdemo.io.weights import sha256_file

SHIPPED = ["hotdemo/bundled/" + BUNDLED_LIFTER, "hotdemo/bundled/" + BUNDLED_LIFTER + ".sha256",
           "hotdemo/bundled/README.md"]


def test_shipped_lifter_is_package_data_and_matches_its_checksum():
    p = bundled_lifter_path()
    assert p == Path(str(files("hotdemo").joinpath("bundled", BUNDLED_LIFTER)))
    assert p.is_file() and (p.parent / "README.md").is_file(), "the shipped lifter and its model card"
    pinned = (p.parent / (p.name + ".sha256")).read_text().split()
    assert pinned[1] == p.name
    assert sha256_file(p) == pinned[0], (
        f"{p} does not match its pinned checksum; after replacing the shipped lifter run "
        f"`cd {p.parent} && sha256sum {p.name} > {p.name}.sha256` "
        "(`python -m hotdemo.train export RUN/last.pt hotdemo/bundled/hot_mixste_h36m.pt` does it)")


@pytest.mark.slow
def test_wheel_and_sdist_built_with_build_contain_the_shipped_lifter(tmp_path):
    pytest.importorskip("build", reason="the `build` package (dev extra) is not installed")
    if not (REPO_DIR / "pyproject.toml").is_file():
        pytest.skip("not running from a source checkout")
    src = tmp_path / "src"  # a copy, so the build leaves nothing in the checkout
    shutil.copytree(REPO_DIR, src, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "hotdemo_out", "runs", "out",
        ".venv", "venv", "train_cache"))
    r = subprocess.run([sys.executable, "-m", "build", "--outdir", str(tmp_path / "dist"), str(src)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    wheel = next((tmp_path / "dist").glob("hotdemo-*.whl"))
    sdist = next((tmp_path / "dist").glob("hotdemo-*.tar.gz"))
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    with tarfile.open(sdist) as t:
        in_sdist = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    for name in SHIPPED:
        assert name in in_wheel, f"{name} missing from {wheel.name}"
        assert name in in_sdist, f"{name} missing from {sdist.name}"
    with zipfile.ZipFile(wheel) as z:
        assert z.read(SHIPPED[0]) == bundled_lifter_path().read_bytes()
    # the HTML viewer's page template (--export html) is package data too
    assert "hotdemo/io/formats/viewer_template.html" in in_wheel and "hotdemo/io/formats/viewer_template.html" in in_sdist
