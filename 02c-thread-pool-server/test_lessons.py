"""02c's lessons, held to every server of the pool model (scripts/check --model pool): the
threads stay as many as the pool whatever the clients, and N idle clients starve client N+1.
Step 11 of scripts/check."""
from __future__ import annotations

import time

import pytest

from chapter import procfs
from chapter.client import Client

pytestmark = pytest.mark.rule(11)


@pytest.mark.model("pool")
def test_thread_pool_keeps_its_threads_whatever_the_number_of_clients(start_server):
    server = start_server(threads=3)
    assert procfs.wait_until(lambda: len(procfs.threads(server.pid)) == 3, timeout=2)
    clients = [Client(server.address) for _ in range(10)]
    try:
        for n, c in enumerate(clients[:3]):  # three are served; seven wait in the queue
            c.send(b"client %d\n" % n)
            c.expect(b"pyvrag %d\n" % n)
        assert len(procfs.threads(server.pid)) == 3
        assert procfs.children(server.pid) == []
    finally:
        for c in clients:
            c.close()


@pytest.mark.model("pool")
def test_thread_pool_starves_a_client_while_every_worker_holds_an_idle_one(start_server):
    # The pool's failure mode, and the reason event loops exist: a blocking worker belongs to
    # its client until that client leaves, even a client that says nothing.
    server = start_server(threads=2)
    idle = [Client(server.address) for _ in range(2)]
    try:
        for c in idle:  # each is being served: each holds a worker, blocked in recv()
            c.send(b"hi\n")
            c.expect(b"uv\n")
        with Client(server.address) as late:
            asked = time.monotonic()
            late.send(b"anyone?\n")
            assert late.recv_for(1.0) == b"", "answered while every worker was busy"
            idle[0].close()  # frees a worker, which takes the waiting client
            freed = time.monotonic()
            late.expect(b"nalbar?\n", timeout=2)
            answered_at = time.monotonic()
        waited, after_free = answered_at - asked, answered_at - freed
        print(f"02c --threads 2: the third client waited {waited:.2f} s for its answer, "
              f"{after_free * 1000:.1f} ms of it after a worker was freed")
        assert waited >= 1.0 and after_free < 0.5
    finally:
        for c in idle:
            c.close()
