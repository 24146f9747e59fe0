"""Stage 01 against a real HTTP server (Python's http.server) on 127.0.0.1 and on ::1.

The server's handler writes a fixed response byte for byte, so the test can demand that the
client's stdout is exactly those bytes, headers included. It serves each connection in a thread
of its own, so that a slow page delays no other, and records when it sent each page.
"""
from __future__ import annotations

import http.server
import re
import socket
import socketserver
import subprocess
import sys
import threading
import time

import pytest

from chapter.pytest_plugin import program_path
from chapter import procfs

PROGRAM = "01-blocking-client"
BODY_5_MIB = bytes(range(256)) * (5 * 4096)


def raw_response(body: bytes) -> bytes:
    return (b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)) + body


PAGES = {
    "/": raw_response(b"<html>hello from the test server</html>\n"),
    "/big": raw_response(BODY_5_MIB),
    # 10000 bytes in one write: they arrive in one recv(), more than stdio's 4096-byte buffer of
    # stdout can take, so fwrite() writes them at once, and on /dev/full that write fails. A
    # client that does not check fwrite() then loses them all and exits 0 (01's exercise 2).
    "/ten-kb": raw_response(b"x" * 10000),
    "/empty": raw_response(b""),
    "/slow": raw_response(b"this page was sent a second after it was asked for\n"),
}
DELAYS = {"/slow": 1.0}  # seconds the server waits before it sends the page


class FixedResponseHandler(http.server.BaseHTTPRequestHandler):
    """Answers each path with the exact bytes in PAGES, after its delay in DELAYS; records what
    it was asked, and when it sent each page (time.monotonic(), once the kernel has it all)."""

    def do_GET(self):
        self.server.requests.append((self.requestline, dict(self.headers)))
        time.sleep(DELAYS.get(self.path, 0))
        self.wfile.write(PAGES.get(self.path, b"HTTP/1.0 404 Not Found\r\n\r\n"))
        self.server.sent[self.path] = time.monotonic()
        self.close_connection = True

    def log_message(self, *args):  # keep the test output quiet
        pass


class QuietHTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    # server_close() joins the handlers' threads: none outlives its test.
    def handle_error(self, request, client_address):
        # A client that stops reading (the /dev/full test) breaks the pipe: expected there.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class HTTPServerV6(QuietHTTPServer):
    address_family = socket.AF_INET6


