#!/usr/bin/python3
"""Broken on purpose: at end of input the partial line is dropped (fails rule 4), as the book's
fork server does with the bytes after the last newline."""
from rot13_server import Server, main


class LostTail(Server):
    def end_of_input(self, conn) -> None:
        conn.pending.clear()  # the bug: the line without its LF is never answered
        conn.ended = True


if __name__ == "__main__":
    raise SystemExit(main(LostTail))
