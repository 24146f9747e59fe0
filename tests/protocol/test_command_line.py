"""The command line of docs/protocol.md: `NN-name [--bind ADDR] [--port PORT] [--help]`, the exit
statuses, and the form of log lines (rule 10, the last step of scripts/check).

The tests that run the program with other options than `--bind {host} --port {port}` apply to a
program that takes those options (our stages, and any command given to scripts/check with
`--port {port}`); for another command, and with --connect, they say they were not run.
"""
from __future__ import annotations

import os
import re
import selectors
import time

import pytest

from chapter import procfs
from chapter.client import Client
from chapter.target import alive_for_this_rule

pytestmark = pytest.mark.rule(10)


def usage_names_the_program(target, text: str) -> bool:
    """Our stages name themselves in their usage; a program we did not write is held only to
    printing a usage."""
    return target.stage is None or target.stage.program in text


@pytest.mark.parametrize("args", [
    ["--port", "70000"], ["--port", "abc"], ["--port", "-1"], ["--port", ""], ["--port"],
    ["--bogus"], ["extra"], ["--bind"],
], ids=["port-70000", "port-abc", "port-negative", "port-empty", "port-missing", "unknown-option",
        "positional", "bind-missing"])
def test_bad_command_line_prints_usage_on_stderr_and_exits_2(target, args):
    result = target.run(*args)
    assert result.returncode == 2, f"exit status {result.returncode}; stderr: {result.stderr!r}"
    assert "usage:" in result.stderr, result.stderr
    assert usage_names_the_program(target, result.stderr), result.stderr
    assert result.stdout == ""


def test_help_prints_usage_on_stdout_and_exits_0(target):
    result = target.run("--help")
    assert result.returncode == 0, f"exit status {result.returncode}; stderr: {result.stderr!r}"
    assert result.stdout.startswith("usage: "), result.stdout
    assert "--port" in result.stdout, result.stdout
    if target.stage is not None:
        assert result.stdout.startswith(
            f"usage: {target.stage.program} [--bind ADDR] [--port PORT]"), result.stdout


def test_port_in_use_fails_with_the_bind_error_and_exits_1(target, server):
    result = target.run("--port", str(server.port))
    assert result.returncode == 1, f"exit status {result.returncode}; stderr: {result.stderr!r}"
    assert result.stderr.strip().endswith(
        f"bind 127.0.0.1:{server.port}: Address already in use"), (
        f"the last line on stderr should end 'bind 127.0.0.1:{server.port}: Address already in "
        f"use'; stderr was {result.stderr!r}")
    if target.stage is not None:
        assert result.stderr.startswith(f"{target.stage.program}: ")
    with Client(server.address) as c:  # the first server is unaffected
        c.send(b"x\n")
        c.expect(b"k\n")


def test_unresolvable_bind_address_fails_and_exits_1(target):
    result = target.run("--bind", "no-such-host.invalid", "--port", "0")
    assert result.returncode == 1, f"exit status {result.returncode}; stderr: {result.stderr!r}"
    assert "no-such-host.invalid" in result.stderr, result.stderr


def ready_port(program, timeout: float = 5.0) -> int:
    """The port of the ready line, which must be the first line on stdout, whole within
    `timeout` seconds, and say 127.0.0.1."""
    line, deadline = "", time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(program.stdout, selectors.EVENT_READ)
        while not line.endswith("\n"):
            left = deadline - time.monotonic()
            assert left > 0 and sel.select(left), (
                f"no whole line on stdout within {timeout:g} s (got {line!r}): the ready line "
                "'listening on 127.0.0.1:PORT' is missing, or not flushed")
            char = os.read(program.stdout.fileno(), 1).decode(errors="replace")
            assert char, f"stdout ended before the ready line's end (got {line!r})"
            line += char
    assert re.fullmatch(r"listening on 127\.0\.0\.1:\d+\n", line), (
        f"the first line on stdout must be 'listening on 127.0.0.1:PORT', got {line!r}")
    return int(line.rsplit(":", 1)[1])


def test_default_bind_address_is_loopback_not_every_interface(target):
    # The book binds to every interface (INADDR_ANY); we listen on 127.0.0.1 unless told. The
    # ready line says where.
    with target.popen("--port", "0") as program:  # stopped on leaving, whatever it does
        ready_port(program)


def test_equals_forms_of_the_options_work(target):
    with target.popen("--bind=127.0.0.1", "--port=0") as program:
        with Client(("127.0.0.1", ready_port(program))) as c:
            c.send(b"equals\n")
            c.expect(b"rdhnyf\n")


@pytest.mark.stage_specific(has="pool")
@pytest.mark.parametrize("count", ["0", "-1", "abc", "", "past-max", "99999999999"])
def test_thread_pool_refuses_a_bad_pool_size_and_exits_2(stage, target, count):
    pool = stage.description.pool
    if count == "past-max":
        count = str(pool["max"] + 1)
    result = target.run(pool["option"], count)
    assert result.returncode == 2
    assert f"bad {pool['option']} '{count}' (1 to {pool['max']})" in result.stderr
    assert "usage:" in result.stderr and f"{pool['option']} N" in result.stderr


@pytest.mark.stage_specific(has="pool")
def test_thread_pool_help_names_its_option_and_default(stage, target):
    pool = stage.description.pool
    result = target.run("--help")
    assert result.returncode == 0
    assert f"[{pool['option']} N]" in result.stdout.splitlines()[0]
    assert f"(default {pool['default']})" in result.stdout


@pytest.mark.stage_specific(has_not="pool")
def test_other_stages_have_no_threads_option(target):
    result = target.run("--threads", "4")
    assert result.returncode == 2
    assert "unknown argument '--threads'" in result.stderr


def test_a_failed_call_is_logged_as_program_call_strerror(server):
    # A client that resets the connection while answers are owed makes the server's recv() or
    # send() fail; the server logs it in one line and carries on.
    c = Client(server.address)
    c.send(b"z" * 1000 + b"\n" + b"reset me\n" * 100_000)  # about 1 MiB of answers owed
    c.recv_exactly(1000)
    c.reset()
    logged = procfs.wait_until(
        lambda: not server.alive() or re.search(r"^\S+: (recv|send|read|write)\w*: "
                                                r"(Connection reset by peer|Broken pipe)$",
                                                server.stderr(), re.MULTILINE), 2)
    alive_for_this_rule(server, "a client reset its connection")
    assert logged, ("no log line such as 'my_server: recv: Connection reset by peer' on stderr; "
                    f"stderr was:\n{server.stderr()[-2000:]}")
    with Client(server.address) as after:
        after.send(b"after\n")
        after.expect(b"nsgre\n")
