"""Reaching Ray for the ray executor: joining a cluster (its auth token, an address probed before Ray
would wait for it without end, Ray's own wait bounded) and ending a Ray instance started here when this
process dies without shutting it down (the reaper).

Kept apart from `mmdata.ray_executor`, which plans and runs the work; nothing here imports Ray at import.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mmdata.errors import ConfigError

log = logging.getLogger(__name__)


def join_with_token(address: str | None) -> None:
    """Send the cluster's token when joining one: `ray start` turns token auth on when a token exists
    (~/.ray/auth_token, RAY_AUTH_TOKEN[_PATH]), but a driver joining with `ray.init(address=...)`
    sends it only when RAY_AUTH_MODE=token was set before `ray` was imported. A mode the user set
    is kept; a program that imported ray already sets it itself."""
    if address is None or "RAY_AUTH_MODE" in os.environ or "ray" in sys.modules:
        return
    if os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH") or (Path.home() / ".ray" / "auth_token").is_file():
        os.environ["RAY_AUTH_MODE"] = "token"


#: How long `probe_address` waits for a HOST:PORT to accept a TCP connection.
ADDRESS_PROBE_TIMEOUT_S = 5.0
#: Ray's own wait for a cluster's GCS (set for joining a cluster unless the user set them): each
#: connection step waits `RAY_py_gcs_connect_timeout_s`, once (`RAY_gcs_server_port_wait_time_s`
#: attempts), so an address that accepts TCP but is no Ray GCS fails in about 16 s. Ray's defaults
#: retry for many minutes, with the main thread inside Ray's C++ code, deaf to Ctrl-C and SIGTERM.
GCS_WAIT_SETTINGS = {"RAY_py_gcs_connect_timeout_s": "5", "RAY_gcs_server_port_wait_time_s": "1"}


def require_ray() -> None:
    """Raise where Ray is not installed (found without importing it, which takes a second).

    Raises:
        ConfigError: Ray is not installed, with the command that installs it.
    """
    import importlib.util

    if "ray" not in sys.modules and importlib.util.find_spec("ray") is None:
        raise ConfigError("the ray executor needs Ray Data, which is not installed; install it with "
                          "`pip install 'mmdata[ray]'` or use --executor local")


def cannot_connect(address: str | None, why: str) -> ConfigError:
    return ConfigError(
        f"cannot connect to a Ray cluster at address {address!r} ({why}); start one with `ray start --head`, "
        "pass --address auto|HOST:PORT, or omit --address to start Ray on this machine"
    )


def _host_and_port(address: str) -> tuple[str, int] | None:
    """(host, port) of a "HOST:PORT" address ("[::1]:6379" too); None for "auto" and other forms."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def probe_address(address: str) -> None:
    """Raise at once when nothing accepts a TCP connection at a HOST:PORT address: Ray would retry it
    without end inside its C++ code, where Ctrl-C and SIGTERM cannot reach the main thread.

    Raises:
        ConfigError: the host is unknown, or nothing answers at HOST:PORT within `ADDRESS_PROBE_TIMEOUT_S`.
    """
    import socket

    target = _host_and_port(address)
    if target is None:
        return
    try:
        with socket.create_connection(target, timeout=ADDRESS_PROBE_TIMEOUT_S):
            pass
    except OSError as e:
        raise cannot_connect(address, f"nothing answers at {target[0]}:{target[1]}: {e.strerror or e}") from None


@contextmanager
def bounding_gcs_wait(address: str | None) -> Iterator[None]:
    """While joining a cluster (`address` given), bound how long Ray waits for its GCS
    (`GCS_WAIT_SETTINGS`, read by Ray when it connects; values the user set are kept); the
    environment is put back afterwards, so that the processes this one starts later do not inherit them."""
    added = {} if address is None else {k: v for k, v in GCS_WAIT_SETTINGS.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def local_session_started_here() -> str | None:
    """The session folder of the Ray instance `ray.init` just started on this machine (its head);
    None when it joined one that was running (a cluster, `ray start`), which is not mmdata's to end."""
    try:
        from ray._private import worker as ray_worker

        node = ray_worker._global_node
        return node.get_session_dir_path() if node is not None and node.head else None
    except (ImportError, AttributeError) as e:  # another Ray version: no reaper, Ray's own clean-up only
        log.debug("cannot tell which Ray session was started here (%s); no reaper", e)
        return None


class Reaper:
    """A small process that ends the Ray instance this process started should this process die
    without shutting it down (SIGKILL, the OOM killer).

    Ray ends its GCS and raylet with the driver (the kernel's parent-death signal), but its agents
    (DashboardAgent, RuntimeEnvAgent) and idle workers, ~85 MB each, would live on for about 70 s.
    The reaper holds the read end of a pipe whose write end only this process holds: when it reads
    end-of-file, this process is gone (or released it after `ray.shutdown`), and it ends the Ray
    processes of that session (`_reap_ray_session`): SIGTERM, then SIGKILL after `REAP_GRACE_S`.
    """

    def __init__(self) -> None:
        self._write_end: int | None = None

    def watch(self, session_dir: str) -> None:
        """Start the reaper for the Ray session in `session_dir` (the one `ray.init` started here)."""
        import inspect

        self.release()
        read_end, write_end = os.pipe()  # not inheritable: Ray's processes do not get the write end
        program = (inspect.getsource(_reap_ray_session) + f"\n_reap_ray_session({read_end}, {session_dir!r}, "
                   f"{REAP_GRACE_S!r})\n")
        try:
            subprocess.Popen([sys.executable, "-I", "-c", program], pass_fds=(read_end,), start_new_session=True,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError as e:
            log.warning("cannot start the process that ends Ray should mmdata be killed (%s): after a kill, "
                        "Ray's agents and idle workers live on for about a minute", e)
            os.close(write_end)
            return
        finally:
            os.close(read_end)
        self._write_end = write_end

    def release(self) -> None:
        """Ray was shut down: the reaper ends (what is left of the session's processes) and exits."""
        if self._write_end is not None:
            os.close(self._write_end)
            self._write_end = None


#: Seconds the reaper gives Ray's processes to end on SIGTERM before it kills them.
REAP_GRACE_S = 2.0


def _reap_ray_session(pipe: int, session_dir: str, grace_s: float) -> None:
    """The reaper's program (run alone with `python -I -c`, so that it imports nothing of mmdata or Ray):
    wait for end-of-file on `pipe`, then end every Ray process that has a file open in `session_dir`
    (its logs) and whose command line is Ray's (`ray::...`, or a program under a `ray` folder), so that
    a user's `tail -f` on a log is spared; a pid reused since is checked anew before each signal."""
    import os
    import signal
    import time

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while os.read(pipe, 1):
        pass

    def session_processes() -> list[int]:
        found = []
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == os.getpid():
                continue
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    command = f.read().replace(b"\0", b" ").decode(errors="replace")
                if not (command.startswith("ray::") or "/ray/" in command):
                    continue
                for fd in os.listdir(f"/proc/{name}/fd"):
                    if os.readlink(f"/proc/{name}/fd/{fd}").startswith(session_dir + "/"):
                        found.append(int(name))
                        break
            except OSError:  # gone meanwhile, or not ours to read
                continue
        return found

    def signal_all(number: int) -> list[int]:
        pids = session_processes()
        for pid in pids:
            try:
                os.kill(pid, number)
            except OSError:
                pass
        return pids

    if not signal_all(signal.SIGTERM):
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and session_processes():
        time.sleep(0.1)
    signal_all(signal.SIGKILL)
