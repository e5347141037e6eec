"""Downloading a weights file: each of its URLs in turn (publisher, then mirrors), streamed to a
hidden part file that a later try resumes with an HTTP ``Range`` request, verified before it is
renamed into place, under an overall deadline; every failure classified into one short reason
and a hint (:func:`fetch`)."""

from __future__ import annotations

import errno
import http.client
import os
import re
import socket
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from hotdemo.core.errors import WeightsError
from hotdemo.io.weights.manifest import PathLike, WeightSpec, weights_cache_dir
from hotdemo.io.weights.checks import _CHUNK, _write_record, sha256_file, unpack

#: seconds without a byte before a connection or read gives up (each URL)
READ_TIMEOUT = 30.0
#: seconds one file's download may take in all, every URL together (``$HOTDEMO_DOWNLOAD_DEADLINE``)
DEFAULT_DEADLINE = 1800.0
#: a part file older than this is stale even if its process id is in use again
_STALE_PART_SECONDS = 24 * 3600


class _Failed(Exception):
    """One URL failed: ``reason`` for the message, ``kind`` (offline / certificate / server /
    checksum / deadline) for the hint."""

    def __init__(self, reason: str, kind: str):
        super().__init__(reason)
        self.reason, self.kind = reason, kind


_HINTS = {
    "offline": "no network? Offline, download it on another machine and put it in {dir} "
               "(or in a folder given by --weights-dir / $HOTDEMO_WEIGHTS_DIR)",
    "certificate": "the server's TLS certificate could not be verified (a proxy that inspects traffic, or an old "
                   "CA bundle?): point SSL_CERT_FILE at your CA bundle, or download it by hand into {dir}",
    "server": "the server failed; run the command again later (a partial download is kept and resumed), "
              "or download it by hand into {dir}",
    "deadline": "the download is too slow; run the command again to resume it (or raise "
                "$HOTDEMO_DOWNLOAD_DEADLINE, in seconds), or download it by hand into {dir}",
    "checksum": "the server sent a different file; report it, or download it by hand into {dir}",
}


def _classify(e: BaseException) -> _Failed:
    """A network failure (urllib, http.client, ssl, socket) as one short reason and a kind."""
    if isinstance(e, _Failed):
        return e
    if isinstance(e, urllib.error.HTTPError):
        return _Failed(f"HTTP {e.code} {e.reason}", "server")
    inner = getattr(e, "reason", None) if isinstance(e, urllib.error.URLError) else e
    if isinstance(inner, ssl.SSLCertVerificationError):
        return _Failed(f"certificate verify failed: {inner.verify_message or inner}", "certificate")
    if isinstance(inner, ssl.SSLError):
        return _Failed(f"TLS error: {inner.reason or inner}", "server")
    if isinstance(inner, (socket.timeout, TimeoutError)):
        return _Failed("timed out waiting for the server", "offline" if isinstance(e, urllib.error.URLError) else "server")
    if isinstance(inner, socket.gaierror):
        return _Failed(f"cannot resolve the host name ({inner.strerror or inner})", "offline")
    if isinstance(e, http.client.IncompleteRead):
        return _Failed(f"the body was cut short ({len(e.partial)} bytes of a chunk or body read, "
                       f"{e.expected if e.expected is not None else '?'} more expected)", "server")
    if isinstance(e, http.client.RemoteDisconnected):
        return _Failed("the server closed the connection without a reply", "server")
    if isinstance(e, http.client.BadStatusLine):
        return _Failed(f"not an HTTP reply ({str(e)[:40] or 'empty'})", "server")
    if isinstance(e, http.client.HTTPException):
        return _Failed(f"broken HTTP reply ({type(e).__name__}: {str(e)[:60]})", "server")
    if isinstance(inner, (ConnectionRefusedError, ConnectionAbortedError)) and isinstance(e, urllib.error.URLError):
        return _Failed("connection refused", "offline")
    if isinstance(inner, ConnectionResetError):
        return _Failed("the connection was reset", "server")
    if isinstance(inner, OSError) and inner.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN):
        return _Failed(inner.strerror or "network unreachable", "offline")
    if isinstance(inner, OSError):
        return _Failed(f"{inner.strerror or inner}", "offline" if isinstance(e, urllib.error.URLError) else "server")
    return _Failed(str(inner or e) or type(e).__name__, "server")


