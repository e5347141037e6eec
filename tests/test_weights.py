"""Weights manager against a throwaway HTTP server on 127.0.0.1 (no internet needed)."""

from __future__ import annotations

import functools
import hashlib
import http.client
import http.server
import os
import re
import socket
import threading
import time
import urllib.error
from pathlib import Path

import pytest

from hotdemo.io import weights as W
from hotdemo.io.weights import download as W_download
from hotdemo.io.weights import manifest as W_manifest
from hotdemo.core.errors import WeightsError

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB, several download chunks


@pytest.fixture()
def server(tmp_path):
    """Serve tmp_path/www over HTTP on 127.0.0.1 with Range support; yields (www folder, base URL).

    ``server.faults`` (the handler class's dict, see :class:`_Handler`) makes chosen paths misbehave."""
    www = tmp_path / "www"
    www.mkdir()
    _Handler.faults = {}
    _Handler.requests = []
    handler = functools.partial(_Handler, directory=str(www))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield www, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Files from the folder, ``Range: bytes=N-`` answered with 206, and per-path faults:
    ``("redirect", to)``, ``("truncate", nbytes)`` (Content-Length of the whole file, then the
    connection closes), ``("chunked_break", nbytes)`` (chunked body that stops mid-chunk),
    ``("status", code)``, ``("no_range",)`` (ignores Range: 200 and the whole file),
    ``("trickle", seconds)`` (one small chunk every ``seconds``)."""

    faults: dict = {}
    requests: list = []
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        path = self.path.split("?")[0]
        type(self).requests.append((path, self.headers.get("Range")))
        fault = type(self).faults.get(path, ())
        if fault and fault[0] == "redirect":
            self.send_response(302)
            self.send_header("Location", fault[1])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if fault and fault[0] == "status":
            self.send_error(fault[1])
            return
        f = Path(self.directory) / path.lstrip("/")
        if not f.is_file():
            self.send_error(404)
            return
        data = f.read_bytes()
        start = 0
        rng = self.headers.get("Range")
        if rng and not (fault and fault[0] == "no_range"):
            start = int(re.match(r"bytes=(\d+)-", rng).group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        if fault and fault[0] == "chunked_break":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            part = body[: fault[1]]
            self.wfile.write(f"{len(body):x}\r\n".encode() + part)  # announces all, sends some
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if fault and fault[0] == "truncate":
            self.wfile.write(body[: fault[1]])
            self.wfile.flush()
            self.close_connection = True
            return
        if fault and fault[0] == "trickle":
            for i in range(0, len(body), 4096):
                self.wfile.write(body[i:i + 4096])
                self.wfile.flush()
                time.sleep(fault[1])
            return
        self.wfile.write(body)


@pytest.fixture()
def env(tmp_path, monkeypatch):
    """Isolated cache and no weights dir from the environment; returns the cache folder."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOTDEMO_HOME", str(home))
    monkeypatch.delenv("HOTDEMO_WEIGHTS_DIR", raising=False)
    monkeypatch.setattr(W_manifest, "bundled_weights_dir", lambda: tmp_path / "bundled")
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
        assert s.sha256 == "" or re.fullmatch(r"[0-9a-f]{8}|[0-9a-f]{64}", s.sha256)
        assert s.unpacked_sha256 == "" or re.fullmatch(r"[0-9a-f]{64}", s.unpacked_sha256)
        assert all(u.startswith("https://") and u.endswith(s.filename) for u in s.urls)
        assert s.check in ("pinned", "prefix", "structure") and s.hash_source
    # mmpose .pth file names carry the first 8 hex digits of the file's own sha256
    hr = W.MANIFEST["hrnet_w32_coco_256x192"]
    assert hr.sha256[:8] in hr.filename and hr.check == "prefix"
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


