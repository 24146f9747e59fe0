#!/usr/bin/python3
"""A ROT13 line server in Python that obeys every rule of docs/protocol.md: the tester's
known-good program (tests/check), and a model for writing your own (docs/write-your-own.md).

    python3 rot13_server.py --port 40713        # then: printf 'Hello\\n' | nc -N 127.0.0.1 40713

One thread, one event loop (the selectors module: epoll on Linux), as 07 does in C++. The broken
servers next to it each inherit this class and break one thing.
"""
from __future__ import annotations

import argparse
import errno
import os
import selectors
import signal
import socket
import sys

MAX_LINE = 16384  # rule 3: a line ends here if no LF came first
MAX_OWED = 64 * 1024  # rule 5: stop reading a client once this much output waits for it
ROT13 = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                        b"NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm")
PROGRAM = os.path.basename(sys.argv[0])


def log(call: str, error: OSError) -> None:
    """One line per failure, as docs/protocol.md says: `program: call: strerror`."""
    print(f"{PROGRAM}: {call}: {os.strerror(error.errno) if error.errno else error}",
          file=sys.stderr, flush=True)


class Connection:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.pending = bytearray()  # the line begun and not ended yet
        self.owed = bytearray()  # answers not sent yet
        self.ended = False  # the client shut down its write side


class Server:
    def __init__(self, host: str, port: int):
        self.listener = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host
                                             else socket.AF_INET, backlog=128)
        self.listener.setblocking(False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ)
        self.connections: dict[socket.socket, Connection] = {}
        self.spare = os.open(os.devnull, os.O_RDONLY)  # rule 8: a descriptor kept in reserve
        # Rule 10: SIGINT and SIGTERM stop the loop. A signal writes a byte into this socket
        # pair (signal.set_wakeup_fd), which wakes select(): the loop ends between two events,
        # never in the middle of one.
        self.wakeup, self.wakeup_writer = socket.socketpair()
        for end in (self.wakeup, self.wakeup_writer):
            end.setblocking(False)
        self.selector.register(self.wakeup, selectors.EVENT_READ)

    def address(self) -> str:
        host, port = self.listener.getsockname()[:2]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def stop_on(self, stop_signals) -> None:
        """Before the ready line: a signal that comes once a client knows we listen must find
        its handler in place, or it kills the process (rule 10 wants exit status 0)."""
        for signo in stop_signals:
            signal.signal(signo, lambda signo, frame: None)  # the wakeup byte does the work
        signal.set_wakeup_fd(self.wakeup_writer.fileno())

    def run(self) -> None:
        while True:
            for key, events in self.selector.select():
                if key.fileobj is self.wakeup:
                    return
                if key.fileobj is self.listener:
                    self.accept()
                    continue
                conn = self.connections.get(key.fileobj)
                if conn and events & selectors.EVENT_READ:
                    self.readable(conn)
                if conn and conn.sock in self.connections and events & selectors.EVENT_WRITE:
                    self.writable(conn)

    def accept(self) -> None:
        try:
            sock, _ = self.listener.accept()
        except BlockingIOError:
            return
        except OSError as e:
            if e.errno not in (errno.EMFILE, errno.ENFILE):
                log("accept", e)
                return
            # Out of descriptors: free the spare, take the connection, close it at once, so the
            # listener stops being readable and the loop does not spin (rule 8).
            os.close(self.spare)
            try:
                self.listener.accept()[0].close()
            except OSError:
                pass
            self.spare = os.open(os.devnull, os.O_RDONLY)
            log("accept: closing a connection", e)
            return
        sock.setblocking(False)
        self.connections[sock] = Connection(sock)
        self.selector.register(sock, selectors.EVENT_READ)

    def readable(self, conn: Connection) -> None:
        try:
            data = conn.sock.recv(MAX_LINE)
        except BlockingIOError:
            return
        except OSError as e:
            return self.failed(conn, "recv", e)
        if data:
            self.received(conn, data)
        else:
            self.end_of_input(conn)
        self.watch(conn)

    def received(self, conn: Connection, data: bytes) -> None:
        conn.pending += data
        while True:
            lf = conn.pending.find(b"\n", 0, MAX_LINE)
            if lf < 0 and len(conn.pending) < MAX_LINE:
                return  # rule 2: no answer before the line ends
            end = lf if lf >= 0 else MAX_LINE
            self.answer(conn, bytes(conn.pending[:end]).translate(ROT13) + b"\n")
            del conn.pending[:end + (1 if lf >= 0 else 0)]

    def answer(self, conn: Connection, data: bytes) -> None:
        conn.owed += data

    def end_of_input(self, conn: Connection) -> None:
        # Rule 4: the partial line is answered without an LF, then everything owed is sent.
        self.answer(conn, bytes(conn.pending).translate(ROT13))
        conn.pending.clear()
        conn.ended = True

    def writable(self, conn: Connection) -> None:
        try:
            sent = conn.sock.send(conn.owed)
        except BlockingIOError:
            return
        except OSError as e:
            return self.failed(conn, "send", e)
        del conn.owed[:sent]
        self.watch(conn)

    def watch(self, conn: Connection) -> None:
        """What to wait for next: read while less than MAX_OWED is owed and input goes on (rule
        5), write while something is owed; when the input ended and all is sent, close."""
        if conn.sock not in self.connections:
            return
        if conn.ended and not conn.owed:
            return self.close(conn)
        events = 0
        if not conn.ended and len(conn.owed) < MAX_OWED:
            events |= selectors.EVENT_READ
        if conn.owed:
            events |= selectors.EVENT_WRITE
        self.selector.modify(conn.sock, events)

    def failed(self, conn: Connection, call: str, error: OSError) -> None:
        """Rule 7: a reset or vanished peer ends its own connection, logged in one line."""
        log(call, error)
        self.close(conn)

    def close(self, conn: Connection) -> None:
        """Rule 9: a client that leaves takes everything it held with it."""
        self.selector.unregister(conn.sock)
        del self.connections[conn.sock]
        conn.sock.close()

    def shut(self) -> None:
        for conn in list(self.connections.values()):
            self.close(conn)
        self.listener.close()
        os.close(self.spare)
        signal.set_wakeup_fd(-1)
        self.wakeup.close()
        self.wakeup_writer.close()


def port_number(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise ValueError(text)
    return port


def main(server_class=Server, stop_signals=(signal.SIGTERM, signal.SIGINT)) -> int:
    parser = argparse.ArgumentParser(description="ROT13 line server (docs/protocol.md)")
    parser.add_argument("--bind", metavar="ADDR", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", metavar="PORT", type=port_number, default=40713,
                        help="TCP port, 0 to 65535 (default 40713; 0 picks a free port)")
    args = parser.parse_args()  # a bad command line: usage on stderr, exit status 2
    try:
        server = server_class(args.bind, args.port)
    except OSError as e:
        print(f"{PROGRAM}: bind {args.bind}:{args.port}: {os.strerror(e.errno)}", file=sys.stderr)
        return 1

    server.stop_on(stop_signals)
    print(f"listening on {server.address()}", flush=True)
    server.run()
    server.shut()
    return 0


if __name__ == "__main__":
    sys.exit(main())
