"""Starting a server the way a user would, and stopping it the way a user would.

Two ways to know a server is ready: our stages print a ready line (`listening on HOST:PORT`,
docs/protocol.md) after `--port 0`, which the tour and the benchmarks use; any other program
(scripts/check starts whatever a student wrote) is given a free port and is ready once that port
is listening.
"""
from __future__ import annotations

import contextlib
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

from chapter import procfs, rules

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


class Program:
    """The program run by itself, with options of a test's choosing (the command line's tests):
    in a process group of its own, known to kill_all(), and never waited for without a bound.
    Used as a context manager, it leaves nothing running: what has not stopped is killed, with
    whatever it started."""

    def __init__(self, argv: list[str], env: dict[str, str]):
        self.argv = argv
        _Starting.now = True
        try:
            self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         stdin=subprocess.DEVNULL, text=True, env=env,
                                         start_new_session=True)
            LIVE.add(self)
        except OSError as e:
            raise NeverListened(cannot_start(argv, e)) from None
        finally:
            _Starting.now = False
        if _Starting.pending:
            _Starting.pending = False
            raise KeyboardInterrupt

    @property
    def stdout(self):
        return self.proc.stdout

    def finish(self, timeout: float, why: str) -> subprocess.CompletedProcess:
        """Waits `timeout` seconds for the program to exit by itself; its output and status.
        A program still running then is killed, and the test fails saying `why` it should
        have exited."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.close()
            raise AssertionError(f"`{shlex.join(self.argv)}` was still running {timeout:g} s "
                                 f"after it started (so it was stopped): {why}") from None
        return subprocess.CompletedProcess(self.argv, self.proc.returncode, out, err)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, then its exit status; if it is still running `timeout` seconds later, it is
        killed (with its group) and the test fails saying so."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.close()
            raise AssertionError(f"still running {timeout:g} s after SIGTERM (so it was "
                                 "killed): docs/protocol.md wants a server to stop within a "
                                 "second of SIGINT or SIGTERM, with exit status 0") from None

    def close(self) -> None:
        LIVE.discard(self)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe:
                pipe.close()

    def __enter__(self) -> "Program":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def cannot_start(argv: list[str], error: OSError) -> str:
    """One sentence for a program that cannot even be started (not built, not executable)."""
    program = argv[0]
    if isinstance(error, FileNotFoundError):
        why = "there is no such file" + (" (did you build it?)" if "/" in program else
                                         " on PATH")
    elif isinstance(error, PermissionError):
        why = "it is not executable (chmod +x, or run it with its interpreter)"
    else:
        why = error.strerror or str(error)
    return f"cannot start {program}: {why}"


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
        except OSError as e:  # not built, not executable: one sentence, never a traceback
            self._stderr.close()
            if self._stdout is not None:
                self._stdout.close()
            raise NeverListened(cannot_start(self.argv, e)) from None
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

    def stall_report(self) -> str:
        """What the server is doing while a client waits in vain, where /proc can tell: a loop
        that waits in a send() or a recv() for one client serves no other (the hints of
        chapter/rules.py name the likely bug from these words)."""
        call = procfs.blocked_in(self.pid) if self.alive() else ""
        if call == "send":
            return (f"; meanwhile the server was {rules.BLOCKED_IN_SEND}() (its main thread "
                    "waited for a client to read)")
        if call == "recv":
            return ("; meanwhile the server was blocked in a recv() (its main thread waited for "
                    "one client to send)")
        return ""

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
            self.returncode = self.proc.returncode
            raise AssertionError(f"{self.name} was still running {timeout:g} s after "
                                 f"{signal.Signals(signo).name} (so it was killed): "
                                 "docs/protocol.md wants a server to stop within a second of "
                                 "SIGINT or SIGTERM, with exit status 0") from None
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
