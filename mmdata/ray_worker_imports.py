"""What Ray workers need to run the driver's extractors: the folders this process added to its
sys.path, passed on to the workers mmdata starts (`worker_runtime_env`), and a check, with one small
task, that a worker can receive an extractor (`_receive_on_a_worker`), so that a module the workers
cannot import stops the run with a clear error before Ray Data runs anything.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from mmdata.extractor_shipping import receive_extractor

log = logging.getLogger(__name__)


#: How to run an extractor whose state cannot reach Ray workers, besides moving it into its config.
RAY_STATE_HINT = "or run it in this process with the local executor (`--executor local -j 0`)"
#: Where an extractor's module must import for Ray workers (`cannot_receive_message`).
RAY_RECEIVE_HINT = ("on every node of the Ray cluster, at the same path (mmdata passes the folders of this "
                    "process's sys.path on to the Ray workers it starts); or use the local executor")
#: How long the check that a Ray worker can receive an extractor waits for one (a busy cluster may
#: have none free); past it, the run goes on unchecked.
RECEIVE_CHECK_TIMEOUT_S = 60.0


def worker_runtime_env(joining: bool) -> dict[str, Any] | None:
    """The runtime environment for Ray workers, when mmdata starts Ray (or joins a cluster, `joining`):
    `paths_added_here` first on their PYTHONPATH, the one they would have after. None when this process
    added no folder."""
    added = paths_added_here()
    if not added:
        return None
    # Ray expands ${PYTHONPATH} to the workers' own value; a value that is not set would leave an empty
    # entry, which Python reads as the current folder.
    inherited = ["${PYTHONPATH}"] if joining or os.environ.get("PYTHONPATH") else []
    return {"env_vars": {"PYTHONPATH": os.pathsep.join([*added, *inherited])}}


def paths_added_here() -> list[str]:
    """This process's sys.path folders that a fresh Python process started like it lacks: those added
    while it runs (by a recipe, for its `modules`; a script's `sys.path.append`; its own folder), as
    absolute paths, in sys.path order."""
    fresh = _fresh_sys_path()
    added: list[str] = []
    for entry in sys.path:
        path = os.path.abspath(entry) if entry else ""
        if path and path not in fresh and path not in added and os.path.exists(path):
            added.append(path)
    return added


def _fresh_sys_path() -> set[str]:
    """The sys.path of a fresh Python process of this interpreter and environment (~30 ms to start);
    where it cannot be started, this process's folders under its installation prefixes."""
    try:
        done = subprocess.run([sys.executable, "-c", "import json, sys; print(json.dumps(sys.path))"],
                              capture_output=True, text=True, timeout=60, check=True)
        return {os.path.abspath(entry) for entry in json.loads(done.stdout) if entry}
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        log.debug("cannot start a Python process to read its sys.path (%s); taking the installation's folders", e)
        prefixes = tuple(os.path.abspath(p) for p in {sys.prefix, sys.base_prefix, sys.exec_prefix})
        return {os.path.abspath(entry) for entry in sys.path if entry and os.path.abspath(entry).startswith(prefixes)}


def import_folder(module: str) -> str | None:
    """The sys.path folder `module` (imported in this process) was found in; None for a module
    without a file (built in, or defined in `__main__` of an interactive session)."""
    top = sys.modules.get(module.partition(".")[0])
    location = getattr(top, "__file__", None)
    if not location:
        return None
    folder = Path(location).resolve().parent
    return str(folder.parent if hasattr(top, "__path__") else folder)


def _receive_on_a_worker(payload: bytes) -> str | None:
    """Unpickle a pickled extractor in a Ray task; the error that stops it there, as text, or None
    (also when no worker takes the task within `RECEIVE_CHECK_TIMEOUT_S`)."""
    import ray
    import ray.exceptions

    task = _receiver().remote(payload)
    try:
        return ray.get(task, timeout=RECEIVE_CHECK_TIMEOUT_S)
    except ray.exceptions.GetTimeoutError:
        log.warning("no Ray worker took the check that it can import the extractor within %.0f s; going on "
                    "without it", RECEIVE_CHECK_TIMEOUT_S)
        ray.cancel(task, force=True)
        return None
    except ray.exceptions.RayError as e:  # the worker died unpickling it, or its runtime environment failed
        return _import_failure(e) or f"{type(e).__name__}: {_last_line(e)}"


@functools.cache
def _receiver() -> Any:
    """`mmdata.extractor_shipping.receive_extractor` as a Ray task: no CPU (it runs even on a busy cluster), no retry."""
    import ray

    return ray.remote(num_cpus=0, max_retries=0)(receive_extractor)


def _import_failure(error: BaseException) -> str | None:
    """The last `ImportError: ...` or `ModuleNotFoundError: ...` line in a Ray error's text (a worker
    that could not unpickle a task's function or arguments), or None."""
    lines = [line.strip() for line in str(error).splitlines()]
    found = [line for line in lines if line.startswith(("ModuleNotFoundError: ", "ImportError: "))]
    return found[-1] if found else None


def _last_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
