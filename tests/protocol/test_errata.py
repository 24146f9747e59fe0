"""Bugs of the book's programs that our port of one stage fixes, one test each.

The bugs every stage could have (dropped bytes, SIGPIPE, leaked descriptors, exit status) are
pinned by test_protocol.py for all stages at once; docs/ERRATA.md names the test for each entry.
"""
from __future__ import annotations

import os
import re
import subprocess

import pytest

from support import procfs
from support.client import Client
from support.reference import answer

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
@pytest.mark.stage_specific(only=["02"])
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


def heap_allocations(start_server, lines: int) -> int:
    """Runs the stage under valgrind for one client that sends `lines` short lines; returns the
    number of heap allocations valgrind counted over the server's whole life."""
    server = start_server(wrapper=["valgrind", "--tool=memcheck", "--trace-children=no"])
    data = b"sixteen bytes!!\n" * lines
    with Client(server.address) as c:
        assert c.exchange(data, timeout=120) == answer(data)
    server.stop(timeout=30)
    found = re.search(r"total heap usage: ([\d,]+) allocs", server.stderr())
    assert found, server.stderr()[-2000:]
    return int(found.group(1).replace(",", ""))


@pytest.mark.valgrind
@pytest.mark.stage_specific(only=["04", "05-epoll", "06-epoll", "07"])
def test_server_does_not_allocate_per_line(start_server):
    # The book's bufferevent version mallocs every line (evbuffer_readln): 20000 allocations
    # for 20000 lines. Ours must allocate far less than one per line.
    few = heap_allocations(start_server, 100)
    many = heap_allocations(start_server, 20_100)
    assert (many - few) / 20_000 < 0.05, f"{many - few} allocations for 20000 more lines"
