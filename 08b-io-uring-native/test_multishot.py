"""08b's hard parts, each tested on 08b alone: a ring of provided buffers so small that it runs
dry all the time (-ENOBUFS ends a multishot recv, which must be asked for again), a multishot
recv cancelled while a client owes too much and asked for again once it reads, and the exit
status and message where multishot receive or buffer rings are missing.

Rule 5's bound on what a client that never reads is owed is tested for every stage by
tests/protocol and tests/robustness; here, the kernel's own list of the operations it waits on
(/proc/PID/fdinfo of the ring, `PollList`) shows the recv cancelled and armed again."""
from __future__ import annotations

import os
import platform
import re
import subprocess
import threading

import pytest

from chapter import procfs
from chapter.client import Client
from chapter.reference import answer

pytestmark = [pytest.mark.rule(11), pytest.mark.stage_specific()]

IORING_OP_RECV = 27  # the kernel's number for a receive (linux/io_uring.h), as fdinfo prints it


def armed_recvs(pid: int) -> int:
    """How many receives the server's ring is waiting on (a multishot recv waits between its
    completions): the `op=27` lines of `PollList` in the ring's /proc/PID/fdinfo."""
    for fd, target in procfs.fd_targets(pid).items():
        if target == "anon_inode:[io_uring]":
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                text = f.read()
            if "PollList:" not in text:
                pytest.skip("not run: this kernel's io_uring fdinfo has no PollList")
            return len(re.findall(rf"^\s*op={IORING_OP_RECV},", text, re.MULTILINE))
    raise LookupError(f"process {pid} has no io_uring")


@pytest.mark.parametrize("buffers", [1, 2])
def test_a_tiny_ring_runs_dry_and_every_client_is_still_answered(target, start_server, rng,
                                                                  buffers):
    # With one or two buffers for twenty clients sending at once, most receives find the ring
    # empty: -ENOBUFS ends each such multishot recv, and the server must ask for it again once
    # buffers are back. A recv not asked for again leaves its client unanswered (a timeout);
    # one taken for a failure is logged and closed.
    target.argv += ["--buffers", str(buffers)]
    server = start_server()
    sent = [b"".join(rng.randbytes(rng.randint(0, 20000)).replace(b"\n", b"") + b"\n"
                     for _ in range(40)) for _ in range(20)]  # lines longer than a buffer too
    errors: list[str] = []

    def talk(n: int) -> None:
        try:
            with Client(server.address) as c:
                got = c.exchange(sent[n], timeout=90)
            if got != answer(sent[n]):
                errors.append(f"client {n}: {len(got)} bytes back, {len(answer(sent[n]))} owed")
        except Exception as e:  # a timeout or a reset: reported with the others
            errors.append(f"client {n}: {e!r}"[:300])

    threads = [threading.Thread(target=talk, args=(n,)) for n in range(len(sent))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a client is still waiting for its answers"
    assert not errors, "\n".join(errors[:3])
    assert "No buffer space" not in server.stderr(), server.stderr_tail()


def test_a_client_that_never_reads_has_its_recv_cancelled_then_armed_again(start_server):
    # A multishot recv goes on receiving unasked, so backpressure cancels it: a client that
    # sends without reading ends with no recv armed, while another client's stays armed and
    # is answered; once the first reads what it is owed, its recv is armed again.
    server = start_server()
    other = Client(server.address)
    flooder = Client(server.address)
    with other, flooder:
        other.send(b"before\n")
        other.expect(b"orsber\n")
        flooder.send(b"hello\n")  # both recvs armed, each waiting for its client
        assert procfs.wait_until(lambda: armed_recvs(server.pid) == 2, 5), armed_recvs(server.pid)
        chunk = (b"f" * 1023 + b"\n") * 64
        sent = flooder.send_until_stalled(chunk, limit=64 << 20)
        assert sent < 64 << 20, "the server kept reading a client that never reads"
        assert procfs.wait_until(lambda: armed_recvs(server.pid) == 1, 5), (
            f"{armed_recvs(server.pid)} recvs armed: the flooder's was not cancelled")
        other.send(b"during\n")
        other.expect(b"qhevat\n", timeout=2)
        # The flooder reads at last: every line it sent is answered, in order; meanwhile the
        # server takes the rest, which ends no line. Then its recv is armed again.
        flooded = b"hello\n" + (chunk * (sent // len(chunk) + 1))[:sent]
        flooder.expect(answer(flooded, ended=False), timeout=30)
        assert procfs.wait_until(lambda: armed_recvs(server.pid) == 2, 5), (
            f"{armed_recvs(server.pid)} recvs armed: the flooder's was not armed again")
        flooder.send(b"\n")
        flooder.expect(answer(flooded[flooded.rindex(b"\n") + 1:] + b"\n"), timeout=5)


def run_without(target, wrapper: list[str]) -> subprocess.CompletedProcess:
    """The server started under `wrapper`, which takes a feature away: it must exit at once.
    In a sanitized build, LeakSanitizer is off: it cannot work under ptrace (strace), and would
    end the program with its own error instead of the server's."""
    env = {**os.environ,
           "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0"}
    return subprocess.run([*wrapper, *target.base_argv(), "--port", "0"], capture_output=True,
                          text=True, timeout=10, env=env)


def test_without_multishot_receive_it_says_so_and_exits_1(target):
    # Linux 6.0 brought multishot receive; `setarch --uname-2.6` makes this kernel say 2.6.
    result = run_without(target, ["setarch", platform.machine(), "--uname-2.6"])
    assert result.returncode == 1, result.stderr
    assert re.search(r"^08b-io-uring-native: io_uring: this kernel \(2\.6\.\S+\) lacks multishot "
                     r"receive \(Linux 6\.0\)$", result.stderr, re.MULTILINE), result.stderr


def test_without_buffer_rings_it_says_so_and_exits_1(target):
    # A kernel without buffer rings (before 5.19) refuses their registration with EINVAL: the
    # second io_uring_register() call, after the ring's probe of its operations.
    result = run_without(target, ["strace", "-f", "-qq", "-o", "/dev/null",
                                  "-e", "trace=io_uring_register",
                                  "-e", "inject=io_uring_register:error=EINVAL:when=2"])
    assert result.returncode == 1, result.stderr
    assert ("08b-io-uring-native: io_uring_register_buf_ring: Invalid argument (buffer rings "
            "need Linux 5.19)") in result.stderr.splitlines(), result.stderr
