#!/usr/bin/python3
"""Broken on purpose: the lines that one read brings are answered last first (fails rule 2).

A line at a time the answers look right; only pipelined lines, several in one segment, show it."""
from rot13_server import Server, main


class Reordered(Server):
    def received(self, conn, data: bytes) -> None:
        start = len(conn.owed)
        super().received(conn, data)
        answers = conn.owed[start:].split(b"\n")[:-1]  # this read's answers, each ending in LF
        # The bug: a stack where a queue belongs.
        conn.owed[start:] = b"".join(answer + b"\n" for answer in reversed(answers))


if __name__ == "__main__":
    raise SystemExit(main(Reordered))
