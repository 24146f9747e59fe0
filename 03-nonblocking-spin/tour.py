"""03-nonblocking-spin's step of the tour (chapter/tour.py): ten idle clients, and the CPU the
busy loop burns for them."""
from __future__ import annotations

from chapter import measure
from chapter.tour import Row, Tour, answer_one, idle_share

TEXT = {
    "en": {
        "run": "One server, every socket non-blocking; ten clients connect and stay idle:",
        "measured": "{percent:.0f}% of a CPU while 10 clients sit idle",
        "lesson": "Lesson: without a readiness API the loop never sleeps ({measured}).",
        "row": "CPU while idle",
    },
    "zh-CN": {
        "run": "一个服务器，所有套接字都是非阻塞的；十个客户端连上后保持空闲：",
        "measured": "10 个空闲客户端时占用 {percent:.0f}% 的 CPU",
        "lesson": "要点：没有就绪通知接口，循环永远不会休眠（{measured}）。",
        "row": "空闲时的 CPU",
    },
}


def run(tour: Tour) -> Row:
    tour.say("run")
    server = tour.start()
    ok = answer_one(tour, server)
    idle = measure.open_idle(server.address, 10)
    cpu = idle_share(server)
    measure.close_all(idle)
    measured = tour.t("measured", percent=cpu * 100)
    tour.say("lesson", measured=measured)
    return tour.row(measured, ok and cpu > 0.5)
