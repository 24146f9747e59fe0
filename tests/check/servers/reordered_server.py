#!/usr/bin/python3
"""Broken on purpose: the lines that one read brings are answered last first (fails rule 2).

A line at a time the answers look right; only pipelined lines, several in one segment, show it."""
from rot13_server import MAX_LINE, ROT13, Server, main


class Reordered(Server):
    def received(self, conn, data: bytes) -> None:
        conn.pending += data
        answers = []
        while (lf := conn.pending.find(b"\n", 0, MAX_LINE)) >= 0 or len(conn.pending) >= MAX_LINE:
            end = lf if lf >= 0 else MAX_LINE
            answers.append(bytes(conn.pending[:end]).translate(ROT13) + b"\n")
            del conn.pending[:end + (1 if lf >= 0 else 0)]
        for answer in reversed(answers):  # the bug: a stack where a queue belongs
            self.answer(conn, answer)


if __name__ == "__main__":
    raise SystemExit(main(Reordered))
