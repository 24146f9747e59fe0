"""07-epoll-server's step of the tour (chapter/tour.py): raw epoll: the round
trip alone and beside 2000 idle connections, the same step as every event-driven stage's."""
from __future__ import annotations

from chapter.tour import Row, Tour, event_driven

TEXT = {
    "en": {
        "run": "Raw epoll, level-triggered; round trips alone, then beside 2000 idle connections:",
        "lesson": "Lesson: epoll by hand costs more code for the same flat cost; libevent gives "
                  "it to us portably ({measured}).",
        "row": "raw epoll, flat cost",
    },
    "zh-CN": {
        "run": "直接使用 epoll，水平触发；先单独测往返时间，再在 2000 个空闲连接旁测：",
        "lesson": "要点：亲手使用 epoll，代码更多，开销同样平稳；libevent 则以可移植的方式给了我们同样的效果（{measured}）。",
        "row": "直接使用 epoll，开销平稳",
    },
}


def run(tour: Tour) -> Row:
    return event_driven(tour)
