"""Random payloads from one printed seed, so that no server can pass by knowing the answers and
any run can be repeated (`scripts/check --seed N`, or pytest's `--seed N`)."""
from __future__ import annotations

import random

SEED = 0

# Bytes a line may hold besides letters: everything but LF, so that a payload is one line.
_TEXT = bytes(range(0x20, 0x7F))


def new_seed() -> int:
    """A seed for a run that was not given one: printed, so that the run can be repeated."""
    return random.SystemRandom().randrange(1, 1 << 31)


def seed(value: int) -> None:
    global SEED
    SEED = value


def rng_for(name: str) -> random.Random:
    """One generator per test: the same seed and test name give the same payloads, whichever
    tests ran before it."""
    return random.Random(f"{SEED}:{name}")


def line(rng: random.Random, length: int, alphabet: bytes = _TEXT) -> bytes:
    """`length` random bytes of `alphabet` (printable ASCII by default), no LF."""
    return bytes(rng.choice(alphabet) for _ in range(length))


def word(rng: random.Random, length: int = 8) -> bytes:
    """A random word of letters, for a line whose ROT13 is easy to read in a failure."""
    return line(rng, length, b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
