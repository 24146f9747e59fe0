"""04-select-server's step of the tour (chapter/tour.py): the round trip alone and beside 1000
idle connections, then the refusal at FD_SETSIZE."""
from __future__ import annotations

import re

from chapter import measure, procfs
from chapter.client import Client
from chapter.tour import Row, Tour, answer_one, expect, idle_share, room_for

TEXT = {
    "en": {
        "run": "Round trips alone, then beside 1000 idle connections, then past FD_SETSIZE:",
        "cost": "median round trip: {none:.0f} us alone, {many:.0f} us beside 1000 idle "
                "connections; CPU while idle {cpu:.0f}%",
        "measured": "refuses descriptor {fd}; round trip {none:.0f} us -> {many:.0f} us with "
                    "1000 idle",
        "lesson": "Lesson: select() sleeps while idle, but each wakeup scans every descriptor "
                  "up to the largest, and none past 1023 fit ({measured}).",
        "row": "FD_SETSIZE and cost per wakeup",
    },
    "zh-CN": {
        "run": "先单独测往返时间，再在 1000 个空闲连接旁测，最后越过 FD_SETSIZE：",
        "cost": "往返时间中位数：单独 {none:.0f} 微秒，旁有 1000 个空闲连接时 {many:.0f} 微秒；空闲时 CPU {cpu:.0f}%",
        "measured": "拒绝描述符 {fd}；往返时间 {none:.0f} 微秒 -> 有 1000 个空闲连接时 {many:.0f} 微秒",
        "lesson": "要点：select() 空闲时休眠，但每次唤醒都要扫描到最大的描述符，而且编号 1024 及以上的描述符根本放不进去（{measured}）。",
        "row": "FD_SETSIZE 与每次唤醒的开销",
    },
}


def run(tour: Tour) -> Row:
    tour.say("run")
    server = tour.start(wrapper=room_for(4096))
    ok = answer_one(tour, server)
    rtt_none = measure.round_trip_us(server.address)
    idle = measure.open_idle(server.address, 1000)
    cpu = idle_share(server, 0.5)
    rtt_many = measure.round_trip_us(server.address)
    tour.show(tour.t("cost", none=rtt_none, many=rtt_many, cpu=cpu * 100))
    extra = []
    refused = False
    for _ in range(60):  # the server holds a few descriptors itself: 1024 is near
        c = Client(server.address)
        c.send(b"x\n")
        try:
            got = c.recv_exactly(2, timeout=5)
        except (ConnectionResetError, AssertionError):  # reset, or closed before answering
            refused = True
        else:
            expect(got, b"k\n")
        extra.append(c)
        if refused:
            break
    measure.close_all(idle + extra)
    # The refusal must be the FD_SETSIZE one, logged with the descriptor it could not watch.
    logged = procfs.wait_until(lambda: next(
        (l for l in server.stderr().splitlines() if "past FD_SETSIZE" in l), ""), 3)
    tour.show(f"stderr: {logged or '!! no FD_SETSIZE refusal logged'}")
    number = re.search(r"descriptor (\d+)", logged or "")
    measured = tour.t("measured", fd=number.group(1) if number else "?", none=rtt_none,
                      many=rtt_many)
    tour.say("lesson", measured=measured)
    # The lesson, loosely: the same round trip costs clearly more beside 1000 idle descriptors
    # (about ten times here; two is far outside the noise of a median of 400).
    grows = rtt_many > 2 * rtt_none
    if not grows:
        tour.show("!! the round trip did not grow with 1000 idle connections")
    return tour.row(measured, ok and refused and bool(logged) and grows and cpu < 0.05)
