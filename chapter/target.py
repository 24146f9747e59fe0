"""What the protocol suite talks to: a command it starts (one of our stages, or anyone's program,
by scripts/check), or a server someone else started (`scripts/check --connect HOST:PORT`).

A test asks its target for a server (`start_server(...)`, chapter/pytest_plugin.py) and never
knows which program answers. What a target cannot do, it says, and the test is reported as not
run, with the reason: a server started by hand cannot be restarted under prlimit, and the tester
does not know its process. `Target` and `Server` say what every target and every server it
starts offer; `Command` and `Connect` are the two targets.
"""
from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
from typing import Protocol

import pytest

from chapter import stages
from chapter.server import NeverListened, Program, ServerProcess, free_port


class Server(Protocol):
    """A running server, as a test sees it."""
    host: str
    port: int
    returncode: int | None

    @property
    def address(self) -> tuple[str, int]: ...
    @property
    def pid(self) -> int: ...  # the process that listens (not run: unknown with --connect)
    def stderr(self) -> str: ...  # its log (not run: unseen with --connect)
    def alive(self) -> bool: ...
    def stop(self, signo: int = ..., timeout: float = ...) -> float: ...
    def reports(self) -> list[str]: ...  # sanitizer or valgrind findings in its log
    def close(self) -> None: ...


class Target(Protocol):
    """What the protocol suite tests: it starts servers, and runs the program by itself."""
    id: str
    model: str | None  # the IO model whose lessons apply (--model; a stage's own)
    stage: stages.Stage | None  # one of our stages, or None for anyone's program

    def start(self, *, bind: str = ..., wrapper: list[str] | None = ...,
              threads: int | None = ..., env: dict[str, str] | None = ...) -> Server: ...
    def run(self, *args: str, timeout: float = ...) -> subprocess.CompletedProcess: ...
    def popen(self, *args: str) -> Program: ...
    def base_argv(self) -> list[str]: ...


PLACEHOLDERS = ("{port}", "{host}", "{threads}")


def not_run(why: str):
    """Ends the current test as not run (a pytest skip, which scripts/check reports as such)."""
    pytest.skip(f"not run: {why}")


@dataclasses.dataclass
class Command:
    """A command line with `{port}` in it (and optionally `{host}` and `{threads}`): the tester
    picks a free port, substitutes it, starts the program and waits until the port listens."""
    argv: list[str]
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    model: str | None = None  # the IO model whose lessons apply (chapter/rules.py MODELS)
    stage: stages.Stage | None = None  # for our own programs
    threads: int | None = None  # what {threads} becomes when a test does not say
    id: str = "command"
    deaf_to_sigterm: bool = False  # it once outlived SIGTERM: later tests kill it at once

    def __post_init__(self):
        if not any("{port}" in a for a in self.argv):
            raise ValueError("the command must say where the port goes: {port}, e.g. "
                             "scripts/check -- python3 my_server.py --port {port}")

    def _fill(self, argv: list[str], host: str, port: int | str, threads) -> list[str]:
        values = {"{port}": str(port), "{host}": host, "{threads}": str(threads)}
        filled = []
        for arg in argv:
            for placeholder, value in values.items():
                arg = arg.replace(placeholder, value)
            filled.append(arg)
        return filled

    def start(self, *, bind: str = "127.0.0.1", wrapper: list[str] | None = None,
              threads: int | None = None, env: dict[str, str] | None = None) -> ServerProcess:
        text = " ".join(self.argv)
        if bind != "127.0.0.1" and "{host}" not in text:
            not_run(f"the test listens on {bind}, and the command has no {{host}} to say so")
        if threads is not None and "{threads}" not in text:
            not_run("the test sets the pool's size, and the command has no {threads} to say so")
        threads = threads if threads is not None else self.threads
        full_env = {**self.env, **(env or {})}
        for attempt in range(3):
            port = free_port(bind)
            try:
                return ServerProcess.command(self._fill(self.argv, bind, port, threads),
                                             host=bind, port=port, env=full_env, wrapper=wrapper)
            except NeverListened as e:
                # Another program took the free port between our check and the server's bind.
                if attempt == 2 or "in use" not in str(e).lower():
                    raise

    def base_argv(self) -> list[str]:
        """The command without its `--bind {host}`, `--port {port}` and `--threads {threads}`
        pairs, for the tests of docs/protocol.md's command line; only a program that takes
        `--port {port}` has them."""
        argv = list(self.argv)
        if "--port" not in argv or argv[argv.index("--port") + 1:][:1] != ["{port}"]:
            not_run("the command line's tests need a program that takes --port {port} (and "
                    "--bind, --help), as docs/protocol.md's command line says")
        # Each option whose value is a placeholder goes: the tests give their own options.
        i = 0
        while i + 1 < len(argv):
            if argv[i].startswith("-") and argv[i + 1] in PLACEHOLDERS:
                del argv[i:i + 2]
            else:
                i += 1
        return self._fill(argv, "127.0.0.1", 0, self.threads)

    def popen(self, *args: str) -> Program:
        """Starts the program with `args` instead of --bind/--port; stdout is a text pipe. Use
        it in a `with`: whatever still runs at its end is killed."""
        return Program([*self.base_argv(), *args], {**os.environ, **self.env})

    def run(self, *args: str, timeout: float = 10) -> subprocess.CompletedProcess:
        """Runs the program with `args` instead of --bind/--port, to its exit, which must come
        within `timeout` seconds (else it is killed and the test fails saying so)."""
        with Program([*self.base_argv(), *args], {**os.environ, **self.env}) as program:
            return program.finish(timeout, "given this command line, a server exits at once: "
                                           "status 2 and its usage for a bad option or value, "
                                           "status 1 when it cannot start, status 0 after "
                                           "--help (docs/protocol.md, command line)")


