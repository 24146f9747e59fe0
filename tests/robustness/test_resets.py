"""Peers that reset or vanish at every point of a conversation (rules 7 and 9).

A reset (RST, here from SO_LINGER 0) makes the server's next recv() or send() fail with
ECONNRESET or EPIPE; a server that does not ignore SIGPIPE dies of the latter. Whatever the
point, the server must keep serving, and release everything the connection held.
"""
from __future__ import annotations

import pytest

from chapter import procfs
from chapter.client import Client

pytestmark = pytest.mark.rule(7)

MEGABYTES_OWED = (b"m" * 1023 + b"\n") * 4096  # 4 MiB of lines


def before_sending(c: Client) -> None:
    c.reset()


def mid_line(c: Client) -> None:
    c.send(b"half a li")
    c.reset()


def mid_answer_with_megabytes_owed(c: Client) -> None:
    c.sock.setblocking(False)
    try:  # as much as the buffers take, without reading: the server owes megabytes
        for _ in range(64):
            c.sock.send(MEGABYTES_OWED)
    except BlockingIOError:
        pass
    c.sock.setblocking(True)
    c.recv_exactly(4096)  # the server is mid-answer
    c.reset()


def after_half_close(c: Client) -> None:
    c.send(b"one\ntwo\nthree")
    c.shutdown_write()
    c.reset()


def after_reading_part_of_the_answer(c: Client) -> None:
    c.send(b"x" * 100_000 + b"\n")
    c.recv_exactly(1000)
    c.reset()


def closing_with_answers_unread(c: Client) -> None:
    c.send(b"y" * 300_000 + b"\n")
    c.close()  # FIN, not RST: the server's sends then fail with EPIPE or ECONNRESET


POINTS = [before_sending, mid_line, mid_answer_with_megabytes_owed, after_half_close,
          after_reading_part_of_the_answer, closing_with_answers_unread]


@pytest.mark.parametrize("vanish", POINTS, ids=[p.__name__ for p in POINTS])
def test_peer_vanishing_leaves_the_server_serving_and_leaks_nothing(server, vanish):
    with Client(server.address) as warmup:  # the loop is up: its own descriptors exist
        warmup.send(b"w\n")
        warmup.expect(b"j\n")
    baseline = procfs.settled_fd_count(server.pid)
    for _ in range(10):
        vanish(Client(server.address))
        with Client(server.address) as c:  # between the vanishing ones, the server serves
            c.send(b"still here\n")
            c.expect(b"fgvyy urer\n", timeout=5)
    assert server.alive()
    released = procfs.wait_until(
        lambda: procfs.open_fds(server.pid) <= baseline and not procfs.children(server.pid), 5)
    assert released, procfs.unreleased(server.pid, baseline, "10 clients vanished")
