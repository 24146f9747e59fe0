"""Starting a server the way a user would, and stopping it the way a user would.

Two ways to know a server is ready: our stages print a ready line (`listening on HOST:PORT`,
docs/protocol.md) after `--port 0`, which the tour and the benchmarks use; any other program
(scripts/check starts whatever a student wrote) is given a free port and is ready once that port
is listening.
"""
from __future__ import annotations

import os
import pathlib
import re
import selectors
import shlex
import signal
import socket
import subprocess
import tempfile
import time

from chapter import procfs

READY = re.compile(r"^listening on (\[(?P<v6>[^\]]+)\]|(?P<v4>[^:\s]+)):(?P<port>\d+)$")
START_TIMEOUT = float(os.environ.get("TEST_START_TIMEOUT", "10"))
STOP_TIMEOUT = float(os.environ.get("TEST_STOP_TIMEOUT", "1"))
# Lines that mean a sanitizer or valgrind found something: any of them fails the test.
REPORT_PATTERNS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: ThreadSanitizer", "Invalid read", "Invalid write")


# Every server started and not closed yet: scripts/check ends them all if it is interrupted.
LIVE: set["ServerProcess"] = set()


def kill_all() -> None:
    """Ends every server still running (and, for a command, whatever it started)."""
    for server in list(LIVE):
        server.close()


class _Starting:
    """Set while a process is being started and not yet in LIVE: an interrupt waits until it
    is, or the process would escape kill_all()."""
    now = False
    pending = False


def interrupt(signo, frame) -> None:
    """scripts/check's handler for SIGINT and SIGTERM: stops the run as Ctrl-C does."""
    if _Starting.now:
        _Starting.pending = True
        return
    raise KeyboardInterrupt


class NeverListened(AssertionError):
    """The program exited, or did not listen, within START_TIMEOUT: scripts/check exits 2."""


def free_port(host: str) -> int:
    """A port the kernel considers free on `host` now (another program may take it before the
    server binds it: ServerProcess.command retries then)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def exit_description(status: int | None) -> str:
    """`exit status 1`, `killed by SIGSEGV`, or `still running`."""
    if status is None:
        return "still running"
    if status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exit status {status}"


class ServerProcess:
    """One running server. `ServerProcess(program, ...)` starts one of our stages with
    `--port 0` and reads its ready line; `ServerProcess.command(argv, host, port)` starts any
    program and waits until `port` listens.

    `wrapper` (or the TEST_SERVER_WRAPPER environment variable) prefixes the command line, e.g.
    `prlimit --nofile=64` or a valgrind invocation.
    """

    def __init__(self, program: pathlib.Path | None = None, *, env: dict[str, str] | None = None,
                 bind: str = "127.0.0.1", wrapper: list[str] | None = None,
                 extra_args: list[str] | None = None, argv: list[str] | None = None,
                 port: int | None = None):
        if wrapper is None:
            wrapper = shlex.split(os.environ.get("TEST_SERVER_WRAPPER", ""))
        if argv is None:
            argv = [str(program), "--bind", bind, "--port", "0", *(extra_args or [])]
        self.argv = [*wrapper, *argv]
        self.program = pathlib.Path(program or argv[0])
        self.name = self.program.name
        self.returncode: int | None = None
        self._stderr = tempfile.TemporaryFile()
        self._stdout = None if port is None else tempfile.TemporaryFile()
        full_env = dict(os.environ)
        full_env.update(env or {})
        _Starting.now = True
        try:
            self.proc = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, env=full_env, stderr=self._stderr,
                stdout=subprocess.PIPE if port is None else self._stdout,
                # A command we did not write may be a shell or a launcher with children of its
                # own: its own process group lets close() end all of them.
                start_new_session=port is not None)
            LIVE.add(self)
        finally:
            _Starting.now = False
        if _Starting.pending:
            _Starting.pending = False
            raise KeyboardInterrupt
        if port is None:
            self.host, self.port = self._wait_ready_line()
            self._pid = self.proc.pid
        else:
            self.host, self.port = bind, port
            self._pid = self._wait_listening()

    @classmethod
    def command(cls, argv: list[str], *, host: str, port: int, env: dict[str, str] | None = None,
                wrapper: list[str] | None = None) -> "ServerProcess":
        return cls(argv=argv, bind=host, port=port, env=env, wrapper=wrapper)

    @property
    def pid(self) -> int:
        """The process that holds the listening socket: the program itself, or (when the command
        is a launcher such as `sh -c` or `cargo run`) the descendant that listens."""
        return self._pid

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def _wait_ready_line(self) -> tuple[str, int]:
        line = b""
        deadline = time.monotonic() + START_TIMEOUT
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while not line.endswith(b"\n"):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not sel.select(remaining):
                    self.kill()
                    raise NeverListened(f"{self.argv}: no 'listening on' line within "
                                        f"{START_TIMEOUT}s; stderr: {self.stderr()!r}")
                chunk = os.read(self.proc.stdout.fileno(), 1)
                if not chunk:
                    self.proc.wait(timeout=5)
                    raise NeverListened(f"{self.argv} exited ({self.proc.returncode}) before "
                                        f"it was ready; stderr: {self.stderr()!r}")
                line += chunk
        text = line.decode().strip()
        match = READY.match(text)
        assert match, f"unexpected ready line {text!r}"
        return (match.group("v6") or match.group("v4"), int(match.group("port")))

    def _wait_listening(self) -> int:
        exited = -1
        holder = procfs.wait_until(
            lambda: procfs.listener_pid(self.port, self.proc.pid) if self.alive() else exited,
            START_TIMEOUT)
        if holder == exited:
            raise NeverListened(
                f"{shlex.join(self.argv)}: {exit_description(self.proc.returncode)} before "
                f"listening on port {self.port}\n{self.stderr_tail()}")
        if holder:
            return holder
        self.kill()
        raise NeverListened(f"{shlex.join(self.argv)}: not listening on {self.host}:{self.port} "
                            f"after {START_TIMEOUT:g} s\n{self.stderr_tail()}")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def stderr_tail(self, lines: int = 10) -> str:
        """The last lines of stderr, indented, for a failure message."""
        tail = self.stderr().splitlines()[-lines:]
        return "\n".join(f"    | {l}" for l in tail) if tail else "    (nothing on stderr)"

    def send_signal(self, signo: int) -> None:
        self.proc.send_signal(signo)

    def stop(self, signo: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> float:
        """Sends `signo` and waits; returns the seconds it took. Raises if it did not exit."""
        start = time.monotonic()
        if self.alive():
            self.proc.send_signal(signo)
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name} still running {timeout}s after "
                                 f"{signal.Signals(signo).name}")
        return time.monotonic() - start

    def kill(self) -> None:
        if self._stdout is not None:  # its own process group: whatever it started goes too
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self.alive():
            self.proc.kill()
        self.proc.wait(timeout=10)

    def reports(self) -> list[str]:
        """Sanitizer or valgrind error lines in the server's stderr."""
        return [l for l in self.stderr().splitlines() if any(p in l for p in REPORT_PATTERNS)]

    def close(self) -> None:
        LIVE.discard(self)
        self.kill()
        if self.proc.stdout:
            self.proc.stdout.close()
        if self._stdout is not None:
            self._stdout.close()
        self._stderr.close()
