"""The scripted session scripts/trace plays against every stage: four clients, one that connects
and stays idle, two that send a line each at staggered times, and one that sends a long line in
three pieces and half-closes; about a second and a half."""
from __future__ import annotations

import dataclasses
import threading
import time

from chapter.client import Client
from chapter.reference import answer

LONG_LINE = b"".join(b"A long line, sent in pieces: %04d. " % i for i in range(60)) + b"\n"
PIECES = [LONG_LINE[:700], LONG_LINE[700:1400], LONG_LINE[1400:]]
SESSION = [
    (0.10, "idle", "connect", b""),
    (0.20, "A", "connect", b""),
    (0.30, "A", "send", b"Hello, world!\n"),
    (0.45, "B", "connect", b""),
    (0.55, "B", "send", b"Who waits where?\n"),
    (0.70, "C", "connect", b""),
    (0.80, "C", "send", PIECES[0]),
    (0.95, "C", "send", PIECES[1]),
    (1.10, "C", "send", PIECES[2]),
    (1.10, "C", "half-close", b""),
    (1.30, "idle", "close", b""),
    (1.35, "A", "close", b""),
]
CLIENTS = ["idle", "A", "B", "C"]
# After its answer B closes at once; C reads to the end of file, then closes.
ANSWER_TIMEOUT = 5.0
TAIL = 0.10  # traced after the last client event, before the server is stopped


@dataclasses.dataclass
class ClientEvent:
    time: float
    client: str
    kind: str  # connect, send, half-close, answer, close


def run_session(address: tuple[str, int]) -> tuple[float, list[ClientEvent]]:
    """Plays SESSION against a server: one thread per client, each doing its steps at their
    times and waiting for its answers. Returns the start time and the events, with the clock
    strace uses (time.time()). Raises if an answer is wrong or missing."""
    start = time.time() + 0.05
    events: list[ClientEvent] = []
    lock = threading.Lock()
    failures: list[str] = []

    def note(client: str, kind: str) -> None:
        with lock:
            events.append(ClientEvent(time.time(), client, kind))

    def at(offset: float) -> None:
        time.sleep(max(0.0, start + offset - time.time()))

    def play(name: str) -> None:
        steps = [s for s in SESSION if s[1] == name]
        client = None
        sent = b""
        try:
            for offset, _, action, data in steps:
                at(offset)
                if action == "connect":
                    client = Client(address, timeout=ANSWER_TIMEOUT)
                    note(name, "connect")
                elif action == "send":
                    client.send(data)
                    note(name, "send")
                    sent += data
                    if data.endswith(b"\n") and name != "C":
                        client.expect(answer(sent), timeout=ANSWER_TIMEOUT)
                        note(name, "answer")
                        sent = b""
                elif action == "half-close":
                    client.shutdown_write()
                    note(name, "half-close")
                    got = client.recv_until_eof(timeout=ANSWER_TIMEOUT)
                    if got != answer(sent):
                        raise AssertionError(f"wrong answer: {got[:60]!r}")
                    note(name, "answer")
                elif action == "close":
                    client.close()
                    note(name, "close")
                    client = None
            if client is not None:
                client.close()
                note(name, "close")
        except (AssertionError, OSError) as e:
            with lock:
                failures.append(f"client {name}: {e}")

    threads = [threading.Thread(target=play, args=(name,)) for name in CLIENTS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise AssertionError("; ".join(failures))
    events.sort(key=lambda e: e.time)
    return start, events
