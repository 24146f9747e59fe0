"""04's lessons. A server that waits for readiness sleeps while its clients are idle: held to
every model but spin (the waiting ones). select() stops at FD_SETSIZE: held to the select model,
04 and libevent on its select backend. Step 11 of scripts/check."""
from __future__ import annotations

import time

import pytest

from chapter import procfs
from chapter.client import Client
from chapter.measure import answered, idle_cpu_seconds, raise_descriptor_limit
from chapter.rules import WAITING_MODELS

FD_SETSIZE = 1024  # glibc's, fixed at compile time

pytestmark = pytest.mark.rule(11)


@pytest.mark.model(*WAITING_MODELS)
def test_waiting_server_uses_almost_no_cpu_with_ten_idle_connections(server):
    used = idle_cpu_seconds(server)
    assert used < 0.05, f"{used:.3f} CPU-seconds in one idle second"


@pytest.mark.model(*WAITING_MODELS)
def test_waiting_server_does_not_even_wake_while_its_clients_are_idle(server):
    # Stronger than the CPU test: a server that waits for readiness sleeps until something
    # happens, so ten idle clients cost it no wakeup at all. (02's parent, and 02b's and 02c's
    # main thread, wake four times a second by design, their accept timeout; the children or
    # threads that serve the clients must not.)
    idle = [Client(server.address) for _ in range(10)]
    try:
        for c in idle:
            c.send(b"hi\n")
            c.expect(b"uv\n")
        watched = procfs.children(server.pid) or procfs.threads(server.pid) or [server.pid]
        assert procfs.wait_until(lambda: all(procfs.state(p) == "S" for p in watched), 2)
        before = sum(procfs.context_switches(p) for p in watched)
        time.sleep(1.0)  # the measurement window
        woke = sum(procfs.context_switches(p) for p in watched) - before
        assert woke == 0, f"{woke} wakeups in one idle second ({len(watched)} processes)"
    finally:
        for c in idle:
            c.close()


# 04, and libevent on its select backend (see common::can_watch): the fd_set stops at 1023.
@pytest.mark.model("select")
def test_select_based_server_refuses_descriptor_1024_and_keeps_serving(start_server, target):
    raise_descriptor_limit(2048)
    server = start_server(wrapper=["prlimit", "--nofile=2048", "--"])
    clients, refused = [], None
    try:
        for n in range(1100):  # the server holds a few descriptors of its own: ~1020 fit
            c = Client(server.address)
            if not answered(c, b"client %d\n" % n):
                refused = c
                break
            clients.append(c)
        assert refused is not None, "1100 connections accepted: FD_SETSIZE was never reached"
        if target.stage is not None:
            assert (f"refusing a connection: descriptor {FD_SETSIZE} is past FD_SETSIZE"
                    in server.stderr())
        else:  # anyone's server: rule 8 asks for a line on stderr, in words of its own
            assert server.stderr().strip(), "the refusal was not logged on stderr"
        assert 1000 < len(clients) < FD_SETSIZE
        refused.close()
        for n, c in enumerate(clients):  # every connection it kept is still served
            assert answered(c, b"still %d\n" % n)
        for c in clients[:10]:  # after some leave, new connections are accepted again
            c.close()
        del clients[:10]
        def late_client_answered() -> bool:
            with Client(server.address) as late:  # refused while the server catches up
                return answered(late, b"late\n")
        assert procfs.wait_until(late_client_answered, 5)
    finally:
        for c in clients:
            c.close()
