"""Running scripts/check as its users do, for the tests of the tester itself."""
from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
CHECK = REPO / "scripts" / "check"
SERVERS = REPO / "tests" / "check" / "servers"


def check(*args: str, timeout: float = 600, env: dict[str, str] | None = None,
          cwd: pathlib.Path = REPO) -> subprocess.CompletedProcess:
    """scripts/check ARGS, as a student runs it (the command, which runs Debian's Python with
    pytest), from the repository's top unless `cwd` says otherwise: its output and exit
    status."""
    return subprocess.run([str(CHECK), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env={**os.environ, **(env or {})},
                          stdin=subprocess.DEVNULL)


# The C servers: one source, poll_server.c, built as it is (the known-good C server) or with
# one classic bug (tests/check/test_broken_servers.py names them).
C_SOURCE = SERVERS / "poll_server.c"
C_BUGS = {"poll_server": "", "sigpipe_server": "BUG_SIGPIPE",
          "leak_on_reset_server": "BUG_LEAK_ON_RESET", "deaf_to_sigterm_server": "BUG_IGNORE_SIGTERM",
          "stop_race_server": "BUG_STOP_RACE", "blocking_send_server": "BUG_BLOCKING_SEND"}


def c_server(name: str, directory: pathlib.Path) -> pathlib.Path:
    """Compiles poll_server.c into `directory`/`name`, with the bug `name` stands for."""
    program = directory / name
    bug = [f"-D{C_BUGS[name]}"] if C_BUGS[name] else []
    subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-Werror", *bug, "-o", str(program),
                    str(C_SOURCE)], check=True, capture_output=True, text=True)
    return program


def processes_running(path: str) -> list[int]:
    """The processes whose command line names `path`: none may outlive a run of the tester."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and path in open(f"/proc/{entry}/cmdline").read():
                found.append(int(entry))
        except OSError:
            continue
    return found


def python_server(name: str) -> list[str]:
    """The command that starts tests/check/servers/NAME.py, as a student would type it."""
    return [sys.executable, f"tests/check/servers/{name}.py", "--bind", "{host}", "--port",
            "{port}"]


def normalized(output: str) -> str:
    """The output without what changes from run to run or machine to machine: durations,
    ports, this checkout's path and the interpreter's, and what of a Python traceback in a
    server's stderr depends on the Python version (line numbers, the ^^^ marks of 3.11)."""
    output = output.replace(sys.executable, "python3").replace(str(REPO), "REPO")
    output = re.sub(r"/tmp/pytest-of-[^/]+/pytest-\d+/[^/\s]+/", "TMP/", output)  # a test's dir
    output = re.sub(r"^ *\| *[\^~]+ *\n", "", output, flags=re.MULTILINE)
    output = re.sub(r'(\| +File "[^"]+", )line \d+', r"\1line N", output)
    output = re.sub(r" *\d+\.\d\d s$", "  N.NN s", output, flags=re.MULTILINE)
    output = re.sub(r"(127\.0\.0\.1|localhost|\[::1\]|::1):\d+", r"\1:PORT", output)
    output = re.sub(r"(port|ports) \d{4,5}\b", r"\1 PORT", output)
    return output