def _part_pid(p: Path) -> Optional[int]:
    m = re.search(r"\.part-(\d+)$", p.name)
    return int(m.group(1)) if m else None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    except OSError:
        return False
    return True


def _claim_part(dest_dir: Path, filename: str) -> Path:
    """This process's part file for ``filename``: the largest stale part file (of a process that is
    gone, or older than a day) is taken over to be resumed; the other stale ones are removed. Part
    files of live processes (a download in progress elsewhere) are left alone."""
    mine = dest_dir / f".{filename}.part-{os.getpid()}"
    now = time.time()
    stale = []
    for p in dest_dir.glob(f".{glob_escape(filename)}.part-*"):
        pid = _part_pid(p)
        if p == mine or pid is None:
            continue
        try:
            old = now - p.stat().st_mtime > _STALE_PART_SECONDS
        except OSError:
            continue
        if old or not _alive(pid):
            stale.append(p)
    stale.sort(key=lambda p: p.stat().st_size if p.exists() else -1, reverse=True)
    if stale and not mine.exists():
        try:
            os.replace(stale.pop(0), mine)
        except OSError:
            pass
    for p in stale:
        try:
            p.unlink()
        except OSError:
            pass
    return mine


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def _deadline_from_env() -> float:
    try:
        return float(os.environ.get("HOTDEMO_DOWNLOAD_DEADLINE", DEFAULT_DEADLINE))
    except ValueError:
        return DEFAULT_DEADLINE


