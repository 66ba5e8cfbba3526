"""Process and machine figures from /proc (Linux): CPU ticks, RSS, peak RSS, load."""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Iterable

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds (fields 14 and 15 of /proc/<pid>/stat)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return float("nan")
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_seconds() -> float:
    """CPU time spent busy by the whole machine, all cores (user+nice+system+irq+softirq+steal)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / CLK_TCK


def _status(pid: int, key: str) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def rss_mib(pid: int) -> float:
    return _status(pid, "VmRSS")


def peak_rss_mib(pid: int) -> float:
    return _status(pid, "VmHWM")


def load_average() -> float:
    return os.getloadavg()[0]


class CpuMeter:
    """CPU % (100 = one core) of some processes, of this process, and of everything else."""

    def __init__(self, pids: Iterable[int]) -> None:
        self.pids = list(pids)
        self.start()

    def start(self) -> None:
        self.t0 = time.monotonic()
        self.s0 = sum(cpu_seconds(p) for p in self.pids)
        self.g0 = time.process_time()
        self.m0 = machine_busy_seconds()

    def stop(self) -> dict[str, float]:
        wall = max(time.monotonic() - self.t0, 1e-6)
        server = sum(cpu_seconds(p) for p in self.pids) - self.s0
        gen = time.process_time() - self.g0
        machine = machine_busy_seconds() - self.m0
        return {
            "server_cpu_pct": round(100 * server / wall, 1),
            "gen_cpu_pct": round(100 * gen / wall, 1),
            # what everything else on the machine used meanwhile (other helpers' test runs)
            "other_cpu_pct": round(100 * (machine - server - gen) / wall, 1),
        }


def quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def median(values: Iterable[float | None]) -> float:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(vals) if vals else float("nan")
