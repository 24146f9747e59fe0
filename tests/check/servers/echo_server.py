#!/usr/bin/python3
"""Broken on purpose: a plain echo server, answering each line unchanged (fails rule 1)."""
from rot13_server import Server, main


class Echo(Server):
    def answer(self, conn, data: bytes) -> None:
        # The bug: sends the input back as it came, when the protocol wants its ROT13.
        super().answer(conn, data.translate(bytes.maketrans(
            b"NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm",
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")))


if __name__ == "__main__":
    raise SystemExit(main(Echo))
