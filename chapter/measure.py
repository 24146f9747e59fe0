"""Measurements of a running server that the lesson tests and the tour share: its CPU while its
clients are idle, its round trip, and the descriptors a crowd of clients needs."""
from __future__ import annotations

import resource
import time

from chapter import procfs
from chapter.client import Client
from chapter.reference import answer


def open_idle(address: tuple[str, int], count: int) -> list[Client]:
    """`count` connected clients that have each been answered once (so the server has really
    taken each), then stay quiet. The caller closes them."""
    clients = []
    try:
        for _ in range(count):
            clients.append(Client(address))
            clients[-1].send(b"hi\n")
        for c in clients:
            c.expect(b"uv\n", timeout=10)
    except BaseException:
        close_all(clients)
        raise
    return clients


def close_all(clients: list[Client]) -> None:
    for c in clients:
        c.close()


def idle_cpu_seconds(server, clients: int = 10, seconds: float = 1.0) -> float:
    """CPU seconds the server (children included) uses in `seconds` with `clients` idle
    clients connected (none: as it is)."""
    idle = open_idle(server.address, clients)
    try:
        before = procfs.tree_cpu_seconds(server.pid)
        time.sleep(seconds)  # the measurement window itself, not a synchronisation
        return procfs.tree_cpu_seconds(server.pid) - before
    finally:
        close_all(idle)


def round_trip_us(address: tuple[str, int], count: int = 400) -> float:
    """Median time for one short line to come back, in microseconds."""
    times = []
    with Client(address) as c:
        for _ in range(count):
            started = time.perf_counter()
            c.send(b"ping\n")
            c.expect(b"cvat\n", timeout=5)
            times.append(time.perf_counter() - started)
    times.sort()
    return times[len(times) // 2] * 1e6


def raise_descriptor_limit(needed: int) -> int:
    """Raises this process's descriptor limit to `needed` (clients are descriptors too);
    RuntimeError if the hard limit is lower."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise RuntimeError(f"this machine allows {hard} descriptors per process; {needed} are "
                           "needed")
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
