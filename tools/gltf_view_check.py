"""Load a hotdemo ``.glb`` in three.js inside headless Chromium, play it, and save a screenshot.

    python tools/gltf_view_check.py OUT.glb [--three DIR] [--png shot.png] [--time 2.0]

``--three``: a folder with ``node_modules/three`` (``npm install three``; default
``$HOTDEMO_NPM_DIR`` or ``~/.cache/hotdemo/npm``). The page (our own, written to a temporary
folder beside a copy of the .glb) is served on 127.0.0.1, loads the file with three.js's
GLTFLoader, plays the animation to ``--time`` seconds with an AnimationMixer, renders it, and
writes what it found into the page (``#result``: JSON with the skins' joint counts, the animation
duration, the skinned meshes' vertex counts and the world position of every ``*_head`` joint),
which Chromium's ``--dump-dom`` prints; then a second Chromium run saves the screenshot.
Prints the result JSON; exit 1 when the page did not load the file.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>hotdemo glTF check</title>
<style>body{margin:0;background:#202428}#result{position:absolute;left:8px;top:8px;color:#ddd;font:12px monospace}</style>
<script type="importmap">{"imports":{"three":"./node_modules/three/build/three.module.js",
"three/addons/":"./node_modules/three/examples/jsm/"}}</script></head><body><pre id="result">loading</pre>
<script type="module">
import * as THREE from 'three';
import {GLTFLoader} from 'three/addons/loaders/GLTFLoader.js';
const T = __TIME__;
const renderer = new THREE.WebGLRenderer({antialias: true, preserveDrawingBuffer: true});
renderer.setSize(innerWidth, innerHeight); document.body.appendChild(renderer.domElement);
const scene = new THREE.Scene(); scene.background = new THREE.Color(0x202428);
scene.add(new THREE.HemisphereLight(0xffffff, 0x444444, 2.5));
const sun = new THREE.DirectionalLight(0xffffff, 2); sun.position.set(3, 6, 4); scene.add(sun);
scene.add(new THREE.GridHelper(10, 20, 0x888888, 0x444444));
const camera = new THREE.PerspectiveCamera(40, innerWidth / innerHeight, 0.05, 100);
new GLTFLoader().load('model.glb', (gltf) => {
  scene.add(gltf.scene);
  const mixer = new THREE.AnimationMixer(gltf.scene);
  const clip = gltf.animations[0]; mixer.clipAction(clip).play(); mixer.setTime(T);
  gltf.scene.updateMatrixWorld(true);
  const heads = {}, skins = [], meshes = [];
  gltf.scene.traverse((o) => {
    if (o.isSkinnedMesh) { skins.push(o.skeleton.bones.length); meshes.push(o.geometry.attributes.position.count); }
    if (/_head$/.test(o.name)) { const p = new THREE.Vector3(); o.getWorldPosition(p); heads[o.name] = p.toArray(); }
  });
  const box = new THREE.Box3();
  for (const k in heads) box.expandByPoint(new THREE.Vector3(...heads[k]));
  const c = box.getCenter(new THREE.Vector3());
  camera.position.set(c.x + 2.5, 1.6, c.z + 4.5); camera.lookAt(c.x, 0.9, c.z);
  renderer.render(scene, camera);
  document.getElementById('result').textContent = JSON.stringify({ok: true, duration: clip.duration,
    tracks: clip.tracks.length, skins, meshes, heads, time: T});
}, undefined, (e) => { document.getElementById('result').textContent = JSON.stringify({ok: false, error: String(e)}); });
</script></body></html>"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    raise SystemExit("error: no chromium on PATH (Debian: apt-get install chromium)")


def check(glb: Path, three_dir: Path, png: Path = None, time_s: float = 2.0) -> dict:
    if not (three_dir / "node_modules" / "three" / "build" / "three.module.js").is_file():
        raise SystemExit(f"error: no node_modules/three in {three_dir} (npm install three there)")
    chrome = _chromium()
    with tempfile.TemporaryDirectory(prefix="hotdemo-gltf-") as tmp:
        root = Path(tmp)
        (root / "node_modules").symlink_to(three_dir / "node_modules")
        shutil.copy(glb, root / "model.glb")
        (root / "index.html").write_text(PAGE.replace("__TIME__", repr(float(time_s))))
        handler = functools.partial(type("Q", (http.server.SimpleHTTPRequestHandler,),
                                         {"log_message": lambda *a: None}), directory=str(root))
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{httpd.server_address[1]}/index.html"
        flags = ["--headless", "--no-sandbox", "--disable-gpu-sandbox", "--use-angle=swiftshader",
                 "--enable-unsafe-swiftshader", "--window-size=900,700", "--virtual-time-budget=15000",
                 f"--user-data-dir={root / 'profile'}"]
        try:
            dom = subprocess.run([chrome, *flags, "--dump-dom", url], capture_output=True, text=True,
                                 timeout=120).stdout
            if png is not None:
                subprocess.run([chrome, *flags, f"--screenshot={Path(png).resolve()}", url], capture_output=True,
                               timeout=120)
        finally:
            httpd.shutdown()
            httpd.server_close()
    m = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    text = m.group(1) if m else ""
    try:
        return json.loads(text.replace("&quot;", '"'))
    except ValueError:
        return {"ok": False, "error": f"the page did not finish: {text[:200]!r}"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("glb", type=Path)
    ap.add_argument("--three", type=Path, default=Path(os.environ.get("HOTDEMO_NPM_DIR",
                                                                       Path.home() / ".cache" / "hotdemo" / "npm")))
    ap.add_argument("--png", type=Path, default=None)
    ap.add_argument("--time", type=float, default=2.0)
    a = ap.parse_args()
    r = check(a.glb, a.three, a.png, a.time)
    print(json.dumps(r))
    return 0 if r.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