def test_interrupted_download_keeps_a_hidden_part_that_the_next_run_resumes(server, env, monkeypatch):
    www, base = server
    (www / "fake_model.bin").write_bytes(PAYLOAD)
    spec = fake_spec(monkeypatch, f"{base}/fake_model.bin")
    monkeypatch.setattr(W_download, "_CHUNK", 1 << 16)  # several reads
    real_bar = W_download._progress_bar

    class Boom(real_bar):
        def __enter__(self):
            done = [0]

            def advance(n):
                done[0] += n
                if done[0] > len(PAYLOAD) // 3:
                    raise KeyboardInterrupt

            return advance

    monkeypatch.setattr(W_download, "_progress_bar", Boom)
    with pytest.raises(KeyboardInterrupt):
        W.fetch(spec)
    left = leftovers(env)
    assert "fake_model.bin" not in left and len(left) == 1 and left[0].startswith(".fake_model.bin.part-")
    part_size = (env / left[0]).stat().st_size
    assert 0 < part_size < len(PAYLOAD)
    monkeypatch.setattr(W_download, "_progress_bar", real_bar)
    _Handler.requests.clear()
    assert W.resolve("fake_model", progress=False).read_bytes() == PAYLOAD
    assert _Handler.requests == [("/fake_model.bin", f"bytes={part_size}-")]  # resumed, not restarted
    assert leftovers(env) == ["fake_model.bin"]


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


#: a realistic SDK zip name: its 8 hex digits are a .pth's sha256 prefix, not the zip's (as openmmlab's)
ZIP_NAME = "rtmpose-t_simcc-body7_pt-body7_420e-256x192-026a1439_20230504.zip"
ZIP_STEM = ZIP_NAME[:-4]


@pytest.fixture(scope="module")
def sdk_onnx(tmp_path_factory):
    """bytes of an RTMPose-t end2end.onnx with random weights and the SDK's signature (input
    ``input`` (B, 3, 256, 192), outputs ``simcc_x`` (B, 17, 384), ``simcc_y`` (B, 17, 512))."""
    from hotdemo.pose2d.families.rtmpose import random_rtmpose_onnx

    return random_rtmpose_onnx("t", cache_dir=tmp_path_factory.mktemp("onnx")).read_bytes()


def sdk_zip(model: bytes, *, member: str = "end2end.onnx") -> bytes:
    """A zip laid out as openmmlab's RTMPose SDK zips: ``<date>/rtmpose_onnx/<stem>/`` holding
    end2end.onnx, pipeline.json, deploy.json, detail.json."""
    root = f"20230831/rtmpose_onnx/{ZIP_STEM}/"
    return _zip_bytes({root + member: model, root + "pipeline.json": b"{}", root + "deploy.json": b"{}",
                       root + "detail.json": b"{}"})


def zip_spec(monkeypatch, urls, *, pin_zip: bytes = None, pin_onnx: bytes = None, hw=(256, 192)) -> W.WeightSpec:
    urls = [urls] if isinstance(urls, str) else list(urls)
    spec = W.WeightSpec(
        name="fake_zip", url=urls[0], mirrors=tuple(urls[1:]), sha256=hashlib.sha256(pin_zip).hexdigest() if pin_zip else "",
        size=None, licence="test", filename=ZIP_NAME, kind="pose2d", description="zipped model",
        archive_member="end2end.onnx", simcc_input_hw=hw,
        unpacked_sha256=hashlib.sha256(pin_onnx).hexdigest() if pin_onnx else "", hash_source="test",
    )
    monkeypatch.setitem(W.MANIFEST, spec.name, spec)
    return spec


