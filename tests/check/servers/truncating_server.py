#!/usr/bin/python3
"""Broken on purpose: a line longer than 16384 bytes loses its rest (fails rule 3), the fixed
buffer of the book's select() version done wrong."""
from rot13_server import MAX_LINE, ROT13, Server, main


class Truncating(Server):
    def received(self, conn, data: bytes) -> None:
        conn.pending += data
        while (lf := conn.pending.find(b"\n")) >= 0:
            # The bug: the line is cut at the buffer's size and the rest thrown away.
            self.answer(conn, bytes(conn.pending[:min(lf, MAX_LINE)]).translate(ROT13) + b"\n")
            del conn.pending[:lf + 1]


if __name__ == "__main__":
    raise SystemExit(main(Truncating))
