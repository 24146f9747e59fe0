"""Randomised differential test: random byte streams, cut into random segments with random
pauses, sometimes half-closed, against every stage; the answer must equal the reference model
of docs/protocol.md (chapter/reference.py) byte for byte.

In CI it runs a fixed budget of examples from a fixed seed (the `ci` profile in conftest.py).
A longer run: `pytest tests/robustness/test_differential.py --hypothesis-profile=long`
(add `--hypothesis-seed=N` to vary it).
"""
from __future__ import annotations

import threading
import time

import pytest

from hypothesis import given
from hypothesis import strategies as st

from chapter.client import Client
from chapter.reference import MAX_LINE, answer

pytestmark = pytest.mark.rule(2)

pieces = st.one_of(
    st.binary(max_size=64),  # any bytes, LFs and NULs included
    st.builds(lambda byte, n: byte * n, st.sampled_from([b"a", b"Z", b"\x00", b"\xff", b"\r"]),
              st.integers(1, 3 * MAX_LINE)),  # long lines, across the 16384 split
    st.integers(1, 40).map(lambda n: b"\n" * n),  # many LFs
    st.sampled_from([b"x" * MAX_LINE, b"y" * (MAX_LINE - 1) + b"\n", b"z" * MAX_LINE + b"\n"]),
)
streams = st.lists(pieces, max_size=10).map(b"".join)


def cut(data: bytes, sizes: list[int]) -> list[bytes]:
    """`data` cut into segments of the given sizes (cycled), the last one whatever is left."""
    segments, at, i = [], 0, 0
    while at < len(data):
        n = sizes[i % len(sizes)] if sizes else len(data)
        segments.append(data[at:at + n])
        at += n
        i += 1
    return segments


@given(data=streams,
       sizes=st.lists(st.integers(1, 20000), min_size=1, max_size=8),
       pauses=st.lists(st.sampled_from([0, 0, 0, 0.001, 0.005]), min_size=1, max_size=8),
       half_close=st.booleans())
def test_random_streams_are_answered_exactly_as_the_reference_says(server, data, sizes, pauses,
                                                                   half_close):
    expected = answer(data, ended=half_close)
    with Client(server.address, timeout=30) as c:
        received, failure = [], []

        def read_all() -> None:  # reads while we send: the server stops reading a non-reader
            try:
                if half_close:
                    received.append(c.recv_until_eof(timeout=30))
                else:
                    received.append(c.recv_exactly(len(expected), timeout=30))
            except Exception as e:  # re-raised below, in the test's thread
                failure.append(e)

        reader = threading.Thread(target=read_all)
        reader.start()
        for i, segment in enumerate(cut(data, sizes)):
            c.send(segment)
            if pause := pauses[i % len(pauses)]:
                time.sleep(pause)  # a pause between segments, as a slow network would make
        if half_close:
            c.shutdown_write()
        reader.join(timeout=60)
        assert not reader.is_alive(), "reader still waiting after 60 s"
        if failure:
            raise failure[0]
        assert received[0] == expected
