#!/usr/bin/python3
"""Broken on purpose: closes the connection as soon as the client's input ends, with answers
still owed (fails rule 4)."""
from rot13_server import Server, main


class EarlyClose(Server):
    def end_of_input(self, conn) -> None:
        super().end_of_input(conn)
        conn.owed.clear()  # the bug: what was not sent yet is thrown away with the connection


if __name__ == "__main__":
    raise SystemExit(main(EarlyClose))