def test_rtmpose_manifest_entries():
    names = {"rtmpose_t_body7_256x192", "rtmpose_s_body7_256x192", "rtmpose_m_body7_256x192",
             "rtmpose_l_body7_256x192", "rtmpose_l_body7_384x288", "rtmpose_x_body7_384x288"}
    assert names <= set(W.MANIFEST)
    for n in names:
        s = W.MANIFEST[n]
        rel = "rtmposev1/onnx_sdk/" + s.filename
        # the publisher first, then the public mirror of the same mmpose/v1/projects/ path (as rtmlib >= 0.0.16)
        assert s.urls == ("https://download.openmmlab.com/mmpose/v1/projects/" + rel,
                          "https://huggingface.co/Tau-J/RTMPose/resolve/main/" + rel)
        assert s.filename.endswith(".zip") and s.archive_member == "end2end.onnx"
        # the 8 hex digits in the name are the .pth's sha256 prefix: never checked against the zip
        name_prefix = re.search(r"-([0-9a-f]{8})_\d{8}\.zip$", s.filename).group(1)
        assert not s.sha256.startswith(name_prefix)
        h, w = (int(v) for v in n.rsplit("_", 1)[1].split("x"))
        assert s.simcc_input_hw == (h, w)
        assert s.local_name == s.filename[:-4] + ".onnx"
        assert W.get_spec(s.local_name) is s
    # the default's zip and onnx digests, pinned from two independent public sources
    s = W.MANIFEST["rtmpose_s_body7_256x192"]
    assert s.sha256 == "7673922e531014906ca4f0f239b7e233b740146a10b632deaa2a28d45470d802"
    assert s.unpacked_sha256 == "9aeb635b83f86aea45cf45d85798f7eba1a162de8e0d721c44e54fe5eebaf47d"
    assert s.size == 20_496_303 and s.check == "pinned"
    assert W.MANIFEST["rtmpose_l_body7_384x288"].check == "structure"


def test_sdk_zip_download_is_checked_by_structure_unpacked_and_its_digest_recorded(server, env, monkeypatch,
                                                                                   sdk_onnx):
    www, base = server
    data = sdk_zip(sdk_onnx)
    assert not hashlib.sha256(data).hexdigest().startswith("026a1439")  # as with the real files
    spec = zip_spec(monkeypatch, f"{base}/{ZIP_NAME}")
    (www / ZIP_NAME).write_bytes(data)
    p = W.resolve("fake_zip", progress=False)
    assert p == env / spec.local_name and p.read_bytes() == sdk_onnx
    rec = W.recorded_hashes(p)
    assert rec["archive_sha256"] == hashlib.sha256(data).hexdigest() and rec["archive"] == ZIP_NAME
    assert rec["sha256"] == hashlib.sha256(sdk_onnx).hexdigest()
    # only the model and its record are left: no zip, no part or temporary files
    assert leftovers(env) == sorted([spec.local_name, spec.local_name + ".sha256"])
    # reused without downloading again, and checked against the digest recorded on first download
    (www / ZIP_NAME).unlink()
    assert W.resolve("fake_zip", progress=False) == p
    p.write_bytes(sdk_onnx[:-1] + b"X")
    with pytest.raises(WeightsError, match="recorded on first download"):
        W.resolve("fake_zip", progress=False)
    with pytest.raises(WeightsError, match="recorded on first download"):
        W.verify("fake_zip")


def test_pinned_sdk_zip_and_onnx_digests_are_checked(server, env, monkeypatch, sdk_onnx):
    www, base = server
    data = sdk_zip(sdk_onnx)
    (www / ZIP_NAME).write_bytes(data)
    zip_spec(monkeypatch, f"{base}/{ZIP_NAME}", pin_zip=data, pin_onnx=sdk_onnx)
    assert W.resolve("fake_zip", progress=False).read_bytes() == sdk_onnx
    for f in leftovers(env):
        (env / f).unlink()
    zip_spec(monkeypatch, f"{base}/{ZIP_NAME}", pin_zip=data + b"x", pin_onnx=sdk_onnx)  # zip pin wrong
    with pytest.raises(WeightsError, match="sha256"):
        W.resolve("fake_zip", progress=False)
    zip_spec(monkeypatch, f"{base}/{ZIP_NAME}", pin_onnx=sdk_onnx + b"x")  # onnx pin wrong
    with pytest.raises(WeightsError, match="pinned sha256"):
        W.resolve("fake_zip", progress=False)
    assert leftovers(env) == []


