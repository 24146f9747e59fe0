#!/usr/bin/python3
"""Broken on purpose: a failed recv() or send() (a client that reset its connection) kills the
whole server (fails rule 7)."""
from rot13_server import Server, main


class CrashOnReset(Server):
    def failed(self, conn, call: str, error: OSError) -> None:
        raise error  # the bug: ECONNRESET ends the process, not the one connection


if __name__ == "__main__":
    raise SystemExit(main(CrashOnReset))
