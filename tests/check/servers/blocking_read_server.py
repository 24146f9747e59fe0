#!/usr/bin/python3
"""Broken on purpose: once a line has begun, waits in a blocking recv() for its end (fails rule
6): one quiet client holds up everyone, the mistake an event loop exists to avoid."""
from rot13_server import MAX_LINE, Server, main


class BlockingRead(Server):
    def received(self, conn, data: bytes) -> None:
        while b"\n" not in data and len(conn.pending) + len(data) < MAX_LINE:
            conn.sock.setblocking(True)  # the bug: waits for this client alone
            more = conn.sock.recv(4096)
            conn.sock.setblocking(False)
            if not more:
                break  # end of input: the next readable event reports it
            data += more
        super().received(conn, data)


if __name__ == "__main__":
    raise SystemExit(main(BlockingRead))
