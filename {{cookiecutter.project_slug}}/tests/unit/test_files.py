"""Files are replaced in one step, keep their permissions, and a killed writer's scratch file goes away."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from {{ cookiecutter.package_name }}.loop import files


def test_a_file_is_replaced_with_its_permissions_and_nothing_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("old\n", encoding="utf-8")
    path.chmod(0o640)
    files.replace_text(path, "new\r\n")
    assert path.read_bytes() == b"new\r\n" and (path.stat().st_mode & 0o777) == 0o640
    assert [item.name for item in tmp_path.iterdir()] == ["params.yaml"]


def test_a_writer_killed_half_way_leaves_the_old_file_and_the_next_write_cleans_up(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"a\n1\n")
    writer = (
        "import os, sys, time\n"
        "from pathlib import Path\n"
        f"from {files.__name__} import replace_bytes\n"
        "real = os.replace\n"
        "def stuck(*args):\n"
        "    print('written', flush=True)\n"
        "    time.sleep(60)\n"
        "os.replace = stuck\n"
        "replace_bytes(Path(sys.argv[1]), b'a\\n2\\n')\n"
    )
    process = subprocess.Popen([sys.executable, "-c", writer, str(path)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "written"  # the new content is on disk, not yet renamed
    process.send_signal(signal.SIGKILL)
    process.wait()
    leftover = tmp_path / f".data.csv.{process.pid}.partial"
    assert leftover.read_bytes() == b"a\n2\n" and path.read_bytes() == b"a\n1\n"
    alive = tmp_path / f".data.csv.{os.getppid()}.partial"  # a writer that still runs is left alone
    alive.write_bytes(b"")
    files.replace_bytes(path, b"a\n3\n")
    assert path.read_bytes() == b"a\n3\n"
    assert sorted(item.name for item in tmp_path.iterdir()) == sorted(["data.csv", alive.name])
