"""Output folders: the one way hotdemo opens a folder to write into.

``run`` and ``lift`` (and each clip of ``batch``, through ``run``) write through
:class:`OutputFolder`, with :func:`check_output_folder` as its early, side-effect-free check
(before any model is loaded); :func:`prepare_output_dir` creates and probes a plain folder
(``batch``'s output root, which holds only its report and the clips' folders). An
:class:`OutputFolder` gives one owner, one writer at a time, and outputs that appear together:

* **Owner.** After a run, ``hotdemo_run.json`` in the folder records the input (the video of
  ``run``, the keypoints file of ``lift``; its absolute path), the hotdemo version and the files
  the run wrote. A run of a *different* input into a folder that holds such a record
  (``run a/clip.mp4`` then ``run b/clip.mp4``, both defaulting to ``hotdemo_out/clip``; or
  ``lift a/x.npz -o out`` then ``lift b/x.npz -o out``) is refused unless ``overwrite`` is set.
* **Lock.** While a run writes the folder it holds an exclusive lock on ``.hotdemo.lock``
  (``flock``: released by the system if the process dies, so a crash leaves no stale lock);
  a second run into the same folder fails at once with a clear error.
* **Staging.** The run writes into a hidden ``.hotdemo-staging-*`` folder inside the output
  folder; :meth:`OutputFolder.commit` moves the files into place at the end (renames on one
  file system, with Ctrl-C held off for that moment) and removes the files of the previous
  run of the same input that this run did not write. On any failure or Ctrl-C the staging
  folder is deleted: the folder holds the previous run's outputs, untouched, or this run's,
  never a mix; a folder the run created is removed again if it is left empty. (A run killed
  outright, SIGKILL or power loss, leaves its staging folder; the next run there removes it.)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from typing import Iterator, List, Optional, Sequence

from hotdemo.core.errors import OutputError

RUN_RECORD = "hotdemo_run.json"
LOCK_NAME = ".hotdemo.lock"
STAGING_PREFIX = ".hotdemo-staging-"


def _same_file(a: str, b: Path) -> bool:
    try:
        return Path(a).resolve() == b.resolve()
    except OSError:
        return False


def read_record(out_dir: Path) -> Optional[dict]:
    """The run record of ``out_dir``, or None (absent or unreadable)."""
    try:
        rec = json.loads((Path(out_dir) / RUN_RECORD).read_text(encoding="utf-8"))
        return rec if isinstance(rec, dict) else None
    except (OSError, ValueError):
        return None


def check_owner(out_dir: Path, source: Path, overwrite: bool) -> None:
    """Raise OutputError if ``out_dir`` holds the outputs of another input (unless ``overwrite``)."""
    rec = read_record(out_dir)
    if overwrite or rec is None or not rec.get("input"):
        return
    if not _same_file(str(rec["input"]), Path(source)):
        raise OutputError(
            f"{out_dir} already holds the outputs of {rec['input']} (not {Path(source).resolve()}); "
            f"use --overwrite to replace them, or -o to choose another folder")


def _nearest_existing(path: Path) -> Path:
    p = path.absolute()
    while not p.exists() and p.parent != p:
        p = p.parent
    return p


def _make_folder(out_dir: Path) -> List[Path]:
    """Create ``out_dir`` and its missing parents; return the folders created, innermost first.

    OutputError (one line) when the path is a file or cannot be created."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"output path {out_dir} exists and is not a folder")
    missing = []
    p = out_dir.absolute()
    while not p.exists() and p.parent != p:
        missing.append(p)
        p = p.parent
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot write to output folder {out_dir}: {e.strerror or e}") from None
    return missing


def prepare_output_dir(out_dir) -> Path:
    """Create ``out_dir`` if needed and check that a file can be written there (``batch``'s
    output root). OutputError (one line) when the path is a file or the folder cannot be
    created or written."""
    out_dir = Path(out_dir)
    _make_folder(out_dir)
    try:
        fd, probe = tempfile.mkstemp(prefix=".hotdemo_write_test-", dir=out_dir)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise OutputError(f"cannot write to output folder {out_dir}: {e.strerror or e}") from None
    return out_dir


