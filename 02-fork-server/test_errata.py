"""Bugs of the book's fork server (02) that our port fixes, one test each (docs/ERRATA.md cites
them). Those of the fork model hold any fork server to the fix (scripts/check --model fork);
reading in chunks holds every blocking model (fork, thread, pool); a failed fork is about our
02 alone. The bugs every stage could have are pinned by tests/protocol for all stages at once."""
from __future__ import annotations

import os
import re
import subprocess

import pytest

from chapter import procfs
from chapter.client import Client

pytestmark = pytest.mark.rule(11)


def socket_fds(pid: int) -> list[str]:
    """The socket descriptors of `pid`, as /proc shows them: 'socket:[inode]'."""
    found = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue
        if target.startswith("socket:"):
            found.append(target)
    return found


@pytest.mark.model("fork")
def test_fork_child_holds_only_its_client_socket_and_parent_keeps_none(server):
    parent_sockets = socket_fds(server.pid)
    with Client(server.address) as c:
        c.send(b"x\n")
        c.expect(b"k\n")
        (child,) = procfs.children(server.pid)
        # The book's child inherits the listener; the book's parent keeps every client socket.
        assert len(socket_fds(child)) == 1, socket_fds(child)
        # The parent closes its copy after fork() returns, which may come after the child has
        # answered (a slow build makes that likely): give it a bounded moment.
        procfs.wait_until(lambda: socket_fds(server.pid) == parent_sockets, 5)
        assert socket_fds(server.pid) == parent_sockets


def traced(pid: int) -> bool:
    with open(f"/proc/{pid}/status") as f:
        return any(l.startswith("TracerPid:") and l.split()[1] != "0" for l in f)


@pytest.mark.model("fork", "thread", "pool")
def test_blocking_server_reads_in_chunks_not_one_byte_per_recv(server):
    # Attach strace to the server (and, with -f, the children it forks or the threads it
    # starts); count receive calls.
    strace = subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=recvfrom,recvmsg,read",
                               "-p", str(server.pid)], stderr=subprocess.PIPE, text=True)
    try:
        assert procfs.wait_until(lambda: traced(server.pid), 5), "strace did not attach"
        data = (b"a" * 1023 + b"\n") * 64
        with Client(server.address) as c:
            assert c.exchange(data, timeout=30) == (b"n" * 1023 + b"\n") * 64
    finally:
        strace.terminate()
        _, err = strace.communicate(timeout=10)
    calls = [l for l in err.splitlines() if re.search(r"\b(recvfrom|recvmsg|read)\(", l)]
    # The book's child makes one recv() per byte: 65536 calls here.
    assert 0 < len(calls) < 200, f"{len(calls)} receive calls for 64 KiB"


@pytest.mark.rule(8)
@pytest.mark.stage_specific()  # this directory's stage: 02
def test_failed_fork_closes_that_connection_and_the_server_goes_on(start_server):
    # As an unprivileged user limited to 3 processes, the server can fork only two children.
    server = start_server(wrapper=["prlimit", "--nproc=3", "--", "setpriv", "--reuid=nobody",
                                   "--regid=nogroup", "--clear-groups", "--"])
    served = [Client(server.address) for _ in range(2)]
    for c in served:
        c.send(b"in\n")
        c.expect(b"va\n")
    with Client(server.address) as refused:
        refused.expect_closed_by_server(timeout=5)  # closed at once, not left hanging
    assert "fork: Resource temporarily unavailable" in server.stderr()
    for c in served:
        c.close()
    # Once the children are gone, forks succeed again.
    assert procfs.wait_until(lambda: not procfs.children(server.pid), 3)
    with Client(server.address) as c:
        c.send(b"again\n")
        c.expect(b"ntnva\n")