@pytest.mark.parametrize("what", ["wrong input size", "heatmap outputs", "not onnx", "no member", "crc"])
def test_sdk_zip_that_is_not_the_model_leaves_nothing(server, env, monkeypatch, sdk_onnx, what):
    www, base = server
    hw = (256, 192)
    data = sdk_zip(sdk_onnx)
    if what == "wrong input size":
        hw = (384, 288)  # a 256x192 model under a 384x288 name
    elif what == "heatmap outputs":
        import onnx

        m = onnx.load_from_string(sdk_onnx)
        m.graph.output[0].name = "heatmaps"
        data = sdk_zip(m.SerializeToString())
    elif what == "not onnx":
        data = sdk_zip(b"<html>not found</html>")
    elif what == "no member":
        data = sdk_zip(sdk_onnx, member="other.onnx")
    elif what == "crc":
        i = data.index(sdk_onnx[1000:1100])
        data = data[:i] + bytes(b ^ 0xFF for b in data[i:i + 100]) + data[i + 100:]  # stored bytes damaged
    zip_spec(monkeypatch, f"{base}/{ZIP_NAME}", hw=hw)
    (www / ZIP_NAME).write_bytes(data)
    with pytest.raises(WeightsError) as ei:
        W.resolve("fake_zip", progress=False)
    msg = str(ei.value)
    assert ZIP_NAME in msg and "\n" not in msg
    assert {"wrong input size": "384, 288", "heatmap outputs": "simcc_x", "not onnx": "ONNX",
            "no member": "end2end.onnx", "crc": "zip"}[what] in msg
    assert leftovers(env) == []


def test_sdk_zip_in_weights_dir_is_unpacked_into_the_cache(tmp_path, env, monkeypatch, sdk_onnx):
    data = sdk_zip(sdk_onnx)
    spec = zip_spec(monkeypatch, "https://127.0.0.1:9/none.zip")
    wd = tmp_path / "mine"
    wd.mkdir()
    (wd / spec.filename).write_bytes(data)
    p = W.resolve("fake_zip", weights_dir=wd, progress=False)
    assert p == env / spec.local_name and p.read_bytes() == sdk_onnx
    assert (wd / spec.filename).exists()  # the user's zip is left alone


