"""The Python entry points the README named before the stage-wing layout still work: the old
module paths import the very modules that now live in the wings (with a DeprecationWarning naming
the new path), so code written against them, monkeypatching included, keeps working."""

from __future__ import annotations

import subprocess
import sys
import textwrap

#: old module -> names the README (up to session 14) told users to use from it
OLD_ENTRY_POINTS = {
    "hotdemo.models": ["load_lifter_model", "load_pose2d_model", "LIFTERS", "build_model"],
    "hotdemo.fileio": ["safe_torch_load", "atomic_write"],
    "hotdemo.bones": ["fit_bone_lengths"],
    "hotdemo.export": ["EXPORT_FORMATS", "load_export", "load_tracks2d", "read_csv", "load_keypoints"],
    "hotdemo.outdir": ["OutputFolder"],
    "hotdemo.device": ["onnx_session_options", "resolve_device"],
    "hotdemo.video": ["X264_PARAMS", "PIPE_FORMATS", "rgb_to_i420"],
    "hotdemo.bvh": ["read_bvh"],
    "hotdemo.viewer": ["read_viewer_data"],
    "hotdemo.angles": ["read_angles_csv", "joint_angles"],
    "hotdemo.trc": ["read_trc"],
    "hotdemo.checkpoint": ["read_lifter_checkpoint"],
    "hotdemo.lift": ["Lifter", "load_lifter"],
    "hotdemo.detect": ["build_detector"],
    "hotdemo.render": ["Renderer"],
    "hotdemo.pipeline": ["Pipeline", "PipelineConfig", "lift_and_export"],
    "hotdemo.train.errors2d": ["apply_error_model", "error_model_names"],
}


def test_old_entry_points_resolve_in_a_fresh_interpreter():
    code = textwrap.dedent(f"""
        import importlib, warnings
        entry = {OLD_ENTRY_POINTS!r}
        missing = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for mod, names in entry.items():
                m = importlib.import_module(mod)
                missing += [f"{{mod}}.{{n}}" for n in names if not hasattr(m, n)]
        assert not missing, missing
        moved = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning) and "moved to" in str(w.message)]
        assert any("hotdemo.export moved to hotdemo.io.formats.export" in m for m in moved), moved
        print("ok")
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stdout + r.stderr


def test_an_old_name_is_the_same_module_object():
    """Monkeypatching through the old name patches the code that runs."""
    import hotdemo.bones as old
    import hotdemo.models.hrnet as old_hrnet
    import hotdemo.pose2d.families.hrnet as new_hrnet
    import hotdemo.post.bones as new

    assert old is new and old_hrnet is new_hrnet
    assert new_hrnet.__spec__.name == "hotdemo.pose2d.families.hrnet"  # its own spec, not the alias's


def test_an_unknown_old_attribute_is_an_attribute_error():
    import hotdemo.models

    try:
        hotdemo.models.no_such_thing  # noqa: B018
    except AttributeError as e:
        assert "no_such_thing" in str(e)
    else:
        raise AssertionError("expected AttributeError")