def check_output_folder(out_dir: Path, source: Path, *, overwrite: bool = False) -> None:
    """Early, side-effect-free check of an output folder (nothing is created).

    Raises OutputError when ``out_dir`` (or the folder it would be created in) is not a
    writable folder, holds another input's outputs, or another run is writing it now.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"output path {out_dir} exists and is not a folder")
    base = _nearest_existing(out_dir)
    if not base.is_dir():
        raise OutputError(f"cannot create output folder {out_dir}: {base} is not a folder")
    if not os.access(base, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write to output folder {out_dir}: permission denied ({base})")
    if out_dir.is_dir():
        check_owner(out_dir, source, overwrite)
        lock = _Lock(out_dir)
        if lock.try_acquire(create=False):
            lock.release(remove=False)


class _Lock:
    """Exclusive, non-blocking lock on ``out_dir/.hotdemo.lock`` (flock; msvcrt on Windows)."""

    def __init__(self, out_dir: Path):
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / LOCK_NAME
        self._fd: Optional[int] = None

    @staticmethod
    def _lock_fd(fd: int) -> bool:
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except ImportError:  # pragma: no cover - Windows
            import msvcrt

            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                return True
            except OSError:
                return False
        except OSError:
            return False

    def _holder(self) -> str:
        try:
            pid = self.path.read_text().strip()
            return f" (pid {pid})" if pid.isdigit() else ""
        except OSError:
            return ""

    def try_acquire(self, *, create: bool = True) -> bool:
        """Take the lock; OutputError if another process holds it. False if there is no lock
        file and ``create`` is False (nobody holds it)."""
        while True:
            flags = os.O_RDWR | (os.O_CREAT if create else 0)
            try:
                fd = os.open(self.path, flags, 0o644)
            except FileNotFoundError:
                return False
            except OSError as e:
                raise OutputError(f"cannot write to output folder {self.out_dir}: {e.strerror or e}") from None
            if not self._lock_fd(fd):
                os.close(fd)
                raise OutputError(
                    f"another hotdemo run{self._holder()} is writing to {self.out_dir}; wait for it to "
                    f"finish, or choose another folder with -o")
            try:  # the holder before us may have removed the file after we opened it: retry
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                if create:
                    os.ftruncate(fd, 0)
                    os.write(fd, str(os.getpid()).encode())
                return True
            os.close(fd)

    def release(self, *, remove: bool = True) -> None:
        if self._fd is None:
            return
        if remove:
            try:
                os.unlink(self.path)
            except OSError:
                pass
        os.close(self._fd)  # closing releases the lock
        self._fd = None


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) off for a short critical section; re-raise it afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got = []
    try:
        previous = signal.signal(signal.SIGINT, lambda *a: got.append(1))
    except ValueError:  # pragma: no cover - not in the main interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if got:
        raise KeyboardInterrupt


class OutputFolder:
    """Context manager around one run's writes into ``out_dir`` (see the module docstring).

    Writers write into :attr:`stage` under the final file names; :meth:`commit` moves them
    into ``out_dir`` and returns their final paths. Leaving the ``with`` block without a
    commit (an error, Ctrl-C) discards everything staged.
    """

    def __init__(self, out_dir: Path, source: Path, *, overwrite: bool = False):
        self.out_dir = Path(out_dir)
        self.source = Path(source)  # the input whose outputs these are (video or keypoints file)
        self.overwrite = overwrite
        self.stage: Optional[Path] = None
        self._created: List[Path] = []
        self._lock = _Lock(self.out_dir)
        self.committed = False

    def __enter__(self) -> "OutputFolder":
        self._created = _make_folder(self.out_dir)  # innermost first
        try:
            self._lock.try_acquire()
            check_owner(self.out_dir, self.source, self.overwrite)
            for old in self.out_dir.glob(STAGING_PREFIX + "*"):  # left by a killed run: we hold the lock
                shutil.rmtree(old, ignore_errors=True)
            self.stage = self.out_dir / f"{STAGING_PREFIX}{os.getpid()}-{threading.get_ident() % 100000}"
            try:
                self.stage.mkdir()
            except OSError as e:
                raise OutputError(f"cannot write to output folder {self.out_dir}: {e.strerror or e}") from None
        except BaseException:
            self._cleanup()
            raise
        return self

    def commit(self, staged: Sequence[Path]) -> List[Path]:
        """Move the staged files into place, record the run, drop the previous run's leftovers."""
        if self.stage is None:
            raise RuntimeError("OutputFolder is not open")
        from hotdemo import __version__
        from hotdemo.io.files import atomic_write_text

        names = [Path(p).name for p in staged]
        previous = read_record(self.out_dir) or {}
        old = [n for n in previous.get("outputs", []) if isinstance(n, str) and n not in names
               and "/" not in n and "\\" not in n and n not in (RUN_RECORD, LOCK_NAME)]
        record = {"input": str(self.source.resolve()), "hotdemo_version": __version__, "outputs": names}
        text = json.dumps(record, indent=2) + "\n"
        with _interrupts_deferred():
            try:
                for n in names:
                    os.replace(self.stage / n, self.out_dir / n)  # a move: each file was written atomically
                for n in old:
                    try:
                        (self.out_dir / n).unlink()
                    except FileNotFoundError:
                        pass
                atomic_write_text(self.out_dir / RUN_RECORD, text)
            except OSError as e:
                raise OutputError(f"cannot write to output folder {self.out_dir}: {e.strerror or e}") from None
            self.committed = True
        return [self.out_dir / n for n in names]

    def _cleanup(self) -> None:
        if self.stage is not None:
            shutil.rmtree(self.stage, ignore_errors=True)
            self.stage = None
        self._lock.release()
        for d in self._created:  # folders this run created, innermost first, if left empty
            try:
                d.rmdir()
            except OSError:
                break

    def __exit__(self, *exc) -> bool:
        if self.committed:
            self._created = []
        self._cleanup()
        return False
