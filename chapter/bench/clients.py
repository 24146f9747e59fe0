"""The clients the driver holds itself, beside loadgen: idle connections (W3, W3b), each
answered once and then silent, and a flooder that sends without ever reading (W6)."""
from __future__ import annotations

import selectors
import socket
import time

from chapter.bench.sizes import IDLE_OPEN_LIMIT, Failure, NotMeasured


class IdleConnections:
    """N connections held open by this process, each answered once ('idle' -> 'vqyr') and then
    silent. Opened in batches of 256 (well under the servers' listen backlog of 1024). One the
    server closes instead of answering is refused (a select() server past FD_SETSIZE); a wrong
    answer, or none within 10 s, is a Failure."""

    BATCH = 256
    ANSWER_TIMEOUT = 10.0  # as loadgen's own idle connections
    LINE, ANSWER = b"idle\n", b"vqyr\n"

    def __init__(self):
        self.held: list[socket.socket] = []
        self.refused = 0

    def open(self, address: tuple[str, int], count: int, deadline: float) -> None:
        """Opens `count` connections to `address`; raises NotMeasured if `deadline` passes
        first."""
        for done in range(0, count, self.BATCH):
            batch = []
            try:
                for _ in range(min(self.BATCH, count - done)):
                    batch.append(self._connect(address, deadline))
                answers = self._answers(batch, min(deadline,
                                                   time.monotonic() + self.ANSWER_TIMEOUT))
            except BaseException:
                self._close(batch)
                raise
            for s in batch:
                answer, closed = answers[s]
                if answer == self.ANSWER:
                    self.held.append(s)
                    continue
                s.close()
                if closed and not answer:
                    self.refused += 1
                elif time.monotonic() >= deadline:
                    self._close(batch)
                    raise NotMeasured(self._late(count))
                else:  # some bytes but not the answer, or silence: a wrong server, not a full one
                    self._close(batch)
                    raise Failure(f"an idle connection got {answer!r} "
                                  f"{'then end of file' if closed else 'and then nothing'}, "
                                  f"not {self.ANSWER!r}")

    def _connect(self, address: tuple[str, int], deadline: float) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            s.connect(address)
            s.sendall(self.LINE)
        except socket.timeout:
            s.close()
            raise NotMeasured(self._late(len(self.held))) from None
        except OSError:
            pass  # reset or refused at once: shows as end of file without an answer
        return s

    def _late(self, count: int) -> str:
        return (f"opening {count} idle connections took over {IDLE_OPEN_LIMIT:.0f} s "
                f"({len(self.held)} held, {self.refused} refused by then)")

    def _answers(self, batch: list[socket.socket], until: float) -> dict:
        """{socket: (bytes received, closed by the server)} once each has its answer or is
        closed, or at `until`."""
        got = {s: b"" for s in batch}
        closed = set()
        with selectors.DefaultSelector() as sel:
            for s in batch:
                try:
                    s.setblocking(False)
                    sel.register(s, selectors.EVENT_READ)
                except (OSError, ValueError):
                    closed.add(s)
            while sel.get_map() and time.monotonic() < until:
                for key, _ in sel.select(max(0.0, until - time.monotonic())):
                    s = key.fileobj
                    try:
                        data = s.recv(len(self.ANSWER) - len(got[s]))
                    except OSError:
                        data = b""
                    got[s] += data
                    if not data:
                        closed.add(s)
                    if not data or len(got[s]) >= len(self.ANSWER):
                        sel.unregister(s)
        return {s: (got[s], s in closed) for s in batch}

    @staticmethod
    def _close(sockets) -> None:
        for s in sockets:
            s.close()

    def close(self) -> None:
        self._close(self.held)
        self.held = []


def flood_until_stalled(address: tuple[str, int], quiet: float, limit_bytes: int,
                        limit_seconds: float) -> tuple[socket.socket, int, float]:
    """Connects and sends lines without ever reading, until nothing more is taken for `quiet`
    seconds (the server stopped reading: backpressure). Returns the socket (still open, still
    stalled), the bytes sent and the seconds it took."""
    chunk = b"floodfloodflood\n" * 4096  # 64 KiB of 16-byte lines
    s = socket.create_connection(address, timeout=5)
    s.setblocking(False)
    sent, start = 0, time.monotonic()
    with selectors.DefaultSelector() as sel:
        sel.register(s, selectors.EVENT_WRITE)
        while sent < limit_bytes and time.monotonic() - start < limit_seconds:
            try:
                sent += s.send(chunk)
                continue
            except BlockingIOError:
                pass
            if not sel.select(quiet):
                break  # stalled: the socket stayed full for `quiet` seconds
    return s, sent, time.monotonic() - start