@pytest.fixture(params=["127.0.0.1", "::1"], ids=["ipv4", "ipv6"])
def http_server(request):
    cls = HTTPServerV6 if ":" in request.param else QuietHTTPServer
    server = cls((request.param, 0), FixedResponseHandler)
    server.requests, server.sent = [], {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def fetch(bin_dir, *args, timeout=30):
    return subprocess.run([str(program_path(bin_dir, PROGRAM)), *args], capture_output=True,
                          timeout=timeout)


@pytest.mark.parametrize("path", ["/", "/empty", "/big"])
def test_response_is_copied_to_stdout_byte_for_byte(bin_dir, http_server, path):
    host, port = http_server.server_address[:2]
    result = fetch(bin_dir, "--port", str(port), host, path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == PAGES[path]
    assert result.stderr == b""


def test_request_is_a_get_with_the_host_header(bin_dir, http_server):
    host, port = http_server.server_address[:2]
    assert fetch(bin_dir, "--port", str(port), host, "/").returncode == 0
    requestline, headers = http_server.requests[0]
    assert requestline == "GET / HTTP/1.0"
    shown = f"[{host}]" if ":" in host else host
    assert headers["Host"] == f"{shown}:{port}"


# One --timing line per page: "01-blocking-client: page 3 (/): first byte at 1003.2 ms, end at ...".
TIMING = re.compile(r"^01-blocking-client: page (\d+) \((\S+)\): "
                    r"first byte at ([\d.]+) ms, end at ([\d.]+) ms$", re.MULTILINE)


def test_several_pages_are_read_in_turn_so_a_page_sent_at_once_waits_for_a_slow_one(
        bin_dir, http_server):
    # The chapter's loop ("This won't work"): every request is sent, then each socket is read to
    # its end in order. Page 1 comes a second late, page 3 at once; page 3 is read only after
    # page 1 is complete, and the pages reach stdout in the order asked, whole.
    host, port = http_server.server_address[:2]
    started = time.monotonic()
    result = fetch(bin_dir, "--timing", "--port", str(port), host, "/slow", "/empty", "/",
                   timeout=10)
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert result.stdout == PAGES["/slow"] + PAGES["/empty"] + PAGES["/"]
    assert sorted(r[0] for r in http_server.requests) == [
        "GET / HTTP/1.0", "GET /empty HTTP/1.0", "GET /slow HTTP/1.0"]
    read = {int(n): (path, float(first), float(end))
            for n, path, first, end in TIMING.findall(result.stderr.decode())}
    assert [read[n][0] for n in sorted(read)] == ["/slow", "/empty", "/"], result.stderr
    sent_3 = http_server.sent["/"] - started
    assert sent_3 < 0.2, f"the server sent page 3 only {sent_3:.3f} s after the start"
    first_3, end_1 = read[3][1], read[1][2]
    assert end_1 >= 800, f"page 1 read to its end at {end_1} ms, before its delay was over"
    assert first_3 >= end_1, (f"page 3 read at {first_3} ms, before page 1 was complete "
                              f"({end_1} ms): the sockets were not read in turn")
    assert took < 5


def test_host_name_is_resolved_and_every_address_tried(bin_dir):
    # "localhost" may resolve to ::1 and 127.0.0.1; only the IPv4 one listens here, so the
    # client must move on from an address that refuses to the next one.
    server = QuietHTTPServer(("127.0.0.1", 0), FixedResponseHandler)
    server.requests, server.sent = [], {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = fetch(bin_dir, "--port", str(server.server_address[1]), "localhost", "/")
        assert result.returncode == 0, result.stderr
        assert result.stdout == PAGES["/"]
    finally:
        server.shutdown()
        server.server_close()


def test_unresolvable_host_fails_with_one_line_and_nothing_on_stdout(bin_dir):
    result = fetch(bin_dir, "no-such-host.invalid")
    assert result.returncode != 0
    assert result.stdout == b""
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{PROGRAM}: lookup no-such-host.invalid: ")


def test_refused_port_fails_with_one_line_and_nothing_on_stdout(bin_dir):
    with socket.socket() as s:  # a port that was free a moment ago and has no listener
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = fetch(bin_dir, "--port", str(port), "127.0.0.1")
    assert result.returncode != 0
    assert result.stdout == b""
    assert result.stderr.decode() == f"{PROGRAM}: connect 127.0.0.1:{port}: Connection refused\n"


@pytest.mark.parametrize("port", ["0", "70000", "http", "", "-5"])
def test_bad_port_fails_with_one_line_and_nothing_on_stdout(bin_dir, port):
    result = fetch(bin_dir, "--port", port, "127.0.0.1")
    assert result.returncode == 2
    assert result.stdout == b""
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and f"bad port '{port}'" in lines[0]


def test_failure_to_write_stdout_is_an_error_not_silence(bin_dir, http_server):
    host, port = http_server.server_address[:2]
    with open("/dev/full", "wb") as full:  # every write fails with ENOSPC
        result = subprocess.run([str(program_path(bin_dir, PROGRAM)), "--port", str(port), host,
                                 "/ten-kb"], stdout=full, stderr=subprocess.PIPE, timeout=30)
    assert result.returncode == 1
    assert b"write stdout: No space left on device" in result.stderr


def test_help_describes_the_command_line(bin_dir):
    result = fetch(bin_dir, "--help")
    assert result.returncode == 0
    assert result.stdout.decode().startswith(
        f"usage: {PROGRAM} [--port PORT] [--timing] [HOST [PATH...]]")


def test_client_waiting_for_a_silent_server_sleeps_in_recv_using_no_cpu(bin_dir):
    # The chapter's first claim, shown: a blocking call waits in the kernel. Against a server
    # that accepts and never answers, the client sits in recv(), asleep (state S), at 0% CPU.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        client = subprocess.Popen([str(program_path(bin_dir, PROGRAM)), "--port", str(port),
                                   "127.0.0.1", "/"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        try:
            conn, _ = silent.accept()  # bounded: the socket's default timeout is none, but
            with conn:                 # the client connects at once (or the test times out)
                conn.settimeout(5)
                assert conn.recv(4096).startswith(b"GET / HTTP/1.0\r\n")  # the request is in
                assert procfs.wait_until(lambda: procfs.syscall(client.pid)[1] == "recvfrom",
                                         timeout=5), procfs.syscall(client.pid)
                before = procfs.cpu_seconds(client.pid)
                time.sleep(0.5)  # the measurement window
                assert procfs.state(client.pid) == "S"
                assert procfs.syscall(client.pid)[1] == "recvfrom"
                assert procfs.cpu_seconds(client.pid) - before < 0.02
            # The server closes without a response: the client reads end of file and exits.
            out, _ = client.communicate(timeout=5)
            assert out == b""
        finally:
            if client.poll() is None:
                client.kill()
                client.wait(timeout=5)
