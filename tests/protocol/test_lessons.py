"""One claim of the chapter per test, measured on the stage it is about.

With tests/protocol/test_errata.py, these are the only tests that know which stage they talk to.
Each is marked stage_specific(only=[...]) or stage_specific(never=[...]) and runs only where its
claim applies.
"""
from __future__ import annotations

import pytest

from support import procfs
from support.client import Client


@pytest.mark.stage_specific(only=["02"])
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


@pytest.mark.stage_specific(only=["02"])
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
