"""Old module paths, kept importable after the move to stage wings (``hotdemo.core``, ``.io``,
``.detect``, ``.pose2d``, ``.lift``, ``.post``, ``.render``).

``import hotdemo.export`` (or ``from hotdemo.bones import fit_bone_lengths``) gives the very
module that now lives at the new path (:data:`MOVED`), so monkeypatching either name patches
both. ``hotdemo.models`` held both families' loaders and is a small forwarding module. The
packages that replaced same-named modules (``hotdemo.lift``, ``.detect``, ``.render``) forward
their old attributes themselves (module ``__getattr__``). A :class:`DeprecationWarning` names the
new path.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings

#: old module -> the module that holds its code now
MOVED = {
    "hotdemo.types": "hotdemo.core.types",
    "hotdemo.skeletons": "hotdemo.core.skeletons",
    "hotdemo.camera": "hotdemo.core.camera",
    "hotdemo.errors": "hotdemo.core.errors",
    "hotdemo.paths": "hotdemo.core.paths",
    "hotdemo.device": "hotdemo.core.device",
    "hotdemo.synthetic": "hotdemo.core.synthetic",
    "hotdemo.fileio": "hotdemo.io.files",
    "hotdemo.video": "hotdemo.io.video",
    "hotdemo.weights": "hotdemo.io.weights",
    "hotdemo.outdir": "hotdemo.io.outdir",
    "hotdemo.onnx_export": "hotdemo.io.onnx_export",
    "hotdemo.export": "hotdemo.io.formats.export",
    "hotdemo.bvh": "hotdemo.io.formats.bvh",
    "hotdemo.gltf": "hotdemo.io.formats.gltf",
    "hotdemo.trc": "hotdemo.io.formats.trc",
    "hotdemo.viewer": "hotdemo.io.formats.viewer",
    "hotdemo.angles": "hotdemo.post.angles",
    "hotdemo.reproject": "hotdemo.post.reproject",
    "hotdemo.bones": "hotdemo.post.bones",
    "hotdemo.smooth": "hotdemo.post.smooth",
    "hotdemo.world": "hotdemo.post.world",
    "hotdemo.trajectory": "hotdemo.post.trajectory",
    "hotdemo.checkpoint": "hotdemo.lift.checkpoint",
    "hotdemo.track": "hotdemo.detect.track",
    "hotdemo.models.spec": "hotdemo.lift.spec",
    "hotdemo.models.mixste": "hotdemo.lift.families.mixste",
    "hotdemo.models.hot_mixste": "hotdemo.lift.families.hot_mixste",
    "hotdemo.models.motionbert": "hotdemo.lift.families.motionbert",
    "hotdemo.models.mhformer": "hotdemo.lift.families.mhformer",
    "hotdemo.models.layers": "hotdemo.lift.families.layers",
    "hotdemo.models.hrnet": "hotdemo.pose2d.families.hrnet",
    "hotdemo.models.simdr": "hotdemo.pose2d.families.simdr",
    "hotdemo.models.tokenpose": "hotdemo.pose2d.families.tokenpose",
    "hotdemo.models.rtmpose": "hotdemo.pose2d.families.rtmpose",
}
#: old modules whose names now come from several modules (searched in order)
MERGED = {"hotdemo.models": ("hotdemo.lift.registry", "hotdemo.pose2d.registry")}


def _warn(old: str, new: str) -> None:
    warnings.warn(f"{old} moved to {new}; the old name will go in a later release", DeprecationWarning,
                  stacklevel=4)


def forwarding_module(name: str, targets) -> types.ModuleType:
    """A module ``name`` whose attributes are looked up in ``targets`` (module names), in order."""
    mod = types.ModuleType(name, f"Moved: see {', '.join(targets)}.")
    mod.__path__ = []  # lets its old submodules (hotdemo.models.hrnet) be imported

    def __getattr__(attr):
        for t in targets:
            m = importlib.import_module(t)
            if hasattr(m, attr):
                return getattr(m, attr)
        raise AttributeError(f"module {name!r} has no attribute {attr!r}")

    mod.__getattr__ = __getattr__
    return mod


class _Loader(importlib.abc.Loader):
    def create_module(self, spec):
        if spec.name in MERGED:
            _warn(spec.name, " / ".join(MERGED[spec.name]))
            return forwarding_module(spec.name, MERGED[spec.name])
        _warn(spec.name, MOVED[spec.name])
        module = importlib.import_module(MOVED[spec.name])
        self._real_spec = module.__spec__
        return module

    def exec_module(self, module):
        # the import system stamped the old name's spec on the real module: give it its own back
        if getattr(self, "_real_spec", None) is not None:
            module.__spec__ = self._real_spec


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname in MOVED or fullname in MERGED:
            return importlib.util.spec_from_loader(fullname, _Loader())
        return None


def install() -> None:
    """Put the old-name finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())


def forward(package: str, module: str):
    """A module ``__getattr__`` for ``package`` that serves the names of ``module`` (the module
    the package replaced), imported on first use."""
    def __getattr__(attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        m = importlib.import_module(module)
        try:
            return getattr(m, attr)
        except AttributeError:
            raise AttributeError(f"module {package!r} has no attribute {attr!r}") from None
    return __getattr__
