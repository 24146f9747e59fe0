"""08's lesson, held to every server of the completion model (scripts/check --model completion):
the kernel receives and sends, and the server makes no recv() or send() of its own. Step 11 of
scripts/check."""
from __future__ import annotations

import re
import signal
import subprocess

import pytest

from chapter import procfs
from chapter.client import Client
from chapter.reference import rot13

pytestmark = pytest.mark.rule(11)


@pytest.mark.model("completion")
def test_completion_server_makes_no_recv_or_send_calls_only_io_uring_enter(server):
    # Completion IO: the kernel receives and sends for us. Over 200 round trips, strace sees
    # io_uring_enter() and no recv()/send() of any kind (07 makes one of each per round trip).
    strace = subprocess.Popen(["strace", "-f", "-c", "-qq", "-p", str(server.pid)],
                              stderr=subprocess.PIPE, text=True)
    try:
        assert procfs.wait_until(lambda: procfs.status_number(server.pid, "TracerPid") != 0, 5)
        with Client(server.address) as c:
            for i in range(200):
                c.send(b"ping %d\n" % i)
                c.expect(rot13(b"ping %d\n" % i))
    finally:
        strace.send_signal(signal.SIGINT)  # strace -c prints its table when interrupted
        _, table = strace.communicate(timeout=10)
    # strace -c's rows: % time, seconds, usecs/call, calls, [errors], syscall.
    calls = {row.split()[-1]: int(row.split()[3])
             for row in table.splitlines() if re.match(r"^\s*\d", row)}
    assert calls.get("io_uring_enter", 0) >= 200, table
    io = {name: n for name, n in calls.items()
          if re.fullmatch(r"(recv|send)(from|to|msg|mmsg)?|read|write|readv|writev", name)}
    assert io == {}, table
