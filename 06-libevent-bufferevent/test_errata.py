"""A bug of the book's bufferevent server (06) that our port fixes (docs/ERRATA.md, E06.3): it
allocates for every line. Ours must not, nor must the stages that buffer by hand on a readiness
loop (04, 05, 07: the select and event models, each program once, under valgrind)."""
from __future__ import annotations

import re

import pytest

from chapter.client import Client
from chapter.reference import answer

pytestmark = pytest.mark.rule(11)


def heap_allocations(start_server, lines: int) -> int:
    """Runs the stage under valgrind for one client that sends `lines` short lines; returns the
    number of heap allocations valgrind counted over the server's whole life."""
    server = start_server(wrapper=["valgrind", "--tool=memcheck", "--trace-children=no"])
    data = b"sixteen bytes!!\n" * lines
    with Client(server.address) as c:
        assert c.exchange(data, timeout=120) == answer(data)
    server.stop(timeout=30)
    found = re.search(r"total heap usage: ([\d,]+) allocs", server.stderr())
    assert found, server.stderr()[-2000:]
    return int(found.group(1).replace(",", ""))


@pytest.mark.valgrind
@pytest.mark.stage_specific(models=["select", "event"], default_backend=True, has="valgrind")
def test_server_does_not_allocate_per_line(start_server):
    # The book's bufferevent version mallocs every line (evbuffer_readln): 20000 allocations
    # for 20000 lines. Ours must allocate far less than one per line.
    few = heap_allocations(start_server, 100)
    many = heap_allocations(start_server, 20_100)
    assert (many - few) / 20_000 < 0.05, f"{many - few} allocations for 20000 more lines"