def _download_to(url: str, part: Path, *, timeout: float, until: float, total_hint: Optional[int],
                 progress: bool, label: str) -> None:
    """Append ``url``'s body to ``part``, resuming from its size with a Range request (a server that
    answers 200 sends it whole: the part starts again). Raises :class:`_Failed`."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "hotdemo-weights/2"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                      timeout=max(0.1, min(timeout, until - time.monotonic())))
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # the part is complete or not of this file: start again
            part.unlink()
            return _download_to(url, part, timeout=timeout, until=until, total_hint=total_hint,
                                progress=progress, label=label)
        raise _classify(e) from None
    except Exception as e:  # URLError, ssl, socket, http.client
        raise _classify(e) from None
    with resp:
        status = getattr(resp, "status", 200)
        start = 0
        if have and status == 206:
            m = re.match(r"bytes (\d+)-", resp.headers.get("Content-Range", ""))
            start = int(m.group(1)) if m else -1
            if start != have:
                raise _Failed(f"the server resumed at byte {start}, not {have}", "server")
        length = resp.headers.get("Content-Length")
        total = total_hint or ((int(length) + start) if length and length.isdigit() else None)
        expect = int(length) if length and length.isdigit() else None
        got = 0
        with open(part, "ab" if start else "wb") as out, _progress_bar(progress, label, total) as advance:
            advance(start)
            while True:
                if time.monotonic() > until:
                    raise _Failed("the overall download deadline passed", "deadline")
                try:
                    chunk = resp.read(_CHUNK)
                except Exception as e:  # IncompleteRead, reset, timeout, TLS
                    if isinstance(e, http.client.IncompleteRead):  # what did arrive is kept, to be resumed
                        arrived = e.partial or b""
                        if isinstance(e.__cause__, http.client.IncompleteRead):  # a chunked body's last chunk
                            arrived += e.__cause__.partial or b""
                        out.write(arrived)
                        got += len(arrived)
                    raise _classify(e) from None
                if not chunk:
                    if expect is not None and got < expect:
                        raise _Failed(f"the body was cut short ({got} of {expect} bytes)", "server")
                    break
                out.write(chunk)
                got += len(chunk)
                advance(len(chunk))


def fetch(spec: WeightSpec, dest_dir: Optional[PathLike] = None, *, progress: bool = True,
          timeout: float = READ_TIMEOUT, deadline: Optional[float] = None) -> Path:
    """Download ``spec`` into ``dest_dir`` (default: the cache) from each of its URLs in turn until one
    gives a file that passes its size and checksum checks (:mod:`hotdemo.io.weights`); returns its path (for
    an archive: the checked, unpacked member; the zip itself is not kept).

    The body goes to a hidden part file, renamed into place only when verified. A transfer that
    broke off keeps the part file, and the next URL (or the next run) resumes it; a part that fails
    its check is removed. ``timeout``: seconds without data (each request); ``deadline``: seconds
    for the whole file (default ``$HOTDEMO_DOWNLOAD_DEADLINE`` or 30 minutes). Raises one
    :class:`WeightsError` naming the file, each URL tried and why, with a hint; its ``reason``
    attribute is the short form (for :func:`ensure_local`)."""
    dest_dir = Path(dest_dir) if dest_dir is not None else weights_cache_dir()
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WeightsError(f"cannot create the weights folder {dest_dir}: {e.strerror or e}") from None
    if not os.access(dest_dir, os.W_OK):
        raise WeightsError(f"cannot write to the weights folder {dest_dir}; set $HOTDEMO_HOME to a writable folder")
    dest = dest_dir / spec.filename
    part = _claim_part(dest_dir, spec.filename)
    until = time.monotonic() + (deadline if deadline is not None else _deadline_from_env())
    tried: List[Tuple[str, _Failed]] = []
    for url in spec.urls:
        for attempt in (0, 1):  # a resumed part that fails its check is fetched again whole
            resumed = part.exists() and part.stat().st_size > 0
            try:
                _download_to(url, part, timeout=timeout, until=until, total_hint=spec.size, progress=progress,
                             label=spec.filename)
                _verify_download(part, spec)
                if spec.archive_member:  # what it holds is checked before it counts as downloaded
                    try:
                        unpacked = unpack(part, spec, dest_dir, archive_name=spec.filename)
                    except WeightsError as e:
                        raise _Failed(str(e).split(": ", 1)[-1].rsplit("; ", 1)[0], "checksum") from None
                    part.unlink(missing_ok=True)  # only the unpacked model is kept
                    return unpacked
            except _Failed as f:
                if f.kind == "checksum":
                    part.unlink(missing_ok=True)
                    if resumed and attempt == 0:
                        continue
                tried.append((url, f))
                break
            if not spec.full_hash and not spec.archive_member:
                _write_record(dest, [(sha256_file(part), dest.name)])
            os.replace(part, dest)
            return dest
        if tried and tried[-1][1].kind == "deadline":
            break
    what = "; ".join(f"{u} ({f.reason})" for u, f in tried)
    kind = tried[-1][1].kind if tried else "server"
    if any(f.kind == "certificate" for _, f in tried):
        kind = "certificate"
    e = WeightsError(f"cannot download {spec.filename}: {what}; {_HINTS[kind].format(dir=dest_dir)}")
    e.reason = "; ".join(f"{f.reason} from {u}" for u, f in tried)  # type: ignore[attr-defined]
    e.kind = kind  # type: ignore[attr-defined]
    raise e


def _verify_download(part: Path, spec: WeightSpec) -> None:
    n = part.stat().st_size  # the whole body arrived (_download_to returned): a mismatch is the wrong file
    if spec.size is not None and n != spec.size:
        raise _Failed(f"{n} bytes, expected {spec.size}", "checksum")
    if spec.sha256:
        digest = sha256_file(part)
        if not digest.startswith(spec.sha256.lower()):
            raise _Failed(f"sha256 {digest[:16]}..., expected {spec.sha256[:16]}...", "checksum")


class _progress_bar:
    """Context manager yielding ``advance(nbytes)``; a rich download bar when enabled."""

    def __init__(self, enabled: bool, label: str, total: Optional[int]):
        self.enabled, self.label, self.total = enabled, label, total
        self._p = None

    def __enter__(self) -> Callable[[int], None]:
        if not self.enabled:
            return lambda n: None
        from rich.console import Console
        from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                                   TransferSpeedColumn)

        self._p = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                           TransferSpeedColumn(), TimeRemainingColumn(), console=Console(stderr=True))
        self._p.__enter__()
        tid = self._p.add_task(f"downloading {self.label}", total=self.total)
        return lambda n: self._p.advance(tid, n)

    def __exit__(self, *exc):
        if self._p is not None:
            self._p.__exit__(*exc)
        return False

