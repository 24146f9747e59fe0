"""02-fork-server's step of the tour (chapter/tour.py): three clients, three child processes,
and none left once they leave."""
from __future__ import annotations

from chapter import procfs
from chapter.client import Client
from chapter.reference import answer
from chapter.tour import Row, Tour

TEXT = {
    "en": {
        "run": "Three clients connect at once and each sends two lines:",
        "reaped": "clients closed: every child exited and was reaped (no zombies)",
        "measured": "{children} clients -> {children} child processes",
        "lesson": "Lesson: fork() keeps each client's code simple, at the price of a process "
                  "per client ({measured}).",
        "row": "processes per client",
    },
    "zh-CN": {
        "run": "三个客户端同时连接，每个发送两行：",
        "reaped": "客户端已关闭：每个子进程都已退出并被回收（没有僵尸进程）",
        "measured": "{children} 个客户端 -> {children} 个子进程",
        "lesson": "要点：fork() 让每个客户端的代码保持简单，代价是每个客户端占用一个进程（{measured}）。",
        "row": "每个客户端的进程数",
    },
}


def talk(tour: Tour, clients: list[Client], lines_per_client: int = 2) -> bool:
    """Each client sends a few lines; every answer is shown and checked."""
    ok = True
    for round_ in range(lines_per_client):
        for n, c in enumerate(clients, 1):
            line = b"Hello from client %d, line %d\n" % (n, round_ + 1)
            c.send(line)
            got = c.recv_exactly(len(line), timeout=5)
            ok &= got == answer(line, ended=False)
            tour.show(f"client {n}: {line.decode().strip():32} -> {got.decode().strip()}")
    return ok


def run(tour: Tour) -> Row:
    tour.say("run")
    server = tour.start()
    clients = [Client(server.address) for _ in range(3)]
    ok = talk(tour, clients)
    kids = procfs.children(server.pid)
    tour.show(f"$ ps --ppid {server.pid}: {len(kids)} child processes, "
              f"{sum(procfs.rss_bytes(k) for k in kids) // 1024} KiB resident in all")
    for k in kids:
        tour.show(f"    pid {k}  state {procfs.state(k)}  rss {procfs.rss_bytes(k) // 1024} KiB")
    for c in clients:
        c.close()
    reaped = procfs.wait_until(lambda: not procfs.children(server.pid), 3)
    tour.show(tour.t("reaped") if reaped else "!! children left behind")
    ok &= len(kids) == 3 and bool(reaped)
    measured = tour.t("measured", children=len(kids))
    tour.say("lesson", measured=measured)
    return tour.row(measured, ok)