def test_unpacked_onnx_put_by_hand_is_checked_by_structure(tmp_path, env, monkeypatch, sdk_onnx):
    spec = zip_spec(monkeypatch, "https://127.0.0.1:9/none.zip")
    wd = tmp_path / "mine"
    wd.mkdir()
    (wd / spec.local_name).write_bytes(sdk_onnx)
    assert W.resolve("fake_zip", weights_dir=wd, progress=False) == wd / spec.local_name
    (wd / spec.local_name).write_bytes(sdk_onnx[: len(sdk_onnx) // 2])
    with pytest.raises(WeightsError, match="not a readable ONNX model"):
        W.resolve("fake_zip", weights_dir=wd, progress=False)


# ------------------------------------------------------------------ second sources, resume, network failures
def _payload_spec(monkeypatch, urls, data=PAYLOAD, **kw):
    urls = [urls] if isinstance(urls, str) else list(urls)
    spec = W.WeightSpec(name="fake_model", url=urls[0], mirrors=tuple(urls[1:]), sha256=hashlib.sha256(data).hexdigest(),
                        size=len(data), licence="test", filename="fake_model.bin", kind="detector",
                        description="t", **kw)
    monkeypatch.setitem(W.MANIFEST, spec.name, spec)
    return spec


def test_redirect_is_followed(server, env, monkeypatch):
    www, base = server
    (www / "real.bin").write_bytes(PAYLOAD)
    _Handler.faults["/fake_model.bin"] = ("redirect", f"{base}/real.bin")
    _payload_spec(monkeypatch, f"{base}/fake_model.bin")
    assert W.resolve("fake_model", progress=False).read_bytes() == PAYLOAD


def test_404_then_the_mirror(server, env, monkeypatch):
    www, base = server
    (www / "mirror").mkdir()
    (www / "mirror" / "fake_model.bin").write_bytes(PAYLOAD)
    _payload_spec(monkeypatch, [f"{base}/gone/fake_model.bin", f"{base}/mirror/fake_model.bin"])
    assert W.resolve("fake_model", progress=False).read_bytes() == PAYLOAD
    assert [r[0] for r in _Handler.requests] == ["/gone/fake_model.bin", "/mirror/fake_model.bin"]
    assert leftovers(env) == ["fake_model.bin"]


@pytest.mark.parametrize("fault", [("truncate", 300_000), ("chunked_break", 300_000)])
def test_broken_body_is_resumed_from_the_mirror(server, env, monkeypatch, fault):
    www, base = server
    (www / "a").mkdir()
    (www / "b").mkdir()
    for d in ("a", "b"):
        (www / d / "fake_model.bin").write_bytes(PAYLOAD)
    _Handler.faults["/a/fake_model.bin"] = fault
    _payload_spec(monkeypatch, [f"{base}/a/fake_model.bin", f"{base}/b/fake_model.bin"])
    assert W.resolve("fake_model", progress=False).read_bytes() == PAYLOAD
    (_, r1), (_, r2) = _Handler.requests
    assert r1 is None and r2 is not None and r2.startswith("bytes=") and int(r2[6:-1]) > 0  # resumed
    assert leftovers(env) == ["fake_model.bin"]


@pytest.mark.parametrize("fault,reason", [(("truncate", 300_000), "cut short"),
                                          (("chunked_break", 300_000), "cut short"),
                                          (("status", 503), "HTTP 503"),
                                          (("status", 404), "HTTP 404")])
def test_every_failure_is_one_line_naming_file_urls_and_a_hint(server, env, monkeypatch, fault, reason):
    www, base = server
    (www / "fake_model.bin").write_bytes(PAYLOAD)
    _Handler.faults["/fake_model.bin"] = fault
    url = f"{base}/fake_model.bin"
    _payload_spec(monkeypatch, url)
    with pytest.raises(WeightsError) as ei:
        W.resolve("fake_model", progress=False)
    msg = str(ei.value)
    assert "fake_model.bin" in msg and url in msg and reason in msg and "\n" not in msg
    assert "server failed" in msg and str(env) in msg
    assert "fake_model.bin" not in leftovers(env)
    if fault[0] != "status":  # the part is kept and the next run resumes it
        del _Handler.faults["/fake_model.bin"]
        assert W.resolve("fake_model", progress=False).read_bytes() == PAYLOAD
        assert _Handler.requests[-1][1] is not None


def test_offline_and_deadline_hints(server, env, monkeypatch):
    www, base = server
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = f"http://127.0.0.1:{s.getsockname()[1]}/fake_model.bin"
    s.close()
    _payload_spec(monkeypatch, dead)
    with pytest.raises(WeightsError) as ei:
        W.resolve("fake_model", progress=False)
    assert "connection refused" in str(ei.value) and "no network?" in str(ei.value)
    (www / "fake_model.bin").write_bytes(PAYLOAD)
    _Handler.faults["/fake_model.bin"] = ("trickle", 0.05)
    spec = _payload_spec(monkeypatch, f"{base}/fake_model.bin")
    with pytest.raises(WeightsError) as ei:
        W.fetch(spec, progress=False, deadline=0.5)
    assert "deadline" in str(ei.value) and "HOTDEMO_DOWNLOAD_DEADLINE" in str(ei.value)


def test_certificate_and_tls_failures_are_classified():
    import ssl

    cert = ssl.SSLCertVerificationError(1, "certificate verify failed")
    cert.verify_message = "self-signed certificate"
    f = W._classify(urllib.error.URLError(cert))
    assert f.kind == "certificate" and "self-signed" in f.reason
    assert "SSL_CERT_FILE" in W._HINTS[f.kind]
    assert W._classify(http.client.BadStatusLine("garbage")).kind == "server"
    assert W._classify(http.client.IncompleteRead(b"abc", 10)).kind == "server"
    assert W._classify(urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))).kind == "offline"
    assert W._classify(socket.timeout("timed out")).kind == "server"


