#!/usr/bin/python3
"""Broken on purpose: a plain echo server, answering each line unchanged (fails rule 1)."""
from rot13_server import ROT13, Server, main


class Echo(Server):
    def answer(self, conn, data: bytes) -> None:
        # The bug: sends the input back as it came, when the protocol wants its ROT13 (ROT13
        # undoes itself: applied to the answer, it gives back the input).
        super().answer(conn, data.translate(ROT13))


if __name__ == "__main__":
    raise SystemExit(main(Echo))
