"""Run a test server so that it stops, and its folder goes, when the test process that started it ends.

`WatchedServer(...)` starts this file as a watchdog process with a pipe on its stdin and keeps the
pipe's write end. The watchdog starts the server in a process group of its own and waits. End of
file on stdin means the test process closed the pipe or died, by any signal, SIGKILL included: the
kernel closes the pipe either way. The watchdog then stops the server's whole process group (the
stop signal, then SIGKILL after a grace period) and removes the server's folder.

Standard library only: the template's own tests run it too.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
CHECK_EVERY = 0.5  # seconds between checks that the test process is still there


class WatchedServer:
    """A server run by a watchdog: `stop()`, or the end of this process in any way, stops it and removes `folder`.

    Options: setup (commands run first, as the same user; each must succeed), cwd, env, user,
    group, stop_signal (default "SIGTERM"), stop_leader_only (send it to the server's first
    process only, default false), grace (seconds before SIGKILL, default 20).
    """

    def __init__(self, command: list[str], folder: Path, log: Path, **options) -> None:
        spec = {"command": command, "folder": str(folder), "log": str(log), **options}
        self.folder = Path(folder)
        # Its own session: a Ctrl-C in the terminal reaches the tests, and the watchdog cleans up after them.
        self.watchdog = subprocess.Popen([sys.executable, "-I", __file__], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, start_new_session=True)  # fmt: skip
        self.watchdog.stdin.write(json.dumps(spec).encode() + b"\n")
        self.watchdog.stdin.flush()
        answer = self.watchdog.stdout.readline().decode().split(maxsplit=1)
        if answer[:1] != ["started"]:
            self.stop()
            reason = json.loads(answer[1]) if answer[1:] else "its watchdog exited"
            raise RuntimeError(f"{command[0]} did not start: {reason}")
        self.pid, self.returncode = int(answer[1]), None

    def poll(self) -> int | None:
        """The server's exit code if it has exited on its own, else None."""
        if self.returncode is None and select.select([self.watchdog.stdout], [], [], 0)[0]:
            answer = self.watchdog.stdout.readline().decode().split()
            self.returncode = int(answer[1]) if answer[:1] == ["exited"] else -1
        return self.returncode

    def stop(self, timeout: float = 60) -> None:
        """Stop the server and remove its folder; return once both are done."""
        with contextlib.suppress(BrokenPipeError):
            self.watchdog.stdin.close()
        self.watchdog.wait(timeout)
        self.watchdog.stdout.close()


class Ended(Exception):
    """The watchdog itself was signalled: clean up now."""


def ended(signal_number: int, frame) -> None:
    for other in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(other, signal.SIG_IGN)  # a second signal must not interrupt the cleanup
    raise Ended(signal.Signals(signal_number).name)


def tell(message: str) -> None:
    """Write one line to the test process, if it still listens."""
    with contextlib.suppress(OSError):
        print(message, flush=True)


def adopt_orphans() -> None:
    """Become the parent of the server's orphaned workers (Linux), so they are reaped here, not left as zombies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def group_alive(group: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:  # collect exited children first: a zombie still counts
            pass
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member runs as another user and we are not root: it is still there
        return True
    return True


def wait_for_group(group: int, timeout: float) -> bool:
    """Wait until no process of the group is left; return whether none is."""
    deadline = time.monotonic() + timeout
    while group_alive(group):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def stop(server: subprocess.Popen, spec: dict) -> None:
    """Ask the server to stop, then kill whatever is left of its process group after the grace period."""
    stop_signal = signal.Signals[spec.get("stop_signal", "SIGTERM")]
    with contextlib.suppress(ProcessLookupError):
        if spec.get("stop_leader_only"):
            os.kill(server.pid, stop_signal)
        else:
            os.killpg(server.pid, stop_signal)
    if not wait_for_group(server.pid, spec.get("grace", 20)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        wait_for_group(server.pid, 10)


def wait_for_parent(parent: int, server: subprocess.Popen) -> None:
    """Block until stdin closes or the test process is gone; say once if the server exits first."""
    reported = False
    while True:
        if select.select([sys.stdin], [], [], CHECK_EVERY)[0] and not os.read(sys.stdin.fileno(), 4096):
            return
        if os.getppid() != parent:  # reparented: the test process died while a fork of it holds the pipe
            return
        if not reported and server.poll() is not None:
            tell(f"exited {server.returncode}")
            reported = True


def run(spec: dict, parent: int) -> None:
    owner = {key: spec[key] for key in ("user", "group") if spec.get(key)}
    where = {"cwd": spec.get("cwd"), "env": spec.get("env"), **owner}
    server = None
    try:
        with Path(spec["log"]).open("a") as log:
            for command in spec.get("setup", []):
                subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT, **where)
            server = subprocess.Popen(spec["command"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                      **where)  # fmt: skip
        tell(f"started {server.pid}")
        wait_for_parent(parent, server)
    except (Ended, OSError, subprocess.CalledProcessError) as error:
        with contextlib.suppress(OSError):
            error = f"{error}\n{Path(spec['log']).read_text(errors='replace')[-3000:]}"
        tell(f"failed {json.dumps(str(error))}")
    finally:
        if server is not None:
            stop(server, spec)
        shutil.rmtree(spec["folder"], ignore_errors=True)


def main() -> None:
    for signal_number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signal_number, ended)
    parent = os.getppid()
    adopt_orphans()
    line = sys.stdin.buffer.readline()
    if line:  # no line: the test process died before it could send one
        run(json.loads(line), parent)


if __name__ == "__main__":
    main()
