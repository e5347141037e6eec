"""Weights manager against a throwaway HTTP server on 127.0.0.1 (no internet needed)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import re
import socket
import threading
from pathlib import Path

import pytest

from hotdemo import weights as W
from hotdemo.errors import WeightsError

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB, several download chunks


@pytest.fixture()
def server(tmp_path):
    """Serve tmp_path/www over HTTP on 127.0.0.1; yields (www folder, base URL)."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(www))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield www, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture()
def env(tmp_path, monkeypatch):
    """Isolated cache and no weights dir from the environment; returns the cache folder."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOTDEMO_HOME", str(home))
    monkeypatch.delenv("HOTDEMO_WEIGHTS_DIR", raising=False)
    monkeypatch.setattr(W, "bundled_weights_dir", lambda: tmp_path / "bundled")
    return home / "weights"


def fake_spec(monkeypatch, url: str, data: bytes = PAYLOAD, size=True, prefix=False) -> W.WeightSpec:
    digest = hashlib.sha256(data).hexdigest()
    spec = W.WeightSpec(
        name="fake_model", url=url, sha256=digest[:8] if prefix else digest, size=len(data) if size else None,
        licence="test", filename="fake_model.bin", kind="detector", description="test file",
    )
    monkeypatch.setitem(W.MANIFEST, spec.name, spec)
    return spec


def leftovers(folder: Path):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_manifest_is_complete():
    assert {"yolo11n", "hrnet_w32_coco_256x192"} <= set(W.MANIFEST)
    for s in W.MANIFEST.values():
        assert s.url.startswith("https://") and s.filename and s.licence and s.kind in ("detector", "pose2d", "lifter")
        assert re.fullmatch(r"[0-9a-f]{8,64}", s.sha256)
        assert s.url.endswith(s.filename)
    # mmpose file names carry the first 8 hex digits of the sha256
    hr = W.MANIFEST["hrnet_w32_coco_256x192"]
    assert hr.sha256[:8] in hr.filename and not hr.full_hash
    assert W.MANIFEST["yolo11n"].full_hash and "AGPL" in W.MANIFEST["yolo11n"].licence


def test_good_download_is_cached_and_reused(server, env, monkeypatch):
    www, base = server
    (www / "fake_model.bin").write_bytes(PAYLOAD)
    spec = fake_spec(monkeypatch, f"{base}/fake_model.bin")
    p = W.resolve("fake_model", progress=False)
    assert p == env / "fake_model.bin" and p.read_bytes() == PAYLOAD
    assert leftovers(env) == ["fake_model.bin"]
    # second call: served from the cache, even when the server has lost the file
    (www / "fake_model.bin").unlink()
    assert W.resolve("fake_model", progress=False) == p
    assert W.verify("fake_model") == p
    assert W.get_spec("fake_model.bin") is spec


def test_prefix_hash_download(server, env, monkeypatch):
    www, base = server
    (www / "fake_model.bin").write_bytes(PAYLOAD)
    fake_spec(monkeypatch, f"{base}/fake_model.bin", size=False, prefix=True)
    assert W.resolve("fake_model", progress=False).read_bytes() == PAYLOAD


@pytest.mark.parametrize("size_known", [True, False])
def test_corrupted_download_is_rejected_and_nothing_left(server, env, monkeypatch, size_known):
    www, base = server
    bad = bytearray(PAYLOAD)
    bad[1000] ^= 0xFF
    (www / "fake_model.bin").write_bytes(bytes(bad))
    fake_spec(monkeypatch, f"{base}/fake_model.bin", size=size_known)
    with pytest.raises(WeightsError) as ei:
        W.resolve("fake_model", progress=False)
    msg = str(ei.value)
    assert "fake_model.bin" in msg and "sha256" in msg and "\n" not in msg
    assert leftovers(env) == []


def test_truncated_download_is_rejected(server, env, monkeypatch):
    www, base = server
    (www / "fake_model.bin").write_bytes(PAYLOAD[:-10])
    fake_spec(monkeypatch, f"{base}/fake_model.bin")
    with pytest.raises(WeightsError, match="bytes, expected"):
        W.resolve("fake_model", progress=False)
    assert leftovers(env) == []


def test_missing_file_404(server, env, monkeypatch):
    _, base = server
    fake_spec(monkeypatch, f"{base}/nope/fake_model.bin")
    with pytest.raises(WeightsError) as ei:
        W.resolve("fake_model", progress=False)
    msg = str(ei.value)
    assert "404" in msg and f"{base}/nope/fake_model.bin" in msg and str(env) in msg
    assert leftovers(env) == []


def test_connection_refused_names_file_url_and_folder(env, monkeypatch):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    url = f"http://127.0.0.1:{port}/fake_model.bin"
    fake_spec(monkeypatch, url)
    with pytest.raises(WeightsError) as ei:
        W.resolve("fake_model", progress=False)
    msg = str(ei.value)
    assert "fake_model.bin" in msg and url in msg and str(env) in msg and "\n" not in msg
    assert leftovers(env) == []


def test_interrupted_download_leaves_nothing(server, env, monkeypatch):
    www, base = server
    (www / "fake_model.bin").write_bytes(PAYLOAD)
    spec = fake_spec(monkeypatch, f"{base}/fake_model.bin")

    class Boom:
        def __init__(self, *a, **k):
            pass

        def __enter__(self):
            def advance(n):
                raise KeyboardInterrupt

            return advance

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(W, "_progress_bar", Boom)
    with pytest.raises(KeyboardInterrupt):
        W.fetch(spec)
    assert leftovers(env) == []


def test_no_download_mode(env, monkeypatch):
    fake_spec(monkeypatch, "http://127.0.0.1:9/fake_model.bin")
    with pytest.raises(WeightsError, match="fake_model.bin not found"):
        W.resolve("fake_model", download=False)


def test_weights_dir_and_env_var_are_searched_first(tmp_path, env, monkeypatch):
    fake_spec(monkeypatch, "http://127.0.0.1:9/never")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "fake_model.bin").write_bytes(PAYLOAD)
    assert W.resolve("fake_model", weights_dir=mine) == mine / "fake_model.bin"
    monkeypatch.setenv("HOTDEMO_WEIGHTS_DIR", str(mine))
    assert W.resolve("fake_model") == mine / "fake_model.bin"


def test_corrupted_local_file_names_the_file(tmp_path, env, monkeypatch):
    fake_spec(monkeypatch, "http://127.0.0.1:9/never")
    mine = tmp_path / "mine"
    mine.mkdir()
    f = mine / "fake_model.bin"
    f.write_bytes(b"x" * len(PAYLOAD))  # right size, wrong content
    with pytest.raises(WeightsError) as ei:
        W.resolve("fake_model", weights_dir=mine)
    assert str(f) in str(ei.value) and "checksum" in str(ei.value)
    f.write_bytes(PAYLOAD[:100])
    with pytest.raises(WeightsError, match="incomplete"):
        W.verify(f)


def test_paths(tmp_path, env):
    f = tmp_path / "custom.pt"
    f.write_bytes(b"abc")
    assert W.resolve(f) == f  # a given file is used as is
    with pytest.raises(WeightsError, match="no such weights file"):
        W.resolve(tmp_path / "absent.pt")
    with pytest.raises(WeightsError, match="no such weights file"):
        W.resolve("absent.pt")
    with pytest.raises(WeightsError, match="folder"):
        W.resolve(tmp_path)
    with pytest.raises(WeightsError, match="not in the weights manifest"):
        W.verify(f)


def test_given_path_with_a_manifest_file_name_is_verified(tmp_path, env, monkeypatch):
    fake_spec(monkeypatch, "http://127.0.0.1:9/never")
    f = tmp_path / "fake_model.bin"
    f.write_bytes(PAYLOAD)
    assert W.resolve(f) == f
    f.write_bytes(PAYLOAD[:-1] + b"!")
    with pytest.raises(WeightsError, match="fake_model.bin: checksum mismatch"):
        W.resolve(f)


# ------------------------------------------------------------------ zip archives (RTMPose SDK)
def _zip_bytes(members) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def zip_spec(monkeypatch, url: str, data: bytes, prefix_of: bytes = None) -> W.WeightSpec:
    digest = hashlib.sha256(prefix_of if prefix_of is not None else data).hexdigest()
    spec = W.WeightSpec(
        name="fake_zip", url=url, sha256=digest[:8], size=None, licence="test",
        filename=f"fake-model-{digest[:8]}_20230504.zip", kind="pose2d", description="zipped model",
        archive_member="end2end.onnx",
    )
    monkeypatch.setitem(W.MANIFEST, spec.name, spec)
    return spec


def test_rtmpose_manifest_entries():
    names = {"rtmpose_t_body7_256x192", "rtmpose_s_body7_256x192", "rtmpose_m_body7_256x192",
             "rtmpose_l_body7_256x192", "rtmpose_l_body7_384x288", "rtmpose_x_body7_384x288"}
    assert names <= set(W.MANIFEST)
    for n in names:
        s = W.MANIFEST[n]
        assert s.url.startswith("https://download.openmmlab.com/mmpose/v1/projects/rtmposev1/onnx_sdk/")
        assert s.filename.endswith(".zip") and s.archive_member == "end2end.onnx"
        assert re.search(rf"-{s.sha256}_\d{{8}}\.zip$", s.filename) and len(s.sha256) == 8
        assert s.local_name == s.filename[:-4] + ".onnx"
        assert W.get_spec(s.local_name) is s
    assert W.MANIFEST["rtmpose_m_body7_256x192"].sha256 == "e48f03d0"


def test_zip_download_is_unpacked_atomically_and_full_hash_recorded(server, env, monkeypatch):
    www, base = server
    model = b"onnx-bytes" * 50000
    data = _zip_bytes({"20230504/rtmpose-m/end2end.onnx": model, "20230504/rtmpose-m/pipeline.json": b"{}"})
    spec = zip_spec(monkeypatch, f"{base}/model.zip", data)
    (www / "model.zip").write_bytes(data)
    p = W.resolve("fake_zip", progress=False)
    assert p == env / spec.local_name and p.read_bytes() == model
    rec = W.recorded_hashes(p)
    assert rec["archive_sha256"] == hashlib.sha256(data).hexdigest()  # the full digest, not the prefix
    assert rec["sha256"] == hashlib.sha256(model).hexdigest()
    # only the model and its record are left: no zip, no part or temporary files
    assert leftovers(env) == sorted([spec.local_name, spec.local_name + ".sha256"])
    # reused without downloading again, and checked against the recorded full digest
    (www / "model.zip").unlink()
    assert W.resolve("fake_zip", progress=False) == p
    p.write_bytes(model[:-1] + b"X")
    with pytest.raises(WeightsError, match="recorded"):
        W.resolve("fake_zip", progress=False)
    with pytest.raises(WeightsError, match="recorded"):
        W.verify("fake_zip")


def test_zip_with_wrong_prefix_or_without_member_leaves_nothing(server, env, monkeypatch):
    www, base = server
    data = _zip_bytes({"x/end2end.onnx": b"model"})
    zip_spec(monkeypatch, f"{base}/model.zip", data, prefix_of=b"something else")
    (www / "model.zip").write_bytes(data)
    with pytest.raises(WeightsError, match="sha256"):
        W.resolve("fake_zip", progress=False)
    assert leftovers(env) == []
    data = _zip_bytes({"x/other.onnx": b"model"})
    (www / "model.zip").write_bytes(data)
    zip_spec(monkeypatch, f"{base}/model.zip", data)
    with pytest.raises(WeightsError, match="end2end.onnx"):
        W.resolve("fake_zip", progress=False)
    assert leftovers(env) == []


def test_zip_in_weights_dir_is_unpacked_into_the_cache(tmp_path, env, monkeypatch):
    model = b"net" * 1000
    data = _zip_bytes({"end2end.onnx": model})
    spec = zip_spec(monkeypatch, "https://127.0.0.1:9/none.zip", data)
    wd = tmp_path / "mine"
    wd.mkdir()
    (wd / spec.filename).write_bytes(data)
    p = W.resolve("fake_zip", weights_dir=wd, progress=False)
    assert p == env / spec.local_name and p.read_bytes() == model
    assert (wd / spec.filename).exists()  # the user's zip is left alone


# ------------------------------------------------------------------ the shipped lifter, the CLI
def _cli(args, **kw):
    from typer.testing import CliRunner

    from hotdemo.cli import app

    r = CliRunner().invoke(app, args, **kw)
    return r, re.sub(r"\x1b\[[0-9;]*m", "", r.output)


def test_weights_list_shows_the_shipped_lifter_with_its_sha256():
    from hotdemo.paths import bundled_lifter_path

    p = bundled_lifter_path()
    r, out = _cli(["weights", "list"], env={"COLUMNS": "100"})
    assert r.exit_code == 0, out
    assert "hot_mixste_h36m" in out and "lifter" in out
    # its full sha256, copyable in sha256sum format, equal to the file's
    assert f"{W.sha256_file(p)}  {p.name}" in out


def test_weights_verify_accepts_the_shipped_lifter_and_a_copy_of_it(tmp_path):
    from hotdemo.paths import bundled_lifter_path

    r, out = _cli(["weights", "verify", str(bundled_lifter_path())])
    assert r.exit_code == 0 and out.startswith("ok"), out
    r, out = _cli(["weights", "verify", "hot_mixste_h36m"])
    assert r.exit_code == 0 and out.startswith("ok"), out
    copy = tmp_path / bundled_lifter_path().name
    data = bytearray(bundled_lifter_path().read_bytes())
    copy.write_bytes(bytes(data))
    assert W.verify(copy) == copy
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    r, out = _cli(["weights", "verify", str(copy)])
    assert r.exit_code == 3 and out.startswith("error:") and "checksum mismatch" in out and "Traceback" not in out


def test_download_carries_on_past_a_failing_file_and_reports_all(server, env, monkeypatch):
    www, base = server
    other = PAYLOAD[::-1]
    (www / "good.bin").write_bytes(other)
    good = W.WeightSpec(name="good_model", url=f"{base}/good.bin", sha256=hashlib.sha256(other).hexdigest(),
                        size=len(other), licence="test", filename="good.bin", kind="pose2d", description="t")
    monkeypatch.setitem(W.MANIFEST, good.name, good)
    fake_spec(monkeypatch, f"{base}/missing/fake_model.bin")  # 404; listed first
    r, out = _cli(["weights", "download", "fake_model", "good_model", "hot_mixste_h36m"])
    assert r.exit_code == 3, out
    lines = [l for l in out.splitlines() if l.strip()]
    assert any(l.startswith("error:") and "fake_model.bin" in l and "404" in l for l in lines), out
    assert any(l.startswith("ok good_model") for l in lines), out  # tried after the failure
    assert any(l.startswith("ok hot_mixste_h36m") and "shipped" in l for l in lines), out
    assert lines[-1].startswith("error: 1 of 3") and "fake_model" in lines[-1]
    assert (env / "good.bin").read_bytes() == other and not (env / "fake_model.bin").exists()
    assert "Traceback" not in out
