"""docs/protocol.md, point by point, against every server stage (the registry's, chapter/stages.py),
and against any program scripts/check is given.

Each test starts the server on a port the tester picked, speaks raw bytes to it and compares the
answer byte for byte. No test knows which program it talks to: that is the point of the suite.
Each is marked with its rule (chapter/rules.py), the step of scripts/check it belongs to; the
payloads that are not the protocol's own examples are random, from the run's printed seed.
"""
from __future__ import annotations

import os
import signal
import socket
import threading
import time

import pytest

from chapter import payloads, procfs
from chapter.bytesdiff import assert_answer
from chapter.client import Client
from chapter.reference import MAX_LINE, answer, rot13
from chapter.server import exit_description
from chapter.target import alive_for_this_rule, on_this_machine


# Rule 1: output is the ROT13 of the input ------------------------------------------------------

@pytest.mark.rule(1)
def test_one_line_is_answered_with_its_rot13(server, rng):
    line = payloads.line(rng, 40) + b"\n"
    with Client(server.address) as c:
        c.send(line)
        c.expect(rot13(line))


@pytest.mark.rule(1)
def test_all_255_non_lf_byte_values_pass_through_rot13(server):
    line = bytes(b for b in range(256) if b != ord("\n")) + b"\n"
    with Client(server.address) as c:
        c.send(line)
        c.expect(rot13(line))


@pytest.mark.rule(1)
def test_cr_and_digits_are_unchanged(server):
    with Client(server.address) as c:
        c.send(b"GET /index.html 2026\r\n")
        c.expect(b"TRG /vaqrk.ugzy 2026\r\n")


# Rules 2 and 3: where a line ends, and long lines -------------------------------------------

@pytest.mark.rule(2)
def test_partial_line_is_not_answered_before_its_lf(server):
    with Client(server.address) as c:
        c.send(b"abc")
        assert c.recv_for(0.3) == b""
        c.send(b"def\n")
        c.expect(b"nopqrs\n")


@pytest.mark.rule(2)
def test_5000_pipelined_lines_in_one_send_are_answered_in_order(server, rng):
    lines = b"".join(b"line %d %s\n" % (i, payloads.word(rng)) for i in range(5000))
    with Client(server.address) as c:
        c.send(lines)
        c.expect(answer(lines, ended=False), timeout=30)


@pytest.mark.rule(2)
def test_byte_at_a_time_gives_the_same_answer_as_one_send(server, rng):
    data = b"".join(payloads.word(rng, rng.randrange(1, 12)) + b"\n" for _ in range(3))
    with Client(server.address) as c:
        for i in range(len(data)):
            c.send(data[i:i + 1])
        c.expect(answer(data, ended=False))


@pytest.mark.rule(3)
def test_40000_byte_line_is_split_every_16384_bytes(server):
    with Client(server.address) as c:
        c.send(b"a" * 40000 + b"\n")
        c.expect(b"n" * 16384 + b"\n" + b"n" * 16384 + b"\n" + b"n" * 7232 + b"\n")


@pytest.mark.rule(3)
def test_exactly_16384_bytes_then_lf_give_the_line_then_an_empty_line(server):
    with Client(server.address) as c:
        c.send(b"b" * MAX_LINE + b"\n")
        c.expect(b"o" * MAX_LINE + b"\n\n")


@pytest.mark.rule(3)
def test_16384_bytes_are_answered_without_waiting_for_lf(server):
    with Client(server.address) as c:
        c.send(b"c" * (MAX_LINE - 1))
        assert c.recv_for(0.2) == b""
        c.send(b"c")
        c.expect(b"p" * MAX_LINE + b"\n")


# Rule 4: end of input --------------------------------------------------------------------------

@pytest.mark.rule(4)
def test_half_close_answers_the_pending_line_without_lf_then_closes(server):
    # What `printf 'one\ntwo' | nc -N 127.0.0.1 PORT` does.
    with Client(server.address) as c:
        c.send(b"one\ntwo")
        c.shutdown_write()
        assert_answer(c.recv_until_eof(), b"bar\ngjb", sent=b"one\ntwo")


@pytest.mark.rule(4)
def test_partial_line_is_answered_at_end_of_input(server, rng):
    pending = payloads.line(rng, 30)
    with Client(server.address) as c:
        c.send(pending)
        c.shutdown_write()
        assert_answer(c.recv_until_eof(), rot13(pending), sent=pending)


@pytest.mark.rule(4)
def test_half_close_with_nothing_pending_just_closes(server):
    with Client(server.address) as c:
        c.send(b"done\n")
        c.expect(b"qbar\n")
        c.shutdown_write()
        assert_answer(c.recv_until_eof(), b"", sent=b"done\n")


