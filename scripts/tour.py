#!/usr/bin/python3
"""The tour: walks the chapter stage by stage, runs each program, and measures its lesson live.

Started by scripts/tour, which installs what is missing and builds first. By hand:

    /usr/bin/python3 scripts/tour.py [--stage 02] [--lang zh-CN] [--build-dir build/release]

Every process the tour starts is stopped before it exits; the exit status is non-zero if any
stage misbehaved (a wrong answer, a missing lesson, a crash). Ctrl-C (SIGINT) stops the tour:
it stops its servers, says so in one line and exits 130, the shell's status for SIGINT.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import http.server
import os
import pathlib
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import sys
import threading
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from support import procfs  # noqa: E402  (shared with the test suite)
from support.client import Client  # noqa: E402
from support.reference import rot13  # noqa: E402
from support.reference import answer  # noqa: E402
from support.server import ServerProcess  # noqa: E402

from tour_text import TEXT  # noqa: E402


@dataclasses.dataclass
class Row:
    stage: str
    lesson: str
    measured: str
    ok: bool
    skipped: bool = False  # not built here (08 without liburing): neither ok nor a failure


class Tour:
    def __init__(self, bin_dir: pathlib.Path, lang: str):
        self.bin_dir = bin_dir
        self.text = TEXT[lang]
        self.servers: list[ServerProcess] = []
        self.started = time.monotonic()

    def t(self, key: str, **values) -> str:
        return self.text[key].format(**values)

    def say(self, key: str, **values) -> None:
        print(self.t(key, **values), flush=True)

    def show(self, line: str) -> None:
        print(f"    {line}", flush=True)

    def start(self, program: str, env: dict[str, str] | None = None,
              wrapper: list[str] | None = None, args: list[str] | None = None) -> ServerProcess:
        server = ServerProcess(self.bin_dir / program, env=env, wrapper=wrapper or [],
                               extra_args=args)
        self.servers.append(server)
        shown = " ".join([program, "--port 0", *(args or [])])
        self.show(f"$ {shown}   ->   listening on {server.host}:{server.port}")
        return server

    def stop_all(self) -> list[str]:
        """Stops every server started; returns complaints (a server that did not stop cleanly)."""
        complaints = []
        for server in self.servers:
            try:
                if server.alive():
                    server.stop(timeout=5)
                    if server.returncode != 0:
                        complaints.append(f"{server.program.name}: exit {server.returncode}")
                elif server.returncode is None:
                    complaints.append(f"{server.program.name}: died ({server.proc.returncode})")
            except AssertionError as e:
                complaints.append(str(e))
            finally:
                server.close()
        self.servers.clear()
        return complaints

    def stop_stragglers(self) -> None:
        """Stops any child process still running: after an interrupt, that may include a server
        interrupted before it was ready, hence before stop_all() knew of it."""
        def running(pid: int) -> bool:
            try:
                return procfs.state(pid) != "Z"
            except OSError:  # gone already
                return False

        stragglers = [pid for pid in procfs.children(os.getpid()) if running(pid)]
        for signo in (signal.SIGTERM, signal.SIGKILL):
            for pid in stragglers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signo)
            if procfs.wait_until(lambda: not any(running(p) for p in stragglers), 5):
                break
        for pid in stragglers:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


# Stage 01 --------------------------------------------------------------------------------------

class _PageHandler(http.server.BaseHTTPRequestHandler):
    """Serves the tour's pages (server.pages), each after its delay (server.delays, seconds),
    and records when each was asked for (server.asked) and sent (server.sent: time.monotonic(),
    once the kernel has it all)."""

    def do_GET(self):
        self.server.asked[self.path] = time.monotonic()
        time.sleep(self.server.delays.get(self.path, 0))
        self.wfile.write(self.server.pages[self.path])
        self.server.sent[self.path] = time.monotonic()

    def log_message(self, *args):
        pass


def http_page(body: bytes) -> bytes:
    return (b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n"
            % len(body)) + body


# The client's --timing lines: "01-blocking-client: page 3 (/three): first byte at 1003.2 ms, ...".
TIMING = re.compile(r"page (\d+) \((\S+)\): first byte at ([\d.]+) ms, end at ([\d.]+) ms")


def tour_01(tour: Tour) -> Row:
    body = b"".join(b"line %05d of a page served on loopback\n" % i for i in range(6000))
    # A server thread per connection (ThreadingHTTPServer), so that the slow page delays no other.
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler)
    httpd.pages = {"/": http_page(body), "/one": http_page(b"page one, sent a second late\n"),
                   "/two": http_page(b"page two, sent at once\n"),
                   "/three": http_page(b"page three, sent at once\n")}
    httpd.delays, httpd.asked, httpd.sent = {"/one": 1.0}, {}, {}
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    client = str(tour.bin_dir / "01-blocking-client")
    try:
        port = httpd.server_address[1]
        tour.say("01.run", port=port)
        started = time.monotonic()
        result = subprocess.run([client, "--port", str(port), "127.0.0.1", "/"],
                                capture_output=True, timeout=30)
        took = time.monotonic() - started
        for line in result.stdout.split(b"\r\n")[:3]:
            tour.show(line.decode(errors="replace"))
        tour.show("...")
        ok = result.returncode == 0 and result.stdout == httpd.pages["/"]
        tour.show(tour.t("01.fetched", bytes=len(result.stdout), ms=took * 1000))
        if not ok:
            tour.show(f"!! exit {result.returncode}, {len(result.stdout)} of "
                      f"{len(httpd.pages['/'])} bytes, "
                      f"stderr: {result.stderr.decode(errors='replace')}")

        blocked_ok, blocked = blocked_client(tour, client)

        paths = ["/one", "/two", "/three"]
        tour.say("01.pages")
        tour.show(f"$ 01-blocking-client --timing --port {port} 127.0.0.1 {' '.join(paths)}")
        result = subprocess.run([client, "--timing", "--port", str(port), "127.0.0.1", *paths],
                                capture_output=True, timeout=30)
    finally:
        httpd.shutdown()
        httpd.server_close()
    read = {int(n): (float(first), float(end))
            for n, _, first, end in TIMING.findall(result.stderr.decode(errors="replace"))}
    # The server's clock starts at the first request it received, the client's at its own start,
    # just before it sent that request: a page is never shown read before it was ready.
    started = min((httpd.asked[p] for p in paths if p in httpd.asked), default=0)
    ready = {n: (httpd.sent[path] - started) * 1000 for n, path in enumerate(paths, 1)
             if path in httpd.sent}
    in_order = (result.returncode == 0 and len(read) == 3 == len(ready)
                and result.stdout == b"".join(httpd.pages[p] for p in paths))
    if not in_order:
        tour.show(f"!! exit {result.returncode}, stderr: {result.stderr.decode(errors='replace')}")
        return Row("01-blocking-client", tour.t("01.row"), blocked, False)
    for n, path in enumerate(paths, 1):
        tour.show(tour.t("01.page", n=n, path=path, ready=ready[n], first=read[n][0],
                         end=read[n][1]))
    tour.show(tour.t("01.clocks"))
    # The lesson, loosely: page 3 was ready at once, yet read only once page 1 was complete,
    # about a second later (the slow page's delay).
    late = read[3][0] >= read[1][1] and read[3][0] - ready[3] > 500
    measured = tour.t("01.measured", blocked=blocked, ready=ready[3], read=read[3][0])
    tour.say("01.lesson", measured=measured)
    return Row("01-blocking-client", tour.t("01.row"), measured, ok and blocked_ok and late)


def blocked_client(tour: Tour, client: str, seconds: float = 1.0) -> tuple[bool, str]:
    """Runs the client against a server that accepts and never answers, and reads from /proc,
    while it waits, what a student would: its state, its system call, its CPU time. Then the
    server closes the connection. Returns (as expected, the figures in one phrase)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(10)
        port = listener.getsockname()[1]
        tour.say("01.block")
        tour.show(f"$ 01-blocking-client --port {port} 127.0.0.1 /")
        proc = subprocess.Popen([client, "--port", str(port), "127.0.0.1", "/"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(10)
                request = b""
                while b"\r\n\r\n" not in request and (chunk := conn.recv(4096)):
                    request += chunk
                tour.show(tour.t("01.server",
                                 request=request.split(b"\r\n")[0].decode(errors="replace")))
                pid = proc.pid

                def asleep_in_a_call():
                    try:
                        return procfs.state(pid) == "S" and procfs.syscall(pid)[0] != "running"
                    except PermissionError:  # /proc/PID/syscall is not ours to read here
                        return procfs.state(pid) == "S"
                procfs.wait_until(asleep_in_a_call, 5)
                state = procfs.state(pid)
                try:
                    line, call = procfs.syscall(pid)
                except PermissionError as e:
                    line, call = f"unreadable ({e.strerror})", "?"
                number_and_fd = line.split()[:2]  # "45 0x3": recvfrom, on descriptor 3
                seen = (f"{call}({int(number_and_fd[1], 16)}, ...)" if len(number_and_fd) == 2
                        and number_and_fd[0].isdigit() else call)
                tour.show(f"/proc/{pid}/stat:    state {state}")
                tour.show(f"/proc/{pid}/syscall: {' '.join(number_and_fd)} ...   -> {seen}")
                tour.show(f"/proc/{pid}/wchan:   {procfs.wchan(pid)}")
                cpu, switches, waited = (procfs.cpu_seconds(pid), procfs.context_switches(pid),
                                         time.monotonic())
                time.sleep(seconds)
                cpu = procfs.cpu_seconds(pid) - cpu
                switches = procfs.context_switches(pid) - switches
                waited = time.monotonic() - waited
                still = procfs.state(pid)
            # The connection is closed: the client's recv() returns 0, end of file.
            out, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    figures = tour.t("01.blocked", call=call, state=state, cpu=cpu / waited * 100, seconds=waited,
                     switches=switches)
    tour.show(figures)
    tour.show(tour.t("01.woken", code=proc.returncode, bytes=len(out)))
    if err:
        tour.show(f"!! stderr: {err.decode(errors='replace').strip()}")
    ok = (state == still == "S" and call in ("recvfrom", "?") and cpu / waited < 0.05
          and proc.returncode == 0 and out == b"")
    return ok, figures


# Stage 02 --------------------------------------------------------------------------------------

def talk(tour: Tour, clients: list[Client], lines_per_client: int = 2) -> bool:
    """Each client sends a few lines; every answer is shown and checked."""
    ok = True
    for round_ in range(lines_per_client):
        for n, c in enumerate(clients, 1):
            line = b"Hello from client %d, line %d\n" % (n, round_ + 1)
            c.send(line)
            got = c.recv_exactly(len(line), timeout=5)
            ok &= got == answer(line, ended=False)
            tour.show(f"client {n}: {line.decode().strip():32} -> {got.decode().strip()}")
    return ok


def tour_02(tour: Tour) -> Row:
    tour.say("02.run")
    server = tour.start("02-fork-server")
    clients = [Client(server.address) for _ in range(3)]
    ok = talk(tour, clients)
    kids = procfs.children(server.pid)
    tour.show(f"$ ps --ppid {server.pid}: {len(kids)} child processes, "
              f"{sum(procfs.rss_bytes(k) for k in kids) // 1024} KiB resident in all")
    for k in kids:
        tour.show(f"    pid {k}  state {procfs.state(k)}  rss {procfs.rss_bytes(k) // 1024} KiB")
    for c in clients:
        c.close()
    reaped = procfs.wait_until(lambda: not procfs.children(server.pid), 3)
    tour.show(tour.t("02.reaped") if reaped else "!! children left behind")
    ok &= len(kids) == 3 and bool(reaped)
    measured = tour.t("02.measured", children=len(kids))
    tour.say("02.lesson", measured=measured)
    return Row("02-fork-server", tour.t("02.row"), measured, ok)


def tour_02b(tour: Tour) -> Row:
    tour.say("02b.run")
    server = tour.start("02b-thread-server")
    fields = ("Threads", "VmRSS", "VmSize")

    def status() -> dict[str, int]:
        return {f: procfs.status_number(server.pid, f) for f in fields}

    tour.show(f"$ grep -E '{'|'.join(fields)}' /proc/{server.pid}/status")
    alone = status()
    tour.show(tour.t("02b.status", who=tour.t("02b.alone"), **alone))
    count = 10
    idle = open_idle(server, count)
    crowd = status()
    tour.show(tour.t("02b.status", who=tour.t("02b.crowd", count=count), **crowd))
    per = {f: (crowd[f] - alone[f]) / count for f in fields}
    tour.show(tour.t("02b.per", rss=per["VmRSS"], size=per["VmSize"] / 1024))
    close_all(idle)
    # The main thread joins a finished worker within its accept() timeout (250 ms).
    joined = procfs.wait_until(lambda: procfs.status_number(server.pid, "Threads") == 1, 3)
    tour.show(tour.t("02b.joined") if joined else "!! threads left behind")
    # Context switches per line: every thread sleeps in its own recv() and is woken for each
    # line, where one event loop takes the lines of many ready sockets per wakeup.
    threaded = switches_per_line(server)
    tour.show(tour.t("02b.switches", who="02b", per=threaded))
    loop = switches_per_line(tour.start("07-epoll-server"))
    tour.show(tour.t("02b.switches", who="07", per=loop))
    measured = tour.t("02b.measured", count=count, threads=crowd["Threads"] - alone["Threads"],
                      rss=per["VmRSS"], size=per["VmSize"] / 1024, switches=threaded,
                      loop=loop)
    tour.say("02b.lesson", measured=measured)
    return Row("02b-thread-server", tour.t("02b.row"), measured,
               alone["Threads"] == 1 and crowd["Threads"] == 1 + count and bool(joined)
               and threaded > loop)


def tour_02c(tour: Tour) -> Row:
    tour.say("02c.run")
    server = tour.start("02c-thread-pool-server", args=["--threads", "2"])
    idle = open_idle(server, 2)
    tour.show(tour.t("02c.idle"))
    third = Client(server.address)
    asked = time.monotonic()
    third.send(b"Hello\n")
    quiet = 0.5
    early = select.select([third.sock], [], [], quiet)[0]
    tour.show(tour.t("02c.queued", ms=quiet * 1000))
    threads = procfs.status_number(server.pid, "Threads")
    tour.show(f"$ grep Threads /proc/{server.pid}/status: Threads: {threads}")
    idle[0].close()
    left = time.monotonic()
    got = third.recv_exactly(6, timeout=5)
    answered = time.monotonic()
    expect(got, b"Uryyb\n")
    tour.show(tour.t("02c.answered", after=(answered - left) * 1000, got=got.decode().strip()))
    close_all([*idle[1:], third])
    measured = tour.t("02c.measured", waited=(answered - asked) * 1000,
                      after=(answered - left) * 1000)
    tour.say("02c.lesson", measured=measured)
    # The lesson, loosely: no answer while both threads were held, one within a few ms of a
    # thread coming free (half a second is far outside the noise), and 3 threads throughout.
    return Row("02c-thread-pool-server", tour.t("02c.row"), measured,
               not early and threads == 3 and answered - left < 0.5)


# Stages 03 to 06 ------------------------------------------------------------------------------

class Misbehaved(Exception):
    """A stage answered wrong: the tour fails that stage."""


def expect(got: bytes, want: bytes) -> None:
    if got != want:
        raise Misbehaved(f"answered {got!r} where the protocol says {want!r}")


def switches_per_line(server: ServerProcess, clients: int = 50, rounds: int = 20) -> float:
    """The server's context switches (every thread's) per line answered, while `clients`
    connections each send a line, `rounds` times over, all lines of a round in flight at once."""
    conns = [Client(server.address) for _ in range(clients)]
    try:
        before = procfs.task_context_switches(server.pid)
        for r in range(rounds):
            line = b"round %d\n" % r
            for c in conns:
                c.send(line)
            for c in conns:
                expect(c.recv_exactly(len(line), timeout=10), rot13(line))
        return (procfs.task_context_switches(server.pid) - before) / (clients * rounds)
    finally:
        close_all(conns)


def open_idle(server: ServerProcess, count: int) -> list[Client]:
    """`count` connected clients that have each been answered once, then stay quiet."""
    clients = []
    for _ in range(count):
        c = Client(server.address)
        c.send(b"x\n")
        clients.append(c)
    for c in clients:
        expect(c.recv_exactly(2, timeout=10), b"k\n")
    return clients


def close_all(clients: list[Client]) -> None:
    for c in clients:
        c.close()


def idle_cpu(server: ServerProcess, seconds: float = 1.0) -> float:
    """Fraction of one CPU the server uses while nobody sends anything."""
    before = procfs.tree_cpu_seconds(server.pid)
    time.sleep(seconds)
    return (procfs.tree_cpu_seconds(server.pid) - before) / seconds


def round_trip_us(server: ServerProcess, count: int = 400) -> float:
    """Median time for one short line to come back, in microseconds."""
    times = []
    with Client(server.address) as c:
        for i in range(count):
            started = time.perf_counter()
            c.send(b"ping\n")
            expect(c.recv_exactly(5, timeout=5), b"cvat\n")
            times.append(time.perf_counter() - started)
    times.sort()
    return times[len(times) // 2] * 1e6


def answer_one(tour: Tour, server: ServerProcess) -> bool:
    with Client(server.address) as c:
        c.send(b"Hello, world\n")
        got = c.recv_exactly(13, timeout=5)
    tour.show(f"client: Hello, world -> {got.decode(errors='replace').strip()}")
    return got == b"Uryyb, jbeyq\n"


def tour_03(tour: Tour) -> Row:
    tour.say("03.run")
    server = tour.start("03-nonblocking-spin")
    ok = answer_one(tour, server)
    idle = open_idle(server, 10)
    cpu = idle_cpu(server)
    close_all(idle)
    measured = tour.t("03.measured", percent=cpu * 100)
    tour.say("03.lesson", measured=measured)
    return Row("03-nonblocking-spin", tour.t("03.row"), measured, ok and cpu > 0.5)


def tour_04(tour: Tour) -> Row:
    tour.say("04.run")
    raise_descriptor_limit(4096)
    server = tour.start("04-select-server", wrapper=["prlimit", "--nofile=4096", "--"])
    ok = answer_one(tour, server)
    rtt_none = round_trip_us(server)
    idle = open_idle(server, 1000)
    cpu = idle_cpu(server, 0.5)
    rtt_many = round_trip_us(server)
    tour.show(tour.t("04.cost", none=rtt_none, many=rtt_many, cpu=cpu * 100))
    extra = []
    refused = False
    for _ in range(60):  # the server holds a few descriptors itself: 1024 is near
        c = Client(server.address)
        c.send(b"x\n")
        try:
            got = c.recv_exactly(2, timeout=5)
        except (ConnectionResetError, AssertionError):  # reset, or closed before answering
            refused = True
        else:
            expect(got, b"k\n")
        extra.append(c)
        if refused:
            break
    close_all(idle + extra)
    # The refusal must be the FD_SETSIZE one, logged with the descriptor it could not watch.
    logged = procfs.wait_until(lambda: next(
        (l for l in server.stderr().splitlines() if "past FD_SETSIZE" in l), ""), 3)
    tour.show(f"stderr: {logged or '!! no FD_SETSIZE refusal logged'}")
    number = re.search(r"descriptor (\d+)", logged or "")
    measured = tour.t("04.measured", fd=number.group(1) if number else "?", none=rtt_none,
                      many=rtt_many)
    tour.say("04.lesson", measured=measured)
    # The lesson, loosely: the same round trip costs clearly more beside 1000 idle descriptors
    # (about ten times here; two is far outside the noise of a median of 400).
    grows = rtt_many > 2 * rtt_none
    if not grows:
        tour.show("!! the round trip did not grow with 1000 idle connections")
    return Row("04-select-server", tour.t("04.row"), measured,
               ok and refused and bool(logged) and grows and cpu < 0.05)


def tour_event_driven(tour: Tour, program: str, key: str) -> Row:
    """05, 06 and 07: the backend, and a cost that stays flat beside 2000 idle connections."""
    tour.say(key + ".run")
    raise_descriptor_limit(4096)
    server = tour.start(program, wrapper=["prlimit", "--nofile=4096", "--"])
    ok = answer_one(tour, server)
    if key == "07":
        backend = "epoll"  # written out by hand: nothing to choose
    else:
        backend = procfs.wait_until(lambda: next(
            (l.rsplit(" with the ", 1)[1].split()[0] for l in server.stderr().splitlines()
             if " with the " in l), ""), 3)
        tour.show(f"stderr: {server.stderr().splitlines()[0] if server.stderr() else ''}")
    rtt_none = round_trip_us(server)
    idle = open_idle(server, 2000)
    cpu = idle_cpu(server, 0.5)
    rtt_many = round_trip_us(server)
    close_all(idle)
    measured = tour.t("evt.measured", backend=backend, none=rtt_none, many=rtt_many,
                      cpu=cpu * 100)
    tour.say(key + ".lesson", measured=measured)
    # The lesson, loosely: beside 2000 idle connections the round trip stays about the same
    # (04's grows about tenfold beside half as many; four times is far outside the noise).
    flat = rtt_many < 4 * rtt_none
    if not flat:
        tour.show("!! the round trip grew with 2000 idle connections")
    return Row(program, tour.t(key + ".row"), measured,
               ok and bool(backend) and flat and cpu < 0.05)


def tour_05(tour: Tour) -> Row:
    return tour_event_driven(tour, "05-libevent-events", "05")


def tour_06(tour: Tour) -> Row:
    return tour_event_driven(tour, "06-libevent-bufferevent", "06")


def tour_07(tour: Tour) -> Row:
    return tour_event_driven(tour, "07-epoll-server", "07")


# Stage 08 --------------------------------------------------------------------------------------

IO_CALL = re.compile(r"^(recv|send|read|write)")  # recvfrom, sendmsg, readv, write, ...


def tour_08(tour: Tour) -> Row:
    program = "08-io-uring-server"
    if not (tour.bin_dir / program).exists():  # built only where liburing was found
        tour.say("08.not_built")
        return Row(program, tour.t("08.row"), tour.t("08.not_built_row"), True, skipped=True)
    tour.say("08.run")
    server = tour.start(program)
    ok = answer_one(tour, server)
    rtt = round_trip_us(server)
    trips = 100
    calls = strace_counts(server, lambda: round_trip_us(server, trips))
    if calls is not None:
        tour.show(f"$ strace -c -f -p {server.pid}   ({tour.t('08.during', trips=trips)})")
        for name, count in sorted(calls.items(), key=lambda c: -c[1]):
            tour.show(f"    {name:16} {count:6}")
        io_calls = sum(n for name, n in calls.items() if IO_CALL.match(name))
        enters = calls.get("io_uring_enter", 0)
        measured = tour.t("08.measured", rtt=rtt, trips=trips, enters=enters, io=io_calls)
        ok &= enters > 0 and io_calls == 0
    else:  # no strace here, or not allowed to attach: the ring's own counters instead
        before = procfs.io_uring_counters(server.pid)
        round_trip_us(server, trips)
        after = procfs.io_uring_counters(server.pid)
        submitted, completed = (after[k] - before[k] for k in ("SqHead", "CqTail"))
        tour.show(tour.t("08.ring", trips=trips, submitted=submitted, completed=completed))
        measured = tour.t("08.measured_ring", rtt=rtt, trips=trips, submitted=submitted,
                          completed=completed)
        ok &= completed >= trips
    tour.say("08.lesson", measured=measured)
    return Row(program, tour.t("08.row"), measured, ok)


def strace_counts(server: ServerProcess, work) -> dict[str, int] | None:
    """The system calls the server makes while `work()` runs, counted by `strace -c -f -p`:
    {name: calls}. None if strace is not installed or may not attach (ptrace_scope, a
    container without CAP_SYS_PTRACE): the caller then measures another way."""
    strace = shutil.which("strace")
    if strace is None:
        return None
    with tempfile.TemporaryDirectory() as scratch:
        report = pathlib.Path(scratch) / "strace-c"
        tracer = subprocess.Popen([strace, "-c", "-f", "-o", str(report), "-p", str(server.pid)],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            attached = procfs.wait_until(
                lambda: tracer.poll() is not None
                or procfs.status_number(server.pid, "TracerPid") == tracer.pid, 5)
            if not attached or tracer.poll() is not None:
                return None
            work()
        finally:
            if tracer.poll() is None:
                tracer.send_signal(signal.SIGINT)  # strace detaches and writes its summary
            try:
                tracer.wait(timeout=5)
            except subprocess.TimeoutExpired:
                tracer.kill()
                tracer.wait()
        text = report.read_text() if report.exists() else ""
    # "% time  seconds  usecs/call  calls  errors  syscall" rows; the errors column may be empty.
    calls = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[3].isdigit() and fields[-1] != "total":
            calls[fields[-1]] = int(fields[3])
    return calls


def raise_descriptor_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))


# In the chapter's order; 02b and 02c are 02's variants (threads instead of processes).
STAGES = {
    "01": tour_01,
    "02": tour_02,
    "02b": tour_02b,
    "02c": tour_02c,
    "03": tour_03,
    "04": tour_04,
    "05": tour_05,
    "06": tour_06,
    "07": tour_07,
    "08": tour_08,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", action="append", default=[],
                        help="run only this stage (01, 02, ...); repeatable")
    parser.add_argument("--lang", choices=sorted(TEXT), default="en")
    parser.add_argument("--build-dir", default=str(REPO / "build" / "release"))
    args = parser.parse_args()
    wanted = [s.split("-")[0] for s in args.stage] or list(STAGES)
    unknown = [s for s in wanted if s not in STAGES]
    if unknown:
        parser.error(f"no such stage {unknown}; stages: {', '.join(STAGES)}")

    tour = Tour(pathlib.Path(args.build_dir) / "bin", args.lang)
    signal.signal(signal.SIGINT, on_interrupt)
    try:
        return run(tour, wanted)
    except KeyboardInterrupt:
        tour.stop_all()
        tour.stop_stragglers()
        print("\n" + tour.t("interrupted"), flush=True)  # on a line of its own, after the ^C
        return 130


def on_interrupt(signo, frame) -> None:
    """The first Ctrl-C stops the tour; later ones are ignored, so that none cuts the cleanup
    short (and none prints a traceback)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def run(tour: Tour, wanted: list[str]) -> int:
    """Runs the stages in `wanted`, prints the summary; returns the exit status."""
    tour.say("intro")
    rows: list[Row] = []
    try:
        for i, number in enumerate(wanted, 1):
            elapsed = time.monotonic() - tour.started
            print(f"\n[{i}/{len(wanted)}] {tour.t(number + '.title')}  ({elapsed:.0f} s)",
                  flush=True)
            try:
                rows.append(STAGES[number](tour))
            except Exception as e:  # a stage that misbehaves fails the tour, after cleanup
                tour.show(f"!! {type(e).__name__}: {e}")
                rows.append(Row(number, tour.t(number + ".row"), "error", False))
            for complaint in tour.stop_all():
                tour.show(f"!! {complaint}")
                rows[-1].ok = False
    finally:
        tour.stop_all()

    print("\n" + tour.t("summary"))
    width = max(len(r.stage) for r in rows)
    for r in rows:
        mark = "skipped" if r.skipped else "ok" if r.ok else "FAILED"
        print(f"  {r.stage:<{width}}  {mark:7}  {r.lesson}: {r.measured}")
    failed = [r.stage for r in rows if not r.ok]
    took = time.monotonic() - tour.started
    print("\n" + (tour.t("failed", stages=", ".join(failed)) if failed
                  else tour.t("done", seconds=took)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
