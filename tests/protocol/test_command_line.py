"""The command line every server stage shares: `NN-name [--bind ADDR] [--port PORT] [--help]`."""
from __future__ import annotations

import os
import subprocess

import pytest

from conftest import program_path
from support.client import Client


def run(bin_dir, stage, *args, timeout=10):
    return subprocess.run([str(program_path(bin_dir, stage.program)), *args],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **dict(stage.env)})


@pytest.mark.parametrize("args", [
    ["--port", "70000"], ["--port", "abc"], ["--port", "-1"], ["--port", ""], ["--port"],
    ["--bogus"], ["extra"], ["--bind"],
], ids=["port-70000", "port-abc", "port-negative", "port-empty", "port-missing", "unknown-option",
        "positional", "bind-missing"])
def test_bad_command_line_prints_usage_on_stderr_and_exits_2(stage, bin_dir, args):
    result = run(bin_dir, stage, *args)
    assert result.returncode == 2
    assert "usage:" in result.stderr
    assert stage.program in result.stderr
    assert result.stdout == ""


def test_help_prints_usage_on_stdout_and_exits_0(stage, bin_dir):
    result = run(bin_dir, stage, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: {stage.program} [--bind ADDR] [--port PORT]")


def test_port_in_use_fails_with_the_bind_error_and_exits_1(stage, bin_dir, server):
    result = run(bin_dir, stage, "--port", str(server.port))
    assert result.returncode == 1
    assert result.stderr.strip().endswith(
        f"{stage.program}: bind 127.0.0.1:{server.port}: Address already in use")
    with Client(server.address) as c:  # the first server is unaffected
        c.send(b"x\n")
        c.expect(b"k\n")


def test_unresolvable_bind_address_fails_and_exits_1(stage, bin_dir):
    result = run(bin_dir, stage, "--bind", "no-such-host.invalid", "--port", "0")
    assert result.returncode == 1
    assert "getaddrinfo no-such-host.invalid" in result.stderr


def test_equals_forms_of_the_options_work(start_server):
    server = start_server(extra_args=["--bind=127.0.0.1", "--port=0"])
    with Client(server.address) as c:
        c.send(b"equals\n")
        c.expect(b"rdhnyf\n")


def test_default_bind_address_is_loopback_not_every_interface(stage, bin_dir):
    # The book binds to every interface (INADDR_ANY); we listen on 127.0.0.1 unless told.
    proc = subprocess.Popen([str(program_path(bin_dir, stage.program)), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, **dict(stage.env)})
    try:
        line = proc.stdout.readline()  # bounded: the server prints it at start or exits
        assert line.startswith("listening on 127.0.0.1:"), line
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0


@pytest.mark.stage_specific(only=["02c"])
@pytest.mark.parametrize("count", ["0", "-1", "abc", "", "1025", "99999999999"])
def test_thread_pool_refuses_a_bad_pool_size_and_exits_2(stage, bin_dir, count):
    result = run(bin_dir, stage, "--threads", count)
    assert result.returncode == 2
    assert f"bad --threads '{count}' (1 to 1024)" in result.stderr
    assert "usage:" in result.stderr and "--threads N" in result.stderr


@pytest.mark.stage_specific(only=["02c"])
def test_thread_pool_help_names_its_option_and_default(stage, bin_dir):
    result = run(bin_dir, stage, "--help")
    assert result.returncode == 0
    assert "[--threads N]" in result.stdout.splitlines()[0]
    assert "(default 4)" in result.stdout


@pytest.mark.stage_specific(never=["02c"])
def test_other_stages_have_no_threads_option(stage, bin_dir):
    result = run(bin_dir, stage, "--threads", "4")
    assert result.returncode == 2
    assert "unknown argument '--threads'" in result.stderr
