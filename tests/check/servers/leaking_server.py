#!/usr/bin/python3
"""Broken on purpose: a client that leaves is shut down but its descriptor never closed (fails
rule 9): the server runs out of descriptors after enough clients."""
import socket

from rot13_server import Server, main


class Leaking(Server):
    def __init__(self, *args):
        super().__init__(*args)
        self.kept = []

    def close(self, conn) -> None:
        self.selector.unregister(conn.sock)
        del self.connections[conn.sock]
        try:
            conn.sock.shutdown(socket.SHUT_RDWR)  # the client sees the end of the connection...
        except OSError:
            pass
        self.kept.append(conn.sock)  # the bug: ...but the descriptor stays open


if __name__ == "__main__":
    raise SystemExit(main(Leaking))
