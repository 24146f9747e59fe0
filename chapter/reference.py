"""A plain model of docs/protocol.md: what a server must send for a whole byte stream."""
from __future__ import annotations

MAX_LINE = 16384
ROT13 = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    b"NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm",
)


def rot13(data: bytes) -> bytes:
    return data.translate(ROT13)


def answer(data: bytes, ended: bool = True) -> bytes:
    """Everything owed for `data`; `ended` says whether the client ended its input after it.

    A line ends at LF or once MAX_LINE bytes are pending without one; each is answered with
    its ROT13 and LF. At end of input the pending partial line is answered without an LF.
    """
    out = []
    parts = data.split(b"\n")
    for i, part in enumerate(parts):
        full = len(part) // MAX_LINE
        for k in range(full):
            out.append(rot13(part[k * MAX_LINE:(k + 1) * MAX_LINE]) + b"\n")
        tail = rot13(part[full * MAX_LINE:])
        if i < len(parts) - 1:
            out.append(tail + b"\n")
        elif ended:
            out.append(tail)
    return b"".join(out)
