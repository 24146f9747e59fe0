"""Slow readers and byte-at-a-time writers beside a fast client (rule 6 of docs/protocol.md).

A server that blocks on one client, or that serves its connections in an order that lets a slow
one hold the others up, delays the fast client here.
"""
from __future__ import annotations

import itertools
import statistics
import threading
import time

import pytest

from chapter.client import Client
from chapter.reference import answer
from chapter.sampling import record_figure

pytestmark = pytest.mark.rule(6)

SLOW_READERS = 4
TRICKLERS = 4


def slow_reader(address, stop: threading.Event, errors: list) -> None:
    """Owes itself a megabyte of answers and reads them a kilobyte every 20 ms."""
    try:
        with Client(address) as c:
            data = (b"slow reader " * 80 + b"\n") * 1000
            c.sock.setblocking(False)
            sent = 0
            while not stop.is_set():
                try:
                    sent += c.sock.send(data[sent:sent + 65536]) if sent < len(data) else 0
                except BlockingIOError:
                    pass
                try:
                    c.sock.recv(1024)
                except BlockingIOError:
                    pass
                stop.wait(0.02)
    except Exception as e:  # reported by the test, in its own thread
        errors.append(f"slow reader: {e!r}")


def trickler(address, stop: threading.Event, errors: list) -> None:
    """Sends its lines one byte every 2 ms, and checks every answer."""
    try:
        with Client(address) as c:
            line = b"one byte at a time\n"
            while not stop.is_set():
                for i in range(len(line)):
                    c.send(line[i:i + 1])
                    stop.wait(0.002)
                c.expect(answer(line, ended=False), timeout=5)
    except Exception as e:
        errors.append(f"trickler: {e!r}")


def round_trips(address, seconds: float) -> list[float]:
    """Round trips of a fast client, one after the other, for `seconds`."""
    times = []
    deadline = time.monotonic() + seconds
    with Client(address) as c:
        for i in itertools.count():
            if time.monotonic() > deadline:
                break
            line = b"fast %d\n" % i
            started = time.perf_counter()
            c.send(line)
            c.expect(answer(line, ended=False), timeout=5)
            times.append(time.perf_counter() - started)
    return times


def test_slow_readers_and_byte_at_a_time_writers_do_not_delay_a_fast_client(server, request):
    alone = round_trips(server.address, 0.3)
    stop, errors = threading.Event(), []
    threads = [threading.Thread(target=slow_reader, args=(server.address, stop, errors))
               for _ in range(SLOW_READERS)]
    threads += [threading.Thread(target=trickler, args=(server.address, stop, errors))
                for _ in range(TRICKLERS)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.3)  # let the slow clients get going before measuring
        beside = round_trips(server.address, 1.5)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
    assert errors == []
    median_alone, median_beside = statistics.median(alone), statistics.median(beside)
    record_figure(request.config, request.node.name, median_alone_ms=median_alone * 1000,
                  median_beside_ms=median_beside * 1000, worst_beside_ms=max(beside) * 1000)
    # Generous bounds: the test's own threads share the interpreter and the machine is shared.
    assert median_beside < 0.01, f"median round trip {median_beside * 1000:.1f} ms"
    assert max(beside) < 0.2, f"worst round trip {max(beside) * 1000:.0f} ms"
