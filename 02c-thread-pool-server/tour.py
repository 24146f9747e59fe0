"""02c-thread-pool-server's step of the tour (chapter/tour.py): a pool of two threads, two idle
clients, and a third that waits until one of them leaves."""
from __future__ import annotations

import select
import time

from chapter import measure, procfs
from chapter.client import Client
from chapter.tour import Row, Tour, expect

TEXT = {
    "en": {
        "run": "A pool of 2 threads; two clients connect and stay idle, then a third sends a line:",
        "idle": "clients 1 and 2: answered once, now idle, each holding one of the 2 threads",
        "queued": "client 3: sent 'Hello', no answer in {ms:.0f} ms: it waits in the queue",
        "answered": "client 1 leaves: client 3 is answered {after:.1f} ms later: {got}",
        "measured": "client 3 waited {waited:.0f} ms, answered {after:.1f} ms after a thread "
                    "came free",
        "lesson": "Lesson: a pool caps the threads, but a blocking thread is held by its "
                  "client, idle or not ({measured}).",
        "row": "pool of 2, a third client waits",
    },
    "zh-CN": {
        "run": "线程池只有 2 个线程；两个客户端连上后保持空闲，然后第三个发送一行：",
        "idle": "客户端 1 和 2：各得到一次应答后保持空闲，各占住 2 个线程中的一个",
        "queued": "客户端 3：发出 'Hello'，{ms:.0f} 毫秒内没有得到应答：它在队列里等着",
        "answered": "客户端 1 离开：{after:.1f} 毫秒后客户端 3 得到应答：{got}",
        "measured": "客户端 3 等了 {waited:.0f} 毫秒，在有线程空出后 {after:.1f} 毫秒得到应答",
        "lesson": "要点：线程池限制了线程数，但阻塞式的线程被它的客户端占住，不管客户端有没有在说话（{measured}）。",
        "row": "2 个线程的池，第三个客户端要等",
    },
}


def run(tour: Tour) -> Row:
    tour.say("run")
    server = tour.start(args=[tour.stage.pool["option"], "2"])
    idle = measure.open_idle(server.address, 2)
    tour.show(tour.t("idle"))
    third = Client(server.address)
    asked = time.monotonic()
    third.send(b"Hello\n")
    quiet = 0.5
    early = select.select([third.sock], [], [], quiet)[0]
    tour.show(tour.t("queued", ms=quiet * 1000))
    threads = procfs.status_number(server.pid, "Threads")
    tour.show(f"$ grep Threads /proc/{server.pid}/status: Threads: {threads}")
    idle[0].close()
    left = time.monotonic()
    got = third.recv_exactly(6, timeout=5)
    answered = time.monotonic()
    expect(got, b"Uryyb\n")
    tour.show(tour.t("answered", after=(answered - left) * 1000, got=got.decode().strip()))
    measure.close_all([*idle[1:], third])
    measured = tour.t("measured", waited=(answered - asked) * 1000,
                      after=(answered - left) * 1000)
    tour.say("lesson", measured=measured)
    # The lesson, loosely: no answer while both threads were held, one within a few ms of a
    # thread coming free (half a second is far outside the noise), and 3 threads throughout.
    return tour.row(measured, not early and threads == 3 and answered - left < 0.5)