@pytest.mark.rule(4)
def test_4_mib_with_half_close_arrive_intact(server):
    block = bytes(range(256)) * 16  # 4 KiB of every byte value, LFs included
    data = block * 1024 + b"tail without newline"
    with Client(server.address) as c:
        got = c.exchange(data, half_close=True, timeout=60)
    assert_answer(got, answer(data, ended=True), sent=data)


@pytest.mark.rule(4)
def test_long_lines_with_half_close_arrive_intact(server):
    data = (b"x" * 100_000 + b"\n") * 20 + b"y" * 50_000
    with Client(server.address) as c:
        got = c.exchange(data, half_close=True, timeout=60)
    assert_answer(got, answer(data, ended=True), sent=data)


# Rule 6: connections are independent -----------------------------------------------------------

@pytest.mark.rule(6)
def test_idle_client_does_not_delay_an_active_one(server, rng):
    started_line = payloads.line(rng, 32)
    with Client(server.address) as idle, Client(server.address) as active:
        idle.send(started_line)  # a line begun, then nothing: a blocking read would wait here
        for i in range(50):
            started = time.monotonic()
            ping = b"ping %d %s\n" % (i, payloads.word(rng))
            active.send(ping)
            active.expect(rot13(ping), timeout=2)
            took = time.monotonic() - started
            assert took < 1.0, f"one answer took {took:.2f} s beside an idle client"
        idle.send(b"\n")
        idle.expect(rot13(started_line + b"\n"))


@pytest.mark.rule(6)
def test_200_interleaved_clients_each_get_their_own_answers(server, rng):
    clients = [Client(server.address, name=f"client {i} of 200") for i in range(200)]
    try:
        for round_ in range(3):
            lines = [b"client %d round %d %s\n" % (i, round_, payloads.word(rng))
                     for i in range(len(clients))]
            for c, line in zip(clients, lines):
                c.send(line)
            for c, line in zip(clients, lines):
                c.expect(rot13(line))
    finally:
        for c in clients:
            c.close()


