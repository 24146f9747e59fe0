"""Ctrl-C during the tour (chapter/tour.py): it stops every server it started, says so in one
line, prints no traceback, and exits 130.

A terminal's Ctrl-C sends SIGINT to the whole foreground process group, the servers included;
a `kill -INT` reaches the tour alone, which must then stop its servers itself. Both are tried,
while the first server stage's server is running.
"""
from __future__ import annotations

import os
import signal
import subprocess

import pytest

from chapter import procfs, stages
from chapter.tour import TEXT

STAGE = stages.servers()[0]
STARTED = f"$ {STAGE.directory} --port 0"


def cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


@pytest.mark.parametrize("to_whom", ["process_group", "tour_only"])
def test_ctrl_c_stops_the_servers_says_so_in_one_line_and_exits_130(bin_dir, to_whom):
    tour = subprocess.Popen(
        ["/usr/bin/python3", "-P", "-m", "chapter.tour", "--stage", STAGE.key,
         "--build-dir", str(bin_dir.parent)], env={**os.environ, "PYTHONPATH": str(stages.REPO)},
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True)  # its own process group, as a shell gives a job
    try:
        shown = []
        for line in tour.stdout:
            shown.append(line.decode(errors="replace"))
            if STARTED in shown[-1]:
                break
        else:
            pytest.fail(f"the tour ended before starting {STAGE.key}'s server: {''.join(shown)}")
        servers = {pid: cmdline(pid) for pid in procfs.children(tour.pid)}
        assert servers, "the tour shows a running server but has no child process"
        if to_whom == "process_group":
            os.killpg(tour.pid, signal.SIGINT)
        else:
            tour.send_signal(signal.SIGINT)
        out, err = tour.communicate(timeout=30)
    finally:
        if tour.poll() is None:
            tour.kill()
            tour.wait()

    lines = [l for l in ("".join(shown) + out.decode(errors="replace")).splitlines() if l]
    message = TEXT["en"]["interrupted"]
    assert tour.returncode == 130, (f"exit {tour.returncode}; stdout ends {lines[-5:]}; stderr "
                                    f"ends {err.decode(errors='replace')[-1500:]}")
    assert lines[-1] == message, f"last line {lines[-1]!r}, not {message!r}"
    assert lines.count(message) == 1
    assert "Traceback" not in err.decode(errors="replace"), err.decode(errors="replace")
    # The servers are stopped, not left running (a pid reused since would show another command).
    left = [pid for pid, command in servers.items()
            if procfs.wait_until(lambda: cmdline(pid) != command, 5) is False]
    assert not left, f"still running after the tour exited: {[servers[p] for p in left]}"
