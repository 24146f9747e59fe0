"""06-libevent-bufferevent's step of the tour (chapter/tour.py): bufferevents: the round
trip alone and beside 2000 idle connections, the same step as every event-driven stage's."""
from __future__ import annotations

from chapter.tour import Row, Tour, event_driven

TEXT = {
    "en": {
        "run": "Same again with bufferevents; round trips alone, then beside 2000 idle "
               "connections:",
        "lesson": "Lesson: bufferevents take the reading and writing off our hands; idle "
                  "connections still cost no CPU, but every round trip makes more system calls "
                  "than 05's ({measured}).",
        "row": "backend and flat cost",
    },
    "zh-CN": {
        "run": "再换成 bufferevent；先单独测往返时间，再在 2000 个空闲连接旁测：",
        "lesson": "要点：bufferevent 替我们完成读写；空闲连接照样不耗 CPU，但每次往返都比 05 多几次系统调用（{measured}）。",
        "row": "后端与平稳的开销",
    },
}


def run(tour: Tour) -> Row:
    return event_driven(tour)
