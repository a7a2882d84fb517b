"""Replace a file in one step: readers see the old content or the new, never half; a kill leaves no trace.

The new content is written beside the file under a hidden name carrying the writer's process id
(`.<name>.<pid>.partial`, ignored by git, so a refresh branch never commits one), flushed to disk,
given the old file's permissions and renamed over it. A writer that was killed cannot remove its
scratch file; the next write of the same file removes any whose process is gone.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

SUFFIX = ".partial"


def replace_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path)
    scratch = path.with_name(f".{path.name}.{os.getpid()}{SUFFIX}")
    try:
        with open(scratch, "wb") as sink:
            sink.write(data)
            sink.flush()
            os.fsync(sink.fileno())
        if path.exists():
            os.chmod(scratch, stat.S_IMODE(path.stat().st_mode))
        os.replace(scratch, path)
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise


def replace_text(path: Path, text: str) -> None:
    """replace_bytes of UTF-8 text, line ends as given."""
    replace_bytes(path, text.encode("utf-8"))


def remove_leftovers(path: Path) -> None:
    """Remove the scratch files of writers of `path` that no longer run."""
    for leftover in path.parent.glob(f".{path.name}.*{SUFFIX}"):
        pid = leftover.name[len(path.name) + 2 : -len(SUFFIX)]
        if pid.isdigit() and not running(int(pid)):
            leftover.unlink(missing_ok=True)


def running(pid: int) -> bool:
    if pid == os.getpid():
        return False  # an earlier write of this process that did not finish
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
