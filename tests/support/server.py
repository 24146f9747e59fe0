"""Starting a server stage the way a user would, and stopping it the way a user would."""
from __future__ import annotations

import os
import pathlib
import re
import selectors
import shlex
import signal
import subprocess
import tempfile
import time

READY = re.compile(r"^listening on (\[(?P<v6>[^\]]+)\]|(?P<v4>[^:\s]+)):(?P<port>\d+)$")
START_TIMEOUT = float(os.environ.get("TEST_START_TIMEOUT", "10"))
STOP_TIMEOUT = float(os.environ.get("TEST_STOP_TIMEOUT", "1"))
# Lines that mean a sanitizer or valgrind found something: any of them fails the test.
REPORT_PATTERNS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: ThreadSanitizer", "Invalid read", "Invalid write")


class ServerProcess:
    """One running server stage, started with --port 0 on loopback.

    `wrapper` (or the TEST_SERVER_WRAPPER environment variable) prefixes the command line, e.g.
    `prlimit --nofile=64` or a valgrind invocation.
    """

    def __init__(self, program: pathlib.Path, *, env: dict[str, str] | None = None,
                 bind: str = "127.0.0.1", wrapper: list[str] | None = None,
                 extra_args: list[str] | None = None):
        self.program = program
        if wrapper is None:
            wrapper = shlex.split(os.environ.get("TEST_SERVER_WRAPPER", ""))
        self.argv = [*wrapper, str(program), "--bind", bind, "--port", "0", *(extra_args or [])]
        self._stderr = tempfile.TemporaryFile()
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._stderr, env=full_env)
        self.host, self.port = self._wait_ready()
        self.returncode: int | None = None

    @property
    def pid(self) -> int:
        """The server's own pid. With a wrapper that execs (prlimit, valgrind) it is the same."""
        return self.proc.pid

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def _wait_ready(self) -> tuple[str, int]:
        line = b""
        deadline = time.monotonic() + START_TIMEOUT
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while not line.endswith(b"\n"):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not sel.select(remaining):
                    self.kill()
                    raise AssertionError(f"{self.argv}: no 'listening on' line within "
                                         f"{START_TIMEOUT}s; stderr: {self.stderr()!r}")
                chunk = os.read(self.proc.stdout.fileno(), 1)
                if not chunk:
                    self.proc.wait(timeout=5)
                    raise AssertionError(f"{self.argv} exited ({self.proc.returncode}) before "
                                         f"it was ready; stderr: {self.stderr()!r}")
                line += chunk
        text = line.decode().strip()
        match = READY.match(text)
        assert match, f"unexpected ready line {text!r}"
        return (match.group("v6") or match.group("v4"), int(match.group("port")))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

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
            raise AssertionError(f"{self.program.name} still running {timeout}s after "
                                 f"{signal.Signals(signo).name}")
        return time.monotonic() - start

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
            self.proc.wait(timeout=10)

    def reports(self) -> list[str]:
        """Sanitizer or valgrind error lines in the server's stderr."""
        return [l for l in self.stderr().splitlines() if any(p in l for p in REPORT_PATTERNS)]

    def close(self) -> None:
        self.kill()
        if self.proc.stdout:
            self.proc.stdout.close()
        self._stderr.close()
