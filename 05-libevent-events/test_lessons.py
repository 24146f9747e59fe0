"""05's lessons. An event-driven server serves thousands of connections, past select()'s
limit: held to every server of the event model (05, 06, 07; scripts/check --model event). And
ours log the backend libevent chose. Step 11 of scripts/check."""
from __future__ import annotations

import pytest

from chapter import procfs
from chapter.client import Client
from chapter.measure import raise_descriptor_limit
from chapter.reference import rot13

FD_SETSIZE = 1024  # glibc's: the event-driven server goes past it

pytestmark = pytest.mark.rule(11)


@pytest.mark.model("event")
def test_event_driven_server_serves_2000_concurrent_connections(start_server):
    count = 2000
    raise_descriptor_limit(count + 200)
    server = start_server(wrapper=["prlimit", f"--nofile={count + 200}", "--"])
    clients = []
    try:
        for n in range(count):
            clients.append(Client(server.address))
        for n, c in enumerate(clients):
            c.send(b"connection %d of %d\n" % (n, count))
        for n, c in enumerate(clients):
            c.expect(rot13(b"connection %d of %d\n" % (n, count)))
        assert max(procfs.fd_numbers(server.pid)) >= FD_SETSIZE  # past select()'s limit
    finally:
        for c in clients:
            c.close()


@pytest.mark.stage_specific(has="backends")  # every stage on libevent
def test_libevent_server_logs_the_backend_the_environment_selects(stage, server):
    # Logged as the loop starts, just after the ready line: give it a moment to appear.
    logged = procfs.wait_until(lambda: f"with the {stage.backend} backend" in server.stderr(), 5)
    assert logged, server.stderr()