def test_bad_status_line_is_one_line_and_the_mirror_is_tried(env, monkeypatch, server):
    www, base = server
    (www / "fake_model.bin").write_bytes(PAYLOAD)
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def garbage():
        c, _ = srv.accept()
        c.recv(1000)
        c.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        c.close()

    threading.Thread(target=garbage, daemon=True).start()
    bad = f"http://127.0.0.1:{srv.getsockname()[1]}/fake_model.bin"
    _payload_spec(monkeypatch, [bad, f"{base}/fake_model.bin"])
    assert W.resolve("fake_model", progress=False).read_bytes() == PAYLOAD
    srv.close()


def test_stale_part_files_are_adopted_or_removed(env, server, monkeypatch):
    www, base = server
    (www / "fake_model.bin").write_bytes(PAYLOAD)
    env.mkdir(parents=True)
    dead = []
    for n in (300_000, 100_000):  # part files of processes that are gone
        p = subprocess_pid_gone()
        (env / f".fake_model.bin.part-{p}").write_bytes(PAYLOAD[:n])
        dead.append(p)
    live = env / f".fake_model.bin.part-{os.getppid()}"  # a live process's download: left alone
    live.write_bytes(b"x")
    _payload_spec(monkeypatch, f"{base}/fake_model.bin")
    assert W.resolve("fake_model", progress=False).read_bytes() == PAYLOAD
    assert _Handler.requests == [("/fake_model.bin", "bytes=300000-")]  # the larger part was resumed
    assert leftovers(env) == sorted(["fake_model.bin", live.name])


def subprocess_pid_gone() -> int:
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_weights_download_carries_on_past_every_kind_of_failure(server, env, monkeypatch):
    www, base = server
    (www / "ok.bin").write_bytes(PAYLOAD)
    (www / "cut.bin").write_bytes(PAYLOAD)
    _Handler.faults["/cut.bin"] = ("truncate", 1000)
    specs = [W.WeightSpec(name=f"m_{i}", url=u, sha256=hashlib.sha256(PAYLOAD).hexdigest(), size=len(PAYLOAD),
                          licence="t", filename=f"m_{i}.bin", kind="pose2d", description="t")
             for i, u in enumerate([f"{base}/missing.bin", f"{base}/cut.bin", "http://127.0.0.1:9/x.bin",
                                    f"{base}/ok.bin"])]
    for s in specs:
        monkeypatch.setitem(W.MANIFEST, s.name, s)
    r, out = _cli(["weights", "download"] + [s.name for s in specs])
    assert r.exit_code == 3 and "Traceback" not in out
    assert out.count("error: cannot download") == 3 and "ok m_3" in out
    assert (env / "m_3.bin").read_bytes() == PAYLOAD


