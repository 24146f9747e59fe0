"""02b-thread-server's step of the tour (chapter/tour.py): a thread per client, what each costs
in memory, and the wakeups a thread per connection makes beside an event loop's."""
from __future__ import annotations

from chapter import measure, procfs, stages
from chapter.tour import Row, Tour, switches_per_line

TEXT = {
    "en": {
        "run": "Ten clients connect, are answered once each, and stay idle; the server's "
               "/proc/PID/status before and after:",
        "alone": "no client",
        "crowd": "{count} idle clients",
        "status": "{who:16} Threads {Threads:3}, VmRSS {VmRSS:7} KiB, VmSize {VmSize:8} KiB",
        "per": "per connection: one thread, VmRSS +{rss:.0f} KiB resident, VmSize +{size:.1f} "
               "MiB of address space (its stack, and glibc's malloc arena for the thread; "
               "reserved, mostly untouched)",
        "joined": "clients closed: every thread ended and was joined (Threads back to 1)",
        "switches": "{who:3}: {per:.2f} context switches per line, 50 clients with a line each "
                    "in flight",
        "measured": "{count} clients -> {threads} threads; +{rss:.0f} KiB resident, +{size:.1f} "
                    "MiB address space each; {switches:.2f} context switches per line "
                    "({reference}: {loop:.2f})",
        "lesson": "Lesson: a thread costs less than a process, but there is still one per "
                  "client, each with address space reserved for it, and every line wakes a "
                  "thread of its own, where one event loop serves many lines per wakeup "
                  "({measured}).",
        "row": "threads, memory and wakeups per client",
    },
    "zh-CN": {
        "run": "十个客户端连上，各得到一次应答后保持空闲；服务器的 /proc/PID/status，连接前后对比：",
        "alone": "没有客户端",
        "crowd": "{count} 个空闲客户端",
        "status": "{who}：Threads {Threads}，VmRSS {VmRSS} KiB，VmSize {VmSize} KiB",
        "per": "每个连接：一个线程，常驻内存 VmRSS +{rss:.0f} KiB，地址空间 VmSize +{size:.1f} MiB（线程的栈，"
               "以及 glibc 为该线程保留的 malloc arena；只是预留，大多没有用到）",
        "joined": "客户端已关闭：每个线程都已结束并被 join（Threads 回到 1）",
        "switches": "{who}：每行 {per:.2f} 次上下文切换（50 个客户端，每个同时有一行在途）",
        "measured": "{count} 个客户端 -> {threads} 个线程；每个常驻 +{rss:.0f} KiB，地址空间 +{size:.1f} MiB；"
                    "每行 {switches:.2f} 次上下文切换（{reference}：{loop:.2f}）",
        "lesson": "要点：线程比进程便宜，但仍是每个客户端一个，每个都要预留一份地址空间；而且每一行都要唤醒一个线程，事件循环则一次唤醒处理许多行（{measured}）。",
        "row": "每个客户端的线程、内存与唤醒",
    },
}


def run(tour: Tour) -> Row:
    tour.say("run")
    server = tour.start()
    fields = ("Threads", "VmRSS", "VmSize")

    def status() -> dict[str, int]:
        return {f: procfs.status_number(server.pid, f) for f in fields}

    tour.show(f"$ grep -E '{'|'.join(fields)}' /proc/{server.pid}/status")
    alone = status()
    tour.show(tour.t("status", who=tour.t("alone"), **alone))
    count = 10
    idle = measure.open_idle(server.address, count)
    crowd = status()
    tour.show(tour.t("status", who=tour.t("crowd", count=count), **crowd))
    per = {f: (crowd[f] - alone[f]) / count for f in fields}
    tour.show(tour.t("per", rss=per["VmRSS"], size=per["VmSize"] / 1024))
    measure.close_all(idle)
    # The main thread joins a finished worker within its accept() timeout (250 ms).
    joined = procfs.wait_until(lambda: procfs.status_number(server.pid, "Threads") == 1, 3)
    tour.show(tour.t("joined") if joined else "!! threads left behind")
    # Context switches per line: every thread sleeps in its own recv() and is woken for each
    # line, where one event loop takes the lines of many ready sockets per wakeup.
    threaded = switches_per_line(server)
    tour.show(tour.t("switches", who=tour.stage.key, per=threaded))
    # Beside the benchmarks' reference: one event loop for every connection.
    loop_stage = stages.reference("W2")
    loop = switches_per_line(tour.start(loop_stage.directory))
    tour.show(tour.t("switches", who=loop_stage.key, per=loop))
    measured = tour.t("measured", count=count, threads=crowd["Threads"] - alone["Threads"],
                      rss=per["VmRSS"], size=per["VmSize"] / 1024, switches=threaded,
                      loop=loop, reference=loop_stage.key)
    tour.say("lesson", measured=measured)
    return tour.row(measured,
                    alone["Threads"] == 1 and crowd["Threads"] == 1 + count and bool(joined)
                    and threaded > loop)
