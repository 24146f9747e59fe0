"""A raw-bytes client for the line protocol. Every wait is bounded by a deadline."""
from __future__ import annotations

import selectors
import socket
import struct
import time

from chapter.bytesdiff import Mismatch, assert_answer

DEFAULT_TIMEOUT = 10.0
SENT_KEPT = 16 << 20  # bytes of what was sent kept for a failure message


# Functions that say what the server is doing, called when an answer does not come in time (the
# suite's fixtures register one for each server they start: chapter/server.py, stall_report()).
# What they return is added to the failure: "the server was blocked in a send()...".
STALL_OBSERVERS: list = []


class ShortRead(AssertionError):
    """Fewer bytes than wanted: the connection closed, or the deadline passed. `received`
    holds what did arrive."""

    def __init__(self, message: str, received: bytes, closed: bool):
        super().__init__(message)
        self.received, self.closed = received, closed


class Client:
    def __init__(self, address: tuple[str, int], timeout: float = DEFAULT_TIMEOUT,
                 name: str = ""):
        self.name = name  # "client 4 of 200": failures of a test with many clients say which
        self.sock = socket.create_connection(address, timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.sent = bytearray()  # what this connection sent (its first SENT_KEPT bytes)
        self.answered = 0  # how much of `sent` earlier expect() calls covered

    def _record(self, data: bytes) -> None:
        if len(self.sent) < SENT_KEPT:
            self.sent += data[:SENT_KEPT - len(self.sent)]

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)
        self._record(data)

    def shutdown_write(self) -> None:
        """Half-close: 'I will send nothing more' (what `nc -N` does at end of its input)."""
        self.sock.shutdown(socket.SHUT_WR)

    def _recv_before(self, deadline: float, most: int) -> bytes | None:
        """One recv() of at most `most` bytes, waiting no later than `deadline`; None if the
        deadline passed first, b"" at end of file."""
        while (remaining := deadline - time.monotonic()) > 0:
            self.sock.settimeout(remaining)
            try:
                return self.sock.recv(most)
            except socket.timeout:
                continue
        return None

    def recv_exactly(self, n: int, timeout: float | None = None) -> bytes:
        deadline = time.monotonic() + (timeout or self.timeout)
        chunks, got = [], 0
        while got < n:
            chunk = self._recv_before(deadline, min(n - got, 1 << 20))
            if not chunk:
                what = "before the deadline" if chunk is None else "before the connection closed"
                raise ShortRead(f"got {got} of {n} bytes {what}; "
                                f"last bytes: {b''.join(chunks)[-60:]!r}", b"".join(chunks),
                                closed=chunk is not None)
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def expect(self, data: bytes, timeout: float | None = None) -> None:
        """Reads len(data) bytes and compares them with `data`; on any difference, a short
        answer, a close or a reset, raises Mismatch with what was sent since the last expect(),
        expected and received."""
        sent = bytes(self.sent[self.answered:])
        try:
            got = self.recv_exactly(len(data), timeout)
        except ShortRead as e:
            what = ("the server closed the connection before the whole answer arrived"
                    if e.closed else f"no more answer within {timeout or self.timeout:g} s "
                                     "(the server stopped answering)"
                    + "".join(observe() for observe in STALL_OBSERVERS))
            raise Mismatch(self._named(what), sent=sent, expected=data,
                           received=e.received) from None
        except ConnectionResetError:
            raise Mismatch(self._named("the server reset the connection (did it crash, or close "
                                       "with unread input?)"), sent=sent, expected=data,
                           received=b"") from None
        try:
            assert_answer(got, data, sent=sent)
        except Mismatch as e:
            raise Mismatch(self._named(e.what), sent=sent, expected=data, received=got) from None
        self.answered = len(self.sent)

    def _named(self, what: str) -> str:
        return f"{self.name}: {what}" if self.name else what

    def recv_until_eof(self, timeout: float | None = None) -> bytes:
        deadline = time.monotonic() + (timeout or self.timeout)
        chunks = []
        while (chunk := self._recv_before(deadline, 1 << 20)) is not None:
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
        raise AssertionError(f"no end of file within the deadline; got "
                             f"{sum(map(len, chunks))} bytes")

    def expect_closed_by_server(self, timeout: float | None = None) -> None:
        """The server closes without sending anything: end of file, or a reset if it closed
        while our bytes sat unread in its queue (both mean 'closed at once')."""
        try:
            rest = self.recv_until_eof(timeout)
        except ConnectionResetError:
            return
        assert rest == b"", f"expected the connection closed, got {rest[:60]!r}"

    def recv_for(self, seconds: float) -> bytes:
        """Whatever arrives within `seconds` (used to check that nothing is sent early)."""
        deadline = time.monotonic() + seconds
        chunks = []
        while (remaining := deadline - time.monotonic()) > 0:
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(1 << 16)
            except socket.timeout:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)

    def exchange(self, data: bytes, half_close: bool = True, timeout: float = 60.0,
                 chunk: int = 1 << 16) -> bytes:
        """Sends `data` while reading answers (a server stops reading a client that does not
        read), then half-closes and reads to end of file. Returns everything received."""
        received: list[bytes] = []
        self.stream(data, count=len(data), on_receive=received.append, half_close=half_close,
                    timeout=timeout, chunk=chunk)
        return b"".join(received)

    def stream(self, pattern: bytes, count: int, on_receive, skip: int = 0,
               half_close: bool = True, timeout: float = 60.0, chunk: int = 1 << 16) -> int:
        """Sends `count` bytes of `pattern` repeated (starting `skip` bytes into it) while
        passing every received chunk to `on_receive`; then half-closes and reads to end of
        file. Returns the number of bytes received. Nothing is stored, so it suits floods."""
        deadline = time.monotonic() + timeout
        period = len(pattern)
        window = pattern * (chunk // period + 2)  # any `chunk` bytes from any offset
        offset, sent, received = skip % period, 0, 0
        self.sock.setblocking(False)
        try:
            with selectors.DefaultSelector() as sel:
                sel.register(self.sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
                writing = count > 0
                if not writing:
                    self._finish_sending(sel, half_close)
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise AssertionError(f"stream timed out: sent {sent} of {count}, "
                                             f"received {received}")
                    for _key, events in sel.select(remaining):
                        if events & selectors.EVENT_WRITE and writing:
                            n = min(chunk, count - sent)
                            try:
                                n = self.sock.send(window[offset:offset + n])
                            except BlockingIOError:
                                n = 0
                            self._record(window[offset:offset + n])
                            sent += n
                            offset = (offset + n) % period
                            if sent == count:
                                writing = False
                                self._finish_sending(sel, half_close)
                        if events & selectors.EVENT_READ:
                            try:
                                got = self.sock.recv(1 << 20)
                            except BlockingIOError:
                                continue
                            if not got:
                                return received
                            received += len(got)
                            on_receive(got)
        finally:
            self.sock.setblocking(True)

    def _finish_sending(self, sel, half_close: bool) -> None:
        if half_close:
            self.sock.shutdown(socket.SHUT_WR)
        sel.modify(self.sock, selectors.EVENT_READ)

    def send_until_stalled(self, chunk: bytes, limit: int, quiet: float = 0.5,
                           timeout: float = 30.0) -> int:
        """Sends `chunk` over and over without reading, until the connection takes nothing
        for `quiet` seconds (the server stopped reading and every buffer is full) or `limit`
        bytes are sent. Returns the bytes sent; they are a prefix of chunk * n."""
        self.sock.setblocking(False)
        sent, offset = 0, 0
        deadline = time.monotonic() + timeout
        last_progress = time.monotonic()
        try:
            while sent < limit and time.monotonic() < deadline:
                try:
                    n = self.sock.send(chunk[offset:])
                except BlockingIOError:
                    if time.monotonic() - last_progress > quiet:
                        break
                    time.sleep(0.005)
                    continue
                self._record(chunk[offset:offset + n])
                sent += n
                offset = (offset + n) % len(chunk)
                last_progress = time.monotonic()
        finally:
            self.sock.setblocking(True)
        return sent

    def reset(self) -> None:
        """Closes with RST instead of FIN (SO_LINGER with a zero timeout): a vanished peer."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self) -> None:
        self.sock.close()
