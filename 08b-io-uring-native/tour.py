"""08b-io-uring-native's step of the tour (chapter/tour.py): 08 and 08b side by side, each measured
the same way: system calls and submissions per round trip, and the memory each idle connection
costs (VmRSS growth over 1000 idle connections)."""
from __future__ import annotations

from chapter import measure, procfs, strace
from chapter.tour import Row, Tour, answer_one, room_for

TRIPS = 100
IDLE = 1000

TEXT = {
    "en": {
        "run": "08 and 08b side by side: round trips, then 1000 idle connections held by each:",
        "server": "{program}: per round trip {enters} io_uring_enter, {submitted:.1f} "
                  "submissions, {completed:.1f} completions; {idle} per idle connection",
        "no_strace": "?",
        "measured": "per round trip {sqes_08:.1f} submissions for 08, {sqes:.1f} for 08b; "
                    "per idle connection {idle_08} for 08, {idle} for 08b",
        "lesson": "Lesson: the recv stays armed and the kernel picks a buffer only when data "
                  "comes, so fewer submissions and almost no memory per idle connection "
                  "({measured}).",
        "row": "submissions and memory per idle connection",
    },
    "zh-CN": {
        "run": "08 与 08b 并排：先测往返，再让各自持有 1000 个空闲连接：",
        "server": "{program}：每次往返 io_uring_enter {enters} 次，提交 {submitted:.1f} 项，"
                  "完成事件 {completed:.1f} 个；每个空闲连接 {idle}",
        "no_strace": "？",
        "measured": "每次往返提交：08 {sqes_08:.1f} 项，08b {sqes:.1f} 项；每个空闲连接：08 {idle_08}，"
                    "08b {idle}",
        "lesson": "要点：recv 一直挂着，内核只在数据到来时才取一个预置缓冲区，所以提交更少，"
                  "空闲连接几乎不占内存（{measured}）。",
        "row": "提交次数与每个空闲连接的内存",
    },
}


def size(n: float) -> str:
    return f"{n / 1024:.1f} KiB" if n >= 1024 else f"{n:.0f} B"


def measure_server(tour: Tour, program: str) -> tuple[bool, float, float]:
    """Starts `program`, and measures it: (answered right, submissions per round trip, resident
    bytes per idle connection)."""
    server = tour.start(program, wrapper=room_for(4 * IDLE))
    ok = answer_one(tour, server)
    measure.round_trip_us(server.address)  # warm: 08b's ring has given out every buffer once
    before = procfs.io_uring_counters(server.pid)
    calls = strace.count_calls(server.pid, lambda: measure.round_trip_us(server.address, TRIPS))
    if calls is None:  # no strace here: the ring's counters alone
        measure.round_trip_us(server.address, TRIPS)
    after = procfs.io_uring_counters(server.pid)
    submitted, completed = ((after[k] - before[k]) / TRIPS for k in ("SqHead", "CqTail"))
    rss = procfs.rss_bytes(server.pid)
    idle = measure.open_idle(server.address, IDLE)
    per_idle = (procfs.rss_bytes(server.pid) - rss) / IDLE
    measure.close_all(idle)
    enters = tour.t("no_strace") if calls is None else f"{calls.get('io_uring_enter', 0) / TRIPS:.1f}"
    tour.show(tour.t("server", program=program, enters=enters, submitted=submitted,
                     completed=completed, idle=size(per_idle)))
    return ok, submitted, per_idle


def run(tour: Tour) -> Row:
    tour.say("run")
    ok_08, sqes_08, idle_08 = measure_server(tour, "08-io-uring-server")
    ok, sqes, idle = measure_server(tour, tour.stage.directory)
    measured = tour.t("measured", sqes_08=sqes_08, sqes=sqes, idle_08=size(idle_08),
                      idle=size(idle))
    tour.say("lesson", measured=measured)
    # The lesson, loosely: one submission fewer per round trip (08 re-asks for the recv), and
    # less than a quarter of 08's memory per idle connection (08: a page of its buffer each).
    return tour.row(measured, ok_08 and ok and sqes < sqes_08 - 0.5 and idle < idle_08 / 4)
