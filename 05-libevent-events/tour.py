"""05-libevent-events's step of the tour (chapter/tour.py): libevent with its best backend: the round
trip alone and beside 2000 idle connections, the same step as every event-driven stage's."""
from __future__ import annotations

from chapter.tour import Row, Tour, event_driven

TEXT = {
    "en": {
        "run": "Same server on libevent; round trips alone, then beside 2000 idle connections:",
        "lesson": "Lesson: libevent picks the best backend, with no FD_SETSIZE and a cost that "
                  "stays flat as idle connections pile up ({measured}).",
        "row": "backend and flat cost",
    },
    "zh-CN": {
        "run": "同样的服务器改用 libevent；先单独测往返时间，再在 2000 个空闲连接旁测：",
        "lesson": "要点：libevent 选用最好的后端，没有 FD_SETSIZE 限制，空闲连接再多，开销也保持平稳（{measured}）。",
        "row": "后端与平稳的开销",
    },
}


def run(tour: Tour) -> Row:
    return event_driven(tour)
