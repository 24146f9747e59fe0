"""02b's lessons, held to every server of the thread model (scripts/check --model thread): a
thread per connected client, each with a stack reserved and little of it touched. Step 11 of
scripts/check."""
from __future__ import annotations

import pytest

from chapter import procfs
from chapter.client import Client
from chapter.sampling import SANITIZED

pytestmark = pytest.mark.rule(11)


@pytest.mark.model("thread")
def test_thread_server_runs_one_thread_per_connected_client(server):
    clients = []
    for n in range(1, 6):
        clients.append(Client(server.address))
        clients[-1].send(b"client %d\n" % n)
        clients[-1].expect(b"pyvrag %d\n" % n)
        assert len(procfs.threads(server.pid)) == n  # besides the main thread
    assert procfs.children(server.pid) == []  # threads of one process, not processes
    for c in clients:
        c.close()
    # The main thread joins finished workers after each accept timeout (250 ms).
    joined = procfs.wait_until(lambda: not procfs.threads(server.pid), timeout=3)
    assert joined, f"threads left: {procfs.threads(server.pid)}"


@pytest.mark.model("thread")
def test_thread_server_reserves_a_stack_per_idle_connection_but_touches_little(server):
    # The chapter's "you cannot create as many threads as you like", in numbers: each thread
    # reserves a stack (8 MiB of address space by default) of which only the touched pages
    # become resident. Loose bounds: the point is the gap between the two.
    count = 50
    vm_before = procfs.status_number(server.pid, "VmSize")
    rss_before = procfs.status_number(server.pid, "VmRSS")
    clients = [Client(server.address) for _ in range(count)]
    try:
        for c in clients:
            c.send(b"hi\n")
            c.expect(b"uv\n")
        assert procfs.wait_until(lambda: len(procfs.threads(server.pid)) == count, timeout=3)
        vm_each = (procfs.status_number(server.pid, "VmSize") - vm_before) / count
        rss_each = (procfs.status_number(server.pid, "VmRSS") - rss_before) / count
        print(f"02b: per idle connection, {vm_each:.0f} KiB reserved, {rss_each:.0f} KiB resident")
        assert vm_each >= 1024, f"only {vm_each:.0f} KiB of address space per thread"
        # Sanitizers give every thread shadow memory and fake stacks of their own.
        assert rss_each < (1024 if SANITIZED else 256), f"{rss_each:.0f} KiB resident per thread"
    finally:
        for c in clients:
            c.close()
