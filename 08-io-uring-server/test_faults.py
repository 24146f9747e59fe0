"""Faults injected into the ring calls of 08 and of the other stages of its model (08b). Whichever
call fails, the server says why on stderr and exits 1 at once: it must not hang with operations
still in flight (issue 17: ~Server waited in io_uring_enter() for the stop pipe's poll, which
nothing had cancelled, until a signal came).

The fault comes from fail_submit.c, beside this file: an LD_PRELOAD shim that makes one call of
liburing's io_uring_submit_and_wait() fail with -EIO, compiled here by the test itself."""
from __future__ import annotations

import os
import pathlib
import subprocess

import pytest

from chapter.client import Client
from chapter.server import STOP_TIMEOUT

SHIM = pathlib.Path(__file__).with_name("fail_submit.c")


@pytest.fixture
def fail_submit(tmp_path) -> pathlib.Path:
    """fail_submit.c built into a shared library in this test's temporary directory."""
    library = tmp_path / "fail_submit.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(library), str(SHIM), "-ldl"], check=True,
                   capture_output=True)
    return library


@pytest.mark.rule(11)
@pytest.mark.stage_specific(models=["completion"])
def test_failing_ring_call_is_logged_and_the_server_exits_1_at_once(start_server, target,
                                                                    fail_submit):
    # The first io_uring_submit_and_wait() submits the stop pipe's poll and the accept, and
    # sleeps until a client connects; the second, which submits that client's recv and the next
    # accept, fails. Then every operation in flight (the stop pipe's poll among them) must be
    # cancelled and reaped before the ring goes, and the error reported.
    server = start_server(env={
        "LD_PRELOAD": str(fail_submit), "FAIL_SUBMIT_CALL": "2",
        # A sanitized build must not insist on its runtime coming first in the preload list.
        "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"})
    deadline = max(1.0, STOP_TIMEOUT)
    with Client(server.address) as client:
        try:
            server.returncode = server.proc.wait(timeout=deadline)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the server is still running {deadline:g} s after its ring call failed "
                        f"(hung with operations in flight?); its stderr:\n{server.stderr_tail()}")
        client.expect_closed_by_server(timeout=1)  # its connection went with the server
    assert server.returncode == 1, server.stderr_tail()
    assert f"{target.stage.program}: io_uring_submit_and_wait: Input/output error" in \
        server.stderr().splitlines(), server.stderr_tail()
