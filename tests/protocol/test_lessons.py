"""One claim of the chapter per test, measured on the IO model it is about: step 11 of
scripts/check, which holds anyone's server to a model's lessons with --model.

Each lesson is marked model(...) with the models it applies to (tests/stages.py gives each of
our stages its model; support/rules.py lists them). The few that check something only our
programs do (the backend libevent logs) are stage_specific.
"""
from __future__ import annotations

import re
import resource
import signal
import subprocess
import time

import pytest

from support import procfs
from support.client import Client
from support.reference import answer, rot13
from support.sampling import SANITIZED

FD_SETSIZE = 1024  # glibc's, fixed at compile time
WAITING = ("fork", "thread", "pool", "select", "event", "completion")  # every model but spin

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


def idle_cpu_seconds(server, clients: int = 10, seconds: float = 1.0) -> float:
    """CPU seconds the server (children included) uses in `seconds` with idle clients."""
    idle = [Client(server.address) for _ in range(clients)]
    try:
        for c in idle:  # make sure every connection is accepted and served before measuring
            c.send(b"hi\n")
            c.expect(b"uv\n")
        before = procfs.tree_cpu_seconds(server.pid)
        time.sleep(seconds)  # the measurement window itself, not a synchronisation
        return procfs.tree_cpu_seconds(server.pid) - before
    finally:
        for c in idle:
            c.close()


@pytest.mark.model("spin")
def test_spinning_server_burns_over_half_a_cpu_with_ten_idle_connections(server):
    used = idle_cpu_seconds(server)
    assert used > 0.5, f"03 used only {used:.2f} CPU-seconds in one idle second"


@pytest.mark.model(*WAITING)
def test_waiting_server_uses_almost_no_cpu_with_ten_idle_connections(server):
    used = idle_cpu_seconds(server)
    assert used < 0.05, f"{used:.3f} CPU-seconds in one idle second"


@pytest.mark.model(*WAITING)
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


def raise_own_descriptor_limit(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.fail(f"this machine allows {hard} descriptors per process; the test needs {needed}")
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    return needed


def answered(client: Client, line: bytes) -> bool:
    """True if `line` is answered; False if the server closed the connection instead."""
    try:
        client.send(line)
        got = client.recv_exactly(len(line), timeout=5)
    except (ConnectionResetError, BrokenPipeError):
        return False
    except AssertionError as e:
        if "before the connection closed" in str(e):
            return False
        raise
    assert got == answer(line, ended=False)
    return True


# 04, and libevent on its select backend (see common::can_watch): the fd_set stops at 1023.
@pytest.mark.model("select")
def test_select_based_server_refuses_descriptor_1024_and_keeps_serving(start_server, target):
    raise_own_descriptor_limit(2048)
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


@pytest.mark.model("event")
def test_event_driven_server_serves_2000_concurrent_connections(start_server):
    count = 2000
    raise_own_descriptor_limit(count + 200)
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


@pytest.mark.stage_specific(only=["05", "06"])
def test_libevent_server_logs_the_backend_the_environment_selects(stage, server):
    # Logged as the loop starts, just after the ready line: give it a moment to appear.
    logged = procfs.wait_until(lambda: f"with the {stage.backend} backend" in server.stderr(), 5)
    assert logged, server.stderr()
