"""08-io-uring-server's step of the tour (chapter/tour.py): the round trip, and the system calls
it makes: io_uring_enter(), and no recv() or send() of its own."""
from __future__ import annotations

import re

from chapter import measure, procfs
from chapter.tour import Row, Tour, answer_one, count_calls

TEXT = {
    "en": {
        "run": "We hand the kernel the receives and sends; it tells us when each is done:",
        "during": "during {trips} round trips",
        "ring": "strace unavailable here; the ring's counters in /proc/PID/fdinfo, during "
                "{trips} round trips: {submitted} submissions, {completed} completions",
        "measured": "round trip {rtt:.0f} us; {trips} round trips: {enters} io_uring_enter, "
                    "{io} recv/send/read/write",
        "measured_ring": "round trip {rtt:.0f} us; {trips} round trips: {submitted} "
                         "submissions, {completed} completions",
        "lesson": "Lesson: the kernel does the receiving and sending; the server only submits "
                  "and reaps, in io_uring_enter() ({measured}).",
        "row": "system calls per round trip",
    },
    "zh-CN": {
        "run": "我们把接收和发送交给内核；每一项完成时，内核通知我们：",
        "during": "{trips} 次往返期间",
        "ring": "这里用不了 strace；改看 /proc/PID/fdinfo 里环的计数器，{trips} 次往返期间：提交 {submitted} 项，"
                "完成 {completed} 项",
        "measured": "往返时间 {rtt:.0f} 微秒；{trips} 次往返：io_uring_enter {enters} 次，"
                    "recv/send/read/write {io} 次",
        "measured_ring": "往返时间 {rtt:.0f} 微秒；{trips} 次往返：提交 {submitted} 项，完成 {completed} 项",
        "lesson": "要点：接收和发送由内核完成；服务器只在 io_uring_enter() 里提交请求、收取完成事件（{measured}）。",
        "row": "每次往返的系统调用",
    },
}


IO_CALL = re.compile(r"^(recv|send|read|write)")  # recvfrom, sendmsg, readv, write, ...


def run(tour: Tour) -> Row:
    tour.say("run")
    server = tour.start()
    ok = answer_one(tour, server)
    rtt = measure.round_trip_us(server.address)
    trips = 100
    calls = count_calls(tour, server, lambda: measure.round_trip_us(server.address, trips),
                        tour.t("during", trips=trips))
    if calls is not None:
        io_calls = sum(n for name, n in calls.items() if IO_CALL.match(name))
        enters = calls.get("io_uring_enter", 0)
        measured = tour.t("measured", rtt=rtt, trips=trips, enters=enters, io=io_calls)
        ok &= enters > 0 and io_calls == 0
    else:  # no strace here, or not allowed to attach: the ring's own counters instead
        before = procfs.io_uring_counters(server.pid)
        measure.round_trip_us(server.address, trips)
        after = procfs.io_uring_counters(server.pid)
        submitted, completed = (after[k] - before[k] for k in ("SqHead", "CqTail"))
        tour.show(tour.t("ring", trips=trips, submitted=submitted, completed=completed))
        measured = tour.t("measured_ring", rtt=rtt, trips=trips, submitted=submitted,
                          completed=completed)
        ok &= completed >= trips
    tour.say("lesson", measured=measured)
    return tour.row(measured, ok)
