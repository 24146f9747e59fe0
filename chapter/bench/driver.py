"""Running a plan: each step on its own (a failure is recorded, and the run goes on), a progress
line before and after each, and the facts of the machine the run was measured on."""
from __future__ import annotations

import contextlib
import datetime
import os
import platform
import resource
import subprocess
import time
import traceback

from chapter import procfs
from chapter.bench import lineup
from chapter.bench.plan import Step
from chapter.bench.processes import Context
from chapter.bench.sizes import PLACEMENTS, CannotServe, Failure, NotMeasured
from chapter.stages import REPO


def clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}m{seconds % 60:02d}s"


def describe(params: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items()) or "-"


def summary_line(record: dict) -> str:
    """A few words on what one step measured, for the progress output."""
    if record["status"] != "ok":
        note = record.get("note", "")
        note = note[len(record["status"]) + 2:] if note.startswith(record["status"] + ":") else note
        return f"{record['status'].upper()}: {note}"
    parts = []
    lg = record.get("loadgen")
    if lg:
        if lg["mode"] == "churn":
            parts.append(f"{lg['per_second']:,.0f} connections/s")
        else:
            latency = lg["latency_us"]
            parts.append(f"{lg['per_second']:,.0f} lines/s, {lg['mb_per_second']:.1f} MB/s, "
                         f"p50 {latency['p50']:.1f} us, p99 {latency['p99']:.1f} us")
        parts.append(f"server {lg['server_cpu_seconds']:.2f} CPU-s")
    if "idle" in record and "held" in record["idle"]:
        i = record["idle"]
        parts.append(f"held {i['held']} refused {i['refused']}, idle CPU "
                     f"{i.get('idle_cpu_per_second', 0):.4f}/s, {i.get('threads_held', 0)} "
                     f"threads, RSS {i.get('rss_held', 0) >> 20} MiB, VmSize "
                     f"{i.get('vsz_held', 0) >> 20} MiB")
    if "high_fd" in record and "max_fd" in record["high_fd"]:
        h = record["high_fd"]
        before = record.get("active_before", {}).get("latency_us", {}).get("p50", 0)
        parts.append(f"alone p50 {before:.1f} us; in the window {h['fds_in_window']} "
                     f"descriptors open, the largest {h['max_fd']}")
    if "flood" in record and "rss_peak" in record["flood"]:
        parts.append(f"flood {record['flood'].get('bytes_sent', 0) >> 10} KiB, "
                     f"peak RSS {record['flood']['rss_peak'] >> 20} MiB")
    if "micro" in record:
        parts.append(f"{len(record['micro']['benchmarks'])} benchmarks")
    if record.get("note"):
        parts.append(record["note"])
    return "; ".join(parts)


def run_step(ctx: Context, step: Step) -> dict:
    """Runs one step; returns its record, with status ok, not measured, or failed."""
    record = {"workload": step.workload.id, "stage": step.stage, "params": step.params,
              "placement": PLACEMENTS[step.params.get("placement", "separate")],
              "round": step.round, "status": "ok"}
    entry = lineup.find(step.stage)
    if entry is not None or step.stage == lineup.FLOOR:
        record["program"] = ctx.program(step.stage).name
    if step.stage in ctx.not_built:
        record["status"] = "not built"
        record["note"] = (f"{record['program']} is not in {ctx.bin_dir} (built only where "
                          f"{' and '.join(entry.needs)} is found)")
        record["elapsed"] = 0.0
        return record
    start = time.monotonic()
    try:
        step.workload.measure(ctx, step.stage, step.params, record)
    except NotMeasured as e:
        record["status"], record["note"] = "not measured", str(e)
    except CannotServe as e:
        record["status"], record["note"] = "cannot serve", str(e)
    except Failure as e:
        record["status"], record["note"] = "failed", str(e)
    except KeyboardInterrupt:
        raise
    except Exception as e:  # a bug or a broken environment: fail loudly, go on with the rest
        record["status"] = "failed"
        record["note"] = f"{type(e).__name__}: {e}"
        record["traceback"] = traceback.format_exc()
    record["elapsed"] = round(time.monotonic() - start, 2)
    return record


def run_plan(ctx: Context, plan: list[Step]) -> list[dict]:
    records = []
    started = time.monotonic()
    planned_total = sum(s.planned for s in plan)
    planned_done = 0.0
    for i, step in enumerate(plan, 1):
        elapsed = time.monotonic() - started
        # Scale what is left by how the plan has held up so far (bounded: early steps are few).
        pace = min(3.0, max(0.7, elapsed / planned_done)) if planned_done > 5 else 1.0
        left = (planned_total - planned_done) * pace
        print(f"[{i:3d}/{len(plan)}] round {step.round} {step.workload.id:<10} {step.stage:<5} "
              f"{describe(step.params):<40} elapsed {clock(elapsed)}, about {clock(left)} left",
              flush=True)
        record = run_step(ctx, step)
        records.append(record)
        planned_done += step.planned
        print(f"          {summary_line(record)}", flush=True)
    return records


# ---------------------------------------------------------------------------------------------
# The machine, once per run
# ---------------------------------------------------------------------------------------------

def command_output(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30,
                              cwd=REPO).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine() -> dict:
    model = ""
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    commit = command_output(["git", "rev-parse", "HEAD"])
    dirty = bool(command_output(["git", "status", "--porcelain", "--untracked-files=no"]))
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "libevent_pkg_config": command_output(["pkg-config", "--modversion", "libevent"]),
        "git_commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "loadavg_start": open("/proc/loadavg").read().split()[:3],
        "clock_ticks_per_second": procfs.CLOCK_TICKS,
        "thread_limits": thread_limits(),
    }


def thread_limits() -> dict:
    """What decides whether a server can start 10000 threads: the kernel's limits on tasks, this
    user's (RLIMIT_NPROC counts threads; root is exempt), the stack each thread reserves (glibc
    takes RLIMIT_STACK's soft limit as the default), and the tasks already running."""
    def sysctl(name: str) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int(open(f"/proc/sys/{name}").read().split()[0])
        return None

    def soft(limit: int) -> int | None:
        value = resource.getrlimit(limit)[0]
        return None if value == resource.RLIM_INFINITY else value

    tasks = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                tasks += len(os.listdir(f"/proc/{entry}/task"))
    return {"threads_max": sysctl("kernel/threads-max"), "pid_max": sysctl("kernel/pid_max"),
            "nproc": soft(resource.RLIMIT_NPROC), "root": os.geteuid() == 0,
            "stack_bytes": soft(resource.RLIMIT_STACK),
            "max_map_count": sysctl("vm/max_map_count"),
            "overcommit_memory": sysctl("vm/overcommit_memory"), "tasks_at_start": tasks}