def test_prefix_checked_download_records_its_full_digest(server, env, monkeypatch):
    www, base = server
    (www / "fake_model.bin").write_bytes(PAYLOAD)
    fake_spec(monkeypatch, f"{base}/fake_model.bin", size=False, prefix=True)
    p = W.resolve("fake_model", progress=False)
    assert W.recorded_hashes(p)["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()
    # a later change that keeps the 8-digit prefix is impossible to make here, but any change is caught
    p.write_bytes(PAYLOAD[:-1] + b"!")
    with pytest.raises(WeightsError, match="checksum"):
        W.verify("fake_model")


# ------------------------------------------------------------------ the shipped lifter, the CLI
def _cli(args, **kw):
    from typer.testing import CliRunner

    from hotdemo.cli import app

    r = CliRunner().invoke(app, args, **kw)
    return r, re.sub(r"\x1b\[[0-9;]*m", "", r.output)


def test_weights_list_shows_the_shipped_lifter_with_its_sha256():
    from hotdemo.core.paths import bundled_lifter_path

    p = bundled_lifter_path()
    r, out = _cli(["weights", "list"], env={"COLUMNS": "100"})
    assert r.exit_code == 0, out
    assert "hot_mixste_h36m" in out and "lifter" in out
    # its full sha256, copyable in sha256sum format, equal to the file's
    assert f"{W.sha256_file(p)}  {p.name}" in out


def test_weights_verify_accepts_the_shipped_lifter_and_a_copy_of_it(tmp_path):
    from hotdemo.core.paths import bundled_lifter_path

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


def test_weights_list_labels_digests_recorded_on_first_download(server, env, monkeypatch, sdk_onnx):
    www, base = server
    data = sdk_zip(sdk_onnx)
    (www / ZIP_NAME).write_bytes(data)
    spec = zip_spec(monkeypatch, f"{base}/{ZIP_NAME}")
    r, out = _cli(["weights", "list"], env={"COLUMNS": "250"})
    assert r.exit_code == 0 and hashlib.sha256(sdk_onnx).hexdigest() not in out
    W.resolve("fake_zip", progress=False)
    r, out = _cli(["weights", "list"], env={"COLUMNS": "250"})
    assert r.exit_code == 0, out
    assert f"{hashlib.sha256(sdk_onnx).hexdigest()}  {spec.local_name}  # recorded on first download" in out
    assert f"{hashlib.sha256(data).hexdigest()}  {ZIP_NAME}  # recorded on first download" in out
    # the default 2D model's pins, from independent sources, are listed as pinned
    assert "9aeb635b83f86aea45cf45d85798f7eba1a162de8e0d721c44e54fe5eebaf47d  rtmpose-s_simcc" in out


def test_a_self_signed_https_server_is_a_certificate_error(tmp_path, env, monkeypatch):
    import shutil
    import ssl
    import subprocess

    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a self-signed certificate")
    key, crt = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(crt),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    www = tmp_path / "www"
    www.mkdir()
    (www / "fake_model.bin").write_bytes(PAYLOAD)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(www)))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(crt), str(key))
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    _Handler.faults, _Handler.requests = {}, []
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"https://127.0.0.1:{httpd.server_address[1]}/fake_model.bin"
        _payload_spec(monkeypatch, url)
        with pytest.raises(WeightsError) as ei:
            W.resolve("fake_model", progress=False)
        msg = str(ei.value)
        assert "certificate verify failed" in msg and "SSL_CERT_FILE" in msg and url in msg and "\n" not in msg
        # trusting the certificate (SSL_CERT_FILE, as the hint says) makes the same download work
        monkeypatch.setenv("SSL_CERT_FILE", str(crt))
        assert W.resolve("fake_model", progress=False).read_bytes() == PAYLOAD
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_server_that_never_answers_times_out_with_one_line(env, monkeypatch):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)  # accepts the connection, never replies
    url = f"http://127.0.0.1:{srv.getsockname()[1]}/fake_model.bin"
    spec = _payload_spec(monkeypatch, url)
    try:
        t = time.monotonic()
        with pytest.raises(WeightsError) as ei:
            W.fetch(spec, progress=False, timeout=0.5)
        assert time.monotonic() - t < 5
        assert "timed out" in str(ei.value) and url in str(ei.value) and "\n" not in str(ei.value)
    finally:
        srv.close()
