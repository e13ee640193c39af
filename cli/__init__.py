"""The ``sl`` command line (installed as ``scalinglaws.cli``)."""

import os as _os

# One XLA CPU device per core, so NUTS chains run in parallel (scalinglaws._nuts); read when
# JAX creates its CPU backend, i.e. only if nothing has used JAX yet in this process.
if "xla_force_host_platform_device_count" not in _os.environ.get("XLA_FLAGS", ""):
    _cores = len(_os.sched_getaffinity(0)) if hasattr(_os, "sched_getaffinity") else _os.cpu_count()
    _os.environ["XLA_FLAGS"] = (
        _os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={_cores or 1}"
    ).strip()
