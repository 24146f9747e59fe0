"""The one list of server stages. Every protocol, lesson and robustness test runs against each
entry; a new stage joins every test by being added here.

Run as a script it prints each stage's id and program, one stage per line (with --soak: those
the soak test runs): CMake reads them to register one CTest test per stage (protocol.02,
protocol.05-poll, ...), for the stages whose program this build has (tests/CMakeLists.txt).
"""
from __future__ import annotations

import dataclasses
import sys


@dataclasses.dataclass(frozen=True)
class Stage:
    program: str  # the stage directory and program name, e.g. "04-select-server"
    backend: str = ""  # for libevent stages: which backend the environment selects
    env: tuple[tuple[str, str], ...] = ()  # extra environment for the server
    args: tuple[str, ...] = ()  # extra command-line arguments for the server
    linux_only: bool = False  # built on Linux alone (CMakeLists.txt), and listed there alone
    threads: int | None = None  # the pool size the suite gives it (--threads), for a pool

    @property
    def model(self) -> str:
        """The IO model whose lessons it is held to (scripts/check --model, tests/support/rules.py).
        libevent on its select backend is held to select()'s lessons: its limit is FD_SETSIZE."""
        if self.backend == "select":
            return "select"
        return {"02": "fork", "02b": "thread", "02c": "pool", "03": "spin", "04": "select",
                "08": "completion"}.get(self.number, "event")

    @property
    def number(self) -> str:
        """The stage's number as its directory starts: "02", "02b", "05"."""
        return self.program.split("-", 1)[0]

    @property
    def id(self) -> str:
        """Short name used in test ids and by --stage: "02", "05-poll"."""
        return self.number + (f"-{self.backend}" if self.backend else "")

    def __str__(self) -> str:
        return self.id


def libevent_backends(program: str) -> list[Stage]:
    """One entry per libevent backend on Linux, selected the way libevent's own tests do."""
    return [
        Stage(program, "epoll"),
        Stage(program, "poll", (("EVENT_NOEPOLL", "1"),)),
        Stage(program, "select", (("EVENT_NOEPOLL", "1"), ("EVENT_NOPOLL", "1"))),
    ]


SERVER_STAGES: list[Stage] = [
    Stage("02-fork-server"),
    Stage("02b-thread-server"),
    # The suite keeps up to 200 clients connected at once; a pool smaller than that leaves the
    # extra clients unanswered, which is 02c's lesson (tests/protocol/test_lessons.py), not a
    # protocol failure. So the suite runs it with a pool larger than any test's crowd.
    Stage("02c-thread-pool-server", threads=256),
    Stage("03-nonblocking-spin"),
    Stage("04-select-server"),
    *libevent_backends("05-libevent-events"),
    *libevent_backends("06-libevent-bufferevent"),
    Stage("07-epoll-server", linux_only=True),  # bonus: raw epoll, the benchmarks' reference
    Stage("08-io-uring-server", linux_only=True),  # bonus: completion IO with io_uring
]
SERVER_STAGES = [s for s in SERVER_STAGES if not s.linux_only or sys.platform.startswith("linux")]

CLIENT_STAGE = "01-blocking-client"


def soak_stages() -> list[Stage]:
    """The soak test's stages: each program once, libevent ones on their default backend (the
    other backends get every other test; a minute each of them again would double CI)."""
    return [s for s in SERVER_STAGES if s.backend in ("", "epoll")]


def select(patterns: list[str]) -> list[Stage]:
    """The stages whose id or program starts with one of `patterns` (all if none given)."""
    if not patterns:
        return list(SERVER_STAGES)
    chosen = [s for s in SERVER_STAGES
              if any(s.id == p or s.id.startswith(p + "-") or s.program == p
                     or s.program.startswith(p + "-") for p in patterns)]
    if not chosen:
        raise ValueError(f"no stage matches {patterns}; stages: {[s.id for s in SERVER_STAGES]}")
    return chosen


if __name__ == "__main__":
    chosen = soak_stages() if sys.argv[1:] == ["--soak"] else SERVER_STAGES
    print("\n".join(f"{s.id} {s.program}" for s in chosen))
    sys.exit(0)