def alive_for_this_rule(server, what: str) -> None:
    """Ends the test as not run when the server died doing `what`: that death is another
    rule's failure (rule 7's, for a reset), already reported there; this test checks only its
    own rule, which needs the server alive."""
    if isinstance(server, ServerProcess) and not server.alive():
        server.returncode = server.proc.returncode  # seen: the fixture need not report it again
        not_run(f"the server died when {what}, which is rule 7's failure; this test needs it "
                "alive")


def on_this_machine(server) -> None:
    """Ends the test as not run when the server is not on this machine, whose connection
    tables (/proc/net/tcp) the test reads."""
    if not getattr(server, "local", True):
        not_run("the test counts the server's connections in this machine's /proc/net/tcp, "
                "and the server is elsewhere")


class ElsewhereServer:
    """A server the tester did not start: it has an address and nothing else."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.returncode = None
        # On this machine, as far as the tester can tell: /proc/net/tcp shows its connections.
        self.local = host in ("localhost", "::1") or host.startswith("127.")

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def pid(self) -> int:
        not_run("the test reads the server's /proc entries, and with --connect the tester "
                "does not know its process")

    def stderr(self) -> str:
        not_run("the test reads the server's log, and with --connect the tester cannot see it")

    def alive(self) -> bool:
        """Whether it still accepts connections (all the tester can know)."""
        try:
            socket.create_connection(self.address, timeout=2).close()
            return True
        except OSError:
            return False

    def stop(self, *args, **kwargs) -> float:
        not_run("the test stops the server, and with --connect the tester did not start it")

    def reports(self) -> list[str]:
        return []

    def close(self) -> None:
        pass


def parse_address(text: str) -> tuple[str, int]:
    """`127.0.0.1:9000` or `[::1]:9000` -> (host, port); ValueError when it is neither."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--connect wants HOST:PORT, e.g. 127.0.0.1:9000, not {text!r}")
    return host.strip("[]"), int(port)


@dataclasses.dataclass
class Connect:
    """A server already running at host:port, started by hand."""
    host: str
    port: int
    model: str | None = None
    stage: stages.Stage | None = None
    id: str = "connect"

    def start(self, *, bind: str = "127.0.0.1", wrapper: list[str] | None = None,
              threads: int | None = None, env: dict[str, str] | None = None) -> ElsewhereServer:
        if wrapper or threads is not None or env or bind != "127.0.0.1":
            why = " ".join(wrapper or []) or (f"on {bind}" if bind != "127.0.0.1" else
                                               "with other options")
            not_run(f"the test starts the server itself ({why}), and with --connect the tester "
                    "cannot")
        return ElsewhereServer(self.host, self.port)

    def run(self, *args, **kwargs):
        not_run("the test runs the program with other options, and with --connect the tester "
                "has no program")

    def base_argv(self):
        self.run()

    popen = run


def stage_command(stage: stages.Stage, bin_dir) -> Command:
    """One of our stages, as the command the tester starts."""
    argv = [str(bin_dir / stage.program), "--bind", "{host}", "--port", "{port}"]
    if stage.pool_option is not None:
        argv += [stage.pool_option, "{threads}"]
    return Command(argv, env=dict(stage.env), model=stage.model, stage=stage,
                   threads=stage.threads, id=stage.id)
