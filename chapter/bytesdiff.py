"""Failure messages a student can act on: the bytes sent, expected and received, escaped, with
their lengths, cut to a window around the first difference, and a marker under it."""
from __future__ import annotations

WINDOW = 40  # bytes shown before the first difference; as many again after it


def escape(data: bytes) -> str:
    """Printable ASCII as itself, everything else as an escape: \\n, \\r, \\t, \\\\, \\xNN."""
    out = []
    for b in data:
        if b == 0x0A:
            out.append("\\n")
        elif b == 0x0D:
            out.append("\\r")
        elif b == 0x09:
            out.append("\\t")
        elif b == 0x5C:
            out.append("\\\\")
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append(f"\\x{b:02x}")
    return "".join(out)


def first_difference(a: bytes, b: bytes) -> int | None:
    """Index of the first byte where `a` and `b` differ (the shorter one's length when one is
    a prefix of the other), or None when they are equal."""
    if a == b:
        return None
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def _window(data: bytes, at: int) -> tuple[str, int]:
    """The escaped bytes around offset `at`, and the column where byte `at` starts."""
    start = max(0, at - WINDOW)
    end = at + WINDOW
    prefix = "..." if start > 0 else ""
    suffix = "..." if end < len(data) else ""
    return (prefix + escape(data[start:at]) + escape(data[at:end]) + suffix,
            len(prefix) + len(escape(data[start:at])))


def _size(n: int) -> str:
    return f"{n} byte" + ("" if n == 1 else "s")


def describe(what: str, *, sent: bytes | None, expected: bytes, received: bytes,
             at: int | None = None) -> str:
    """`what` (one line), then sent, expected and received around the first difference."""
    if at is None:
        at = first_difference(expected, received)
    at = at if at is not None else len(received)
    lines = [what]
    if sent is not None:
        # Around the same offset: an answer is as long as its input, but for the LF that ends
        # each 16384-byte piece of a long line (rule 3), so the two stay within a few bytes.
        shown, _ = _window(sent, min(at, max(len(sent) - 1, 0)))
        lines.append(f"  sent      {_size(len(sent)):>13}: {shown}")
    label_width = len("  expected  ") + 13 + 2
    exp, _ = _window(expected, at)
    got, got_col = _window(received, at)
    lines.append(f"  expected  {_size(len(expected)):>13}: {exp}")
    lines.append(f"  received  {_size(len(received)):>13}: {got}")
    lines.append(" " * (label_width + got_col) + f"^ offset {at} (counting from 0)")
    return "\n".join(lines)


class Mismatch(AssertionError):
    """The server's bytes differ from what the protocol says. `str()` is the whole report."""

    def __init__(self, what: str, *, sent: bytes | None, expected: bytes, received: bytes,
                 at: int | None = None):
        super().__init__(describe(what, sent=sent, expected=expected, received=received, at=at))
        self.what = what  # the one sentence, without the bytes


def assert_answer(received: bytes, expected: bytes, *, sent: bytes | None = None) -> None:
    """Raises Mismatch unless `received == expected`."""
    if received == expected:
        return
    at = first_difference(expected, received)
    if at == len(received) < len(expected):
        what = f"the answer stopped short: {len(expected) - len(received)} bytes missing"
    elif at == len(expected) < len(received):
        what = f"{len(received) - len(expected)} bytes more than expected"
    else:
        what = f"the answer differs at offset {at}"
    raise Mismatch(what, sent=sent, expected=expected, received=received, at=at)
