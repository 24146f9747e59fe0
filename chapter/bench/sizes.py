"""How long, how big and where: the full run's sizes and the quick one's, the placements of
server and load generator, the limits every point runs under; and the three ways a step ends
without a measurement."""
from __future__ import annotations

import dataclasses

# Where processes run (the CPUs given to taskset; None: not pinned, the scheduler decides). The
# driver itself is not pinned: it sleeps while anything is measured.
PLACEMENTS = {
    "separate": {"name": "separate cores", "server_cpus": "0", "loadgen_cpus": "1"},
    "same": {"name": "same core", "server_cpus": "0", "loadgen_cpus": "0"},
    "unpinned": {"name": "unpinned", "server_cpus": None, "loadgen_cpus": None},
}
W1_PLACEMENTS = ("separate", "same")  # W1 and the floor's ping-pong: both, always
# --placement: where W2 runs. Pinned to separate cores unless asked otherwise.
W2_PLACEMENTS = {"pinned": ("separate",), "unpinned": ("unpinned",),
                 "both": ("separate", "unpinned")}
NOFILE = 20000  # descriptors for each server (prlimit) and for this driver (idle connections)
STOP_TIMEOUT = 15.0  # seconds a server may take to stop on SIGTERM (10000 children to end)
IDLE_OPEN_LIMIT = 60.0  # seconds allowed to open the idle connections of one W3 point
IDLE_CPU_ZERO = 0.01  # CPU-seconds per second under which an idle server counts as idle

# W3b: enough idle connections that the active client's descriptor is numbered about 1000,
# yet under FD_SETSIZE (1024), so that a select() server takes them all. The warm-up is long
# enough to close them and let the server drop them before loadgen's window opens.
W3B_IDLE = 1000
W3B_WARMUP = 1.5

W4_WARMUP = 0.1  # the first connects of a burst
W4_PAUSE = 1.0  # seconds between bursts (each on a fresh server, so to a fresh port)


@dataclasses.dataclass(frozen=True)
class Sizes:
    """How long and how big: the full run, or the quick one (CI)."""
    duration: float  # seconds of each loadgen measurement window (W1, W2, W4, W5, floor)
    warmup: float  # seconds loadgen runs before its window opens
    w1_line_bytes: tuple[int, ...]
    w2_connections: tuple[int, ...]
    w2_depths: tuple[int, ...]
    w3_idle: tuple[int, ...]
    w3_duration: float  # the active client's window in W3
    w3_idle_window: float  # seconds over which idle CPU is measured
    w4_bursts: int  # W4 runs this many short windows (see measures.measure_w4)
    w4_burst: float  # seconds of each
    w6_duration: float
    micro_args: tuple[str, ...]
    rounds: int  # the whole plan runs this many times, interleaved; the report takes medians
    w2_placements: tuple[str, ...] = W2_PLACEMENTS["pinned"]  # keys of PLACEMENTS


# Three short rounds rather than one long one: the stages of one point run back to back, and
# the median of three rounds shrugs off a moment when the shared machine was busy.
FULL = Sizes(duration=1.0, warmup=0.3, w1_line_bytes=(16, 512),
             w2_connections=(1, 10, 50, 100, 1000), w2_depths=(1, 16),
             w3_idle=(0, 100, 1000, 10000), w3_duration=1.0, w3_idle_window=1.0,
             w4_bursts=3, w4_burst=0.4, w6_duration=1.0, micro_args=(), rounds=3)
QUICK = Sizes(duration=0.5, warmup=0.1, w1_line_bytes=(16, 512),
              w2_connections=(1, 50), w2_depths=(1, 16),
              w3_idle=(0, 100), w3_duration=0.5, w3_idle_window=0.5,
              w4_bursts=1, w4_burst=0.4, w6_duration=1.0,
              micro_args=("--benchmark_min_time=0.05",), rounds=1)


class Failure(Exception):
    """A run that must fail the benchmark: a wrong answer, a crash, a server that would not
    stop. Never raised because a number is slow."""


class NotMeasured(Exception):
    """A point that could not be measured for a reason that is itself a finding (a forking
    server cannot open 10000 processes in time, a select() server is full): recorded with the
    reason, not a failure."""


class CannotServe(Exception):
    """A point the stage cannot serve by design, known before it starts (its pool is smaller
    than the connections the point holds open): recorded with the reason, not run."""