@pytest.mark.rule(6)
def test_clients_answered_concurrently_from_threads(server):
    errors = []

    def talk(n: int) -> None:
        try:
            # Whole lines only, and no half-close: this test is about rule 6, not rule 4.
            data = b"".join(b"thread %d line %d\n" % (n, i) for i in range(300))
            with Client(server.address, name=f"thread {n} of 20") as c:
                c.send(data)
                c.expect(answer(data), timeout=60)
        except Exception as e:  # collected and asserted below, in the test's own thread
            errors.append(str(e) if isinstance(e, AssertionError) else f"thread {n}: {e!r}")

    threads = [threading.Thread(target=talk, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert not any(t.is_alive() for t in threads)
    assert not errors, "\n".join(errors[:3])


# Rule 5: bounded output ------------------------------------------------------------------------

@pytest.mark.rule(5)
def test_client_that_never_reads_stalls_only_itself(server):
    flooder = Client(server.address)
    chunk = (b"f" * 1023 + b"\n") * 64
    sent = flooder.send_until_stalled(chunk, limit=64 << 20)
    assert sent < 64 << 20, "server kept reading 64 MiB from a client that never reads"
    with Client(server.address) as other:
        other.send(b"still there?\n")
        other.expect(b"fgvyy gurer?\n", timeout=2)
    # Everything the flooder is owed still arrives, in order, once it reads. It first ends the
    # line it stalled in (reading meanwhile), so that the answer owes nothing to rule 4.
    line = len(chunk) // 64
    to_lf = -sent % line
    received: list[bytes] = []
    with flooder:
        flooder.stream(chunk, count=to_lf, skip=sent % len(chunk), on_receive=received.append,
                       timeout=30)
    data = (chunk * ((sent + to_lf) // len(chunk) + 1))[:sent + to_lf]
    assert_answer(b"".join(received), answer(data), sent=data)


# Rule 7: resets and vanished peers -------------------------------------------------------------

@pytest.mark.rule(7)
def test_peer_reset_mid_answer_leaves_the_server_serving(server):
    for _ in range(5):
        c = Client(server.address)
        c.send(b"z" * 1000 + b"\n" + b"reset me\n" * 100_000)  # about 1 MiB of answers owed
        c.recv_exactly(1000)
        c.reset()
    with Client(server.address) as c:
        c.send(b"after the resets\n")
        c.expect(b"nsgre gur erfrgf\n")
    assert server.alive()


@pytest.mark.rule(7)
def test_peer_closing_without_reading_leaves_the_server_serving(server):
    # Other clients may be connected (a server started by hand, with --connect): count ours.
    on_this_machine(server)
    before = procfs.open_server_connections(server.port)
    for _ in range(5):
        c = Client(server.address)
        c.send(b"q" * 300_000 + b"\n")
        c.close()  # FIN with answers still owed: the server's next send fails with EPIPE
    # Each of the five connections exists, on the server's side, from the moment connect()
    # returned; it is gone once the server has read the line, tried to answer and closed it.
    assert procfs.wait_until(lambda: procfs.open_server_connections(server.port) <= before, 5), (
        f"{procfs.open_server_connections(server.port) - before} of the 5 connections still open "
        "on the server's side: it did not close them after its send failed")
    with Client(server.address) as c:
        c.send(b"ok\n")
        c.expect(b"bx\n")
    assert server.alive()


@pytest.mark.rule(7)
def test_peer_resetting_after_its_half_close_leaves_the_server_serving(server):
    # A client that shuts down its write side and then resets, with answers still owed: the
    # server's next send() then fails with EPIPE, not ECONNRESET (the connection was half
    # closed), and a server that does not ignore SIGPIPE dies of it.
    for _ in range(5):
        c = Client(server.address)
        c.send(b"owed\n" * 20_000 + b"and a partial line")
        c.shutdown_write()
        c.reset()
    with Client(server.address) as c:
        c.send(b"after the half-closed resets\n")
        c.expect(b"nsgre gur unys-pybfrq erfrgf\n")
    assert server.alive()


# Rule 9: a departing client releases what it held ----------------------------------------------

@pytest.mark.rule(9)
def test_clients_leaving_release_their_descriptors_and_processes(server):
    with Client(server.address) as warmup:  # the loop has started: its own descriptors exist
        warmup.send(b"warm\n")
        warmup.expect(b"jnez\n")
    baseline = procfs.settled_fd_count(server.pid)
    clients = [Client(server.address) for _ in range(20)]
    for c in clients:
        c.send(b"hi\n")
        c.expect(b"uv\n")
    for c in clients:
        c.close()
    released = procfs.wait_until(
        lambda: procfs.open_fds(server.pid) <= baseline and not procfs.children(server.pid), 5)
    assert released, procfs.unreleased(server.pid, baseline, "20 clients connected and left")


@pytest.mark.rule(9)
def test_clients_that_reset_release_their_descriptors(server):
    # Their recv() or send() fails (ECONNRESET): the connection must be closed all the same.
    with Client(server.address) as warmup:
        warmup.send(b"warm\n")
        warmup.expect(b"jnez\n")
    baseline = procfs.settled_fd_count(server.pid)
    for n in range(20):
        c = Client(server.address)
        c.send(b"client %d resets\n" % n + b"z" * 100_000)  # some answers owed, a line unread
        c.reset()
    released = procfs.wait_until(lambda: not server.alive() or (
        procfs.open_fds(server.pid) <= baseline and not procfs.children(server.pid)), 5)
    alive_for_this_rule(server, "its clients reset their connections")
    assert released, procfs.unreleased(server.pid, baseline, "20 clients reset their connections")


# Addresses -------------------------------------------------------------------------------------

@pytest.mark.rule(10)
@pytest.mark.skipif(not socket.has_ipv6, reason="Python built without IPv6")
def test_serves_on_ipv6_loopback(start_server):
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
    except OSError as e:
        pytest.fail(f"the machine has no ::1 ({e}); the IPv6 path cannot be tested")
    server = start_server(bind="::1")
    assert server.host == "::1"
    with Client(("::1", server.port)) as c:
        c.send(b"six\n")
        c.expect(b"fvk\n")


# Stopping --------------------------------------------------------------------------------------

@pytest.mark.rule(10)
@pytest.mark.parametrize("signo", [15, 2], ids=["SIGTERM", "SIGINT"])
def test_stop_signal_ends_the_server_within_a_second_with_status_0(start_server, signo):
    server = start_server()
    clients = [Client(server.address) for _ in range(3)]
    clients[0].send(b"busy\n")
    clients[0].expect(b"ohfl\n")
    took = server.stop(signo, timeout=1.0)
    assert server.returncode == 0, (f"{signal.Signals(signo).name} ended the server "
                                    f"({exit_description(server.returncode)}); the protocol wants "
                                    f"it to stop with exit status 0\n{server.stderr_tail()}")
    assert took < 1.0
    for c in clients:
        c.close()
