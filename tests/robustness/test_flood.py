"""A client that floods the server and never reads (rule 5 of docs/protocol.md).

It sends 256 MiB of lines. A server with no bound on what it owes would buffer its answers:
the book's bufferevent version grows by hundreds of megabytes. Ours stop reading that client,
so its sends stall, its memory stays small, and every other client is still answered at once;
when the flooder finally reads, every byte it is owed arrives, in order, correct.
"""
from __future__ import annotations

import time

import pytest

from chapter import procfs
from chapter.client import Client
from chapter.reference import answer
from chapter.sampling import SANITIZED, RssSampler, record_figure

pytestmark = pytest.mark.rule(5)

TOTAL = 256 << 20
MEMORY_LIMIT = 32 << 20
LINE = bytes(range(32, 32 + 95)) * 10 + b"flood!\n"  # 957 bytes of printable ASCII, then LF
BLOCK = LINE * 64  # whole lines, so BLOCK * n is answered as answer(BLOCK) * n


class PeriodicChecker:
    """Compares a stream of received bytes with answer(BLOCK) repeated, without storing it."""

    def __init__(self):
        self.expected = answer(BLOCK, ended=False)
        self.doubled = self.expected * 2
        self.offset = 0

    def check(self, chunk: bytes) -> None:
        period = len(self.expected)
        start = self.offset % period
        pos = 0
        while pos < len(chunk):
            n = min(len(chunk) - pos, period)
            want = self.doubled[start:start + n]
            got = chunk[pos:pos + n]
            if got != want:
                first = next(i for i, (a, b) in enumerate(zip(got, want)) if a != b)
                raise AssertionError(f"wrong byte at offset {self.offset + pos + first}: "
                                     f"got {got[first:first + 20]!r}, want {want[first:first + 20]!r}")
            pos += n
            start = (start + n) % period
        self.offset += len(chunk)


def test_flooding_client_stalls_only_itself_and_gets_every_byte(server, request):
    baseline = procfs.tree_rss_bytes(server.pid)  # first: with --connect, not run, no client left
    flooder = Client(server.address)
    with flooder, RssSampler(server.pid) as sampler:
        # Phase 1: send without reading until the server stops taking more.
        stalled_at = flooder.send_until_stalled(BLOCK, limit=TOTAL, quiet=1.0)
        assert stalled_at < TOTAL, "the server read 256 MiB from a client that never reads"
        # Phase 2: meanwhile, another client is answered within 100 ms, every time.
        worst = 0.0
        with Client(server.address) as other:
            for i in range(20):
                started = time.monotonic()
                other.send(b"are you there? %d\n" % i)
                other.expect(answer(b"are you there? %d\n" % i, ended=False), timeout=5)
                worst = max(worst, time.monotonic() - started)
        assert worst < 0.1, f"another client waited {worst * 1000:.0f} ms"
        # Phase 3: the flooder reads at last, and sends the rest of its 256 MiB meanwhile.
        checker = PeriodicChecker()
        rest = TOTAL - stalled_at
        received = flooder.stream(BLOCK, skip=stalled_at % len(BLOCK), count=rest,
                                  on_receive=checker.check, timeout=240)
        server_rss = sampler.peak
    assert received == TOTAL  # an answer is as long as its line: every byte came back
    growth = server_rss - (baseline if SANITIZED else 0)
    record_figure(request.config, request.node.name, stalled_after_bytes=stalled_at,
                  peak_rss_bytes=server_rss, other_client_worst_ms=worst * 1000)
    assert growth < MEMORY_LIMIT, f"server resident memory reached {server_rss >> 20} MiB"
