"""02's lessons, held to every server of the fork model (scripts/check --model fork): a child
process per connected client, and none left behind. Step 11 of scripts/check."""
from __future__ import annotations

import pytest

from chapter import procfs
from chapter.client import Client

pytestmark = pytest.mark.rule(11)


@pytest.mark.model("fork")
def test_fork_server_runs_one_child_process_per_connected_client(server):
    clients = []
    for n in range(1, 6):
        clients.append(Client(server.address))
        clients[-1].send(b"client %d\n" % n)
        clients[-1].expect(b"pyvrag %d\n" % n)
        assert len(procfs.children(server.pid)) == n
    for c in clients:
        c.close()
    gone = procfs.wait_until(lambda: not procfs.children(server.pid), timeout=3)
    assert gone, f"children left: {procfs.children(server.pid)}"


@pytest.mark.model("fork")
def test_fork_server_leaves_no_zombies_after_clients_leave(server):
    for _ in range(3):
        clients = [Client(server.address) for _ in range(10)]
        for c in clients:
            c.send(b"bye\n")
            c.expect(b"olr\n")
            c.shutdown_write()
            assert c.recv_until_eof() == b""
            c.close()
    reaped = procfs.wait_until(lambda: not procfs.children(server.pid), timeout=3)
    assert reaped, f"zombies: {procfs.zombies(server.pid)}, children: {procfs.children(server.pid)}"
