"""``hotdemo batch --ray``: the clips of a batch spread over a Ray cluster (:func:`run_on_ray`;
see :mod:`hotdemo.batch`)."""

from __future__ import annotations

import json
from typing import Any, Dict, Sequence

from hotdemo.batch import ClipResult, _Interrupted, _Job, process_clip
from hotdemo.core.errors import InputError

# ---------------------------------------------------------------- ray
_WORKER_CACHE: Dict[str, Any] = {}


def _ray_process(factory, config, job: _Job, fp: Dict[str, Any]) -> ClipResult:
    """Body of the Ray task: the pipeline is built once per worker process and cached."""
    key = json.dumps([getattr(factory, "__qualname__", str(factory)), fp], sort_keys=True, default=str)
    pipe = _WORKER_CACHE.get(key)
    if pipe is None:
        _WORKER_CACHE.clear()
        pipe = _WORKER_CACHE[key] = factory(config)
    try:
        return process_clip(pipe, job, fp)
    except _Interrupted as e:
        return e.result


def _ray_resources(config) -> Dict[str, float]:
    device = str(getattr(getattr(config, "runtime", config), "device", "auto") or "auto").lower()
    if device.startswith("cuda"):
        return {"num_cpus": 1, "num_gpus": 1}
    if device == "auto":
        import ray

        if ray.cluster_resources().get("GPU", 0) >= 1:
            return {"num_cpus": 1, "num_gpus": 1}
    return {"num_cpus": 1}


def run_on_ray(address: str, jobs: Sequence[_Job], config, fp, factory, record, n_workers, con) -> int:
    """Spread ``jobs`` over Ray; calls ``record(ClipResult)`` on the driver as clips finish.

    One clip per Ray task; tasks reuse their worker process, which keeps its loaded
    pipeline, so models are loaded once per worker. At most ``n_workers`` clips are in
    flight (default: one per CPU, or per GPU when the pipeline uses CUDA). Ctrl-C cancels
    the running tasks (each gets KeyboardInterrupt and discards its partial files), waits
    for them, and re-raises.
    """
    try:
        import ray
    except ImportError:
        raise InputError("--ray needs Ray; install it with pip install 'hotdemo[ray]'") from None
    started = False
    if not ray.is_initialized():
        kw: Dict[str, Any] = {"logging_level": "ERROR", "include_dashboard": False}
        try:
            if address in ("auto", "local"):
                ray.init(**kw)
            else:
                ray.init(address=address, **kw)
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise InputError(f"cannot connect to the Ray cluster at {address!r}: {e}") from None
        started = True
    try:
        res = _ray_resources(config)
        unit = "GPU" if "num_gpus" in res else "CPU"
        capacity = int(ray.cluster_resources().get(unit, 1))
        n = max(1, min(len(jobs), n_workers or capacity))
        if con:
            con.print(f"Ray: {n} worker{'s' if n != 1 else ''} ({unit}s in the cluster: {capacity})", highlight=False)
        task = ray.remote(max_calls=0, max_retries=0, **res)(_ray_process)
        cfg_ref = ray.put(config)
        pending = list(jobs)
        inflight: Dict[Any, _Job] = {}

        def submit() -> None:
            while pending and len(inflight) < n:
                j = pending.pop(0)
                inflight[task.remote(factory, cfg_ref, j, fp)] = j

        submit()
        try:
            while inflight:
                done, _ = ray.wait(list(inflight), num_returns=1)
                for ref in done:
                    j = inflight.pop(ref)
                    try:
                        r = ray.get(ref)
                    except Exception as e:  # worker died, pickling error, ...
                        msg = str(e).strip().splitlines()
                        r = ClipResult(j.rel_input, j.rel_output, status="failed",
                                       error=f"Ray task failed: {msg[-1] if msg else type(e).__name__}")
                    record(r)
                submit()
        except KeyboardInterrupt:
            for ref in inflight:
                ray.cancel(ref, force=False)
            for ref, j in inflight.items():
                try:
                    r = ray.get(ref, timeout=60)
                except Exception:  # cancelled / timed out
                    r = ClipResult(j.rel_input, j.rel_output, status="interrupted",
                                   error="stopped by Ctrl-C; partial outputs were discarded")
                record(r)
            raise
        return n
    finally:
        if started:
            ray.shutdown()


# ---------------------------------------------------------------- output
