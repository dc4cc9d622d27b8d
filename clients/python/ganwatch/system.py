"""System metrics of the training process, sampled on a daemon thread (never on the training thread): this process's CPU
use and resident memory, and each GPU's utilization, memory and temperature as nvidia-smi reports them (without
nvidia-smi: no GPU metrics, no error). Also the machine description a new run records. Standard library only.

The names are protocol/metric-names.ts's (METRIC.sysCpuPercent, METRIC.sysRssMb, SYS_GPU_METRIC + "/" + GPU index)."""

from __future__ import annotations

import logging
import os
import platform
import subprocess
import threading
import time
from typing import Callable, Mapping

CPU_PERCENT = "sys/cpu_percent"
RSS_MB = "sys/rss_mb"
GPU_UTIL = "sys/gpu_util"
GPU_MEM_MB = "sys/gpu_mem_mb"
GPU_TEMP_C = "sys/gpu_temp_c"

DEFAULT_INTERVAL_S = 10.0
# A hung driver must not hold the sampler (and a child process) for long.
NVIDIA_SMI_TIMEOUT_S = 5.0
NVIDIA_SMI_ARGS = (
    "--query-gpu=index,name,utilization.gpu,memory.used,temperature.gpu",
    "--format=csv,noheader,nounits",
)
MIB = 1024 * 1024

log = logging.getLogger("ganwatch")


def enabled_by_default(env: Mapping[str, str] = os.environ) -> bool:
    """On unless $GANWATCH_SYSTEM_METRICS is 0, false, off or no."""
    return env.get("GANWATCH_SYSTEM_METRICS", "").strip().lower() not in ("0", "false", "off", "no")


def _reading(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:  # "[N/A]", "[Not Supported]"
        return None
    return value if value - value == 0.0 else None


def parse_nvidia_smi(text: str) -> list[dict]:
    """The GPUs in nvidia-smi's ``index, name, util, mem, temp`` CSV lines (a name may itself hold commas)."""
    gpus = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.split(",")]
        if len(cells) < 5 or not cells[0].isdigit():
            continue
        util, mem, temp = (_reading(c) for c in cells[-3:])
        gpus.append({"index": int(cells[0]), "name": ", ".join(cells[1:-3])[:200], "util": util, "mem_mb": mem,
                     "temp_c": temp})
    return gpus


def query_gpus() -> list[dict] | None:
    """What nvidia-smi on PATH reports now; None when it is absent or fails."""
    try:
        done = subprocess.run(
            ["nvidia-smi", *NVIDIA_SMI_ARGS],
            capture_output=True,
            text=True,
            timeout=NVIDIA_SMI_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_nvidia_smi(done.stdout) if done.returncode == 0 else None


def rss_mb() -> float | None:
    """Resident memory of this process in MiB: /proc/self/statm on Linux. Elsewhere the peak resident size from
    getrusage (the current one has no standard-library source there); None where neither exists."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MIB
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / MIB if platform.system() == "Darwin" else peak / 1024  # bytes on macOS, KiB elsewhere


def cpu_model() -> str | None:
    """The CPU's model name: /proc/cpuinfo's 'model name' on Linux, else platform.processor()."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return value.strip()[:200]
    except OSError:
        pass
    return platform.processor()[:200] or None


def describe_system(probe_gpus: bool) -> dict:
    """The run's ``system`` document. ``probe_gpus``: ask nvidia-smi for the GPU names (``gpus`` is then [] without
    it); otherwise ``gpus`` is left out."""
    system: dict = {}
    cpu = cpu_model()
    if cpu:
        system["cpu"] = cpu
    system["cores"] = max(1, os.cpu_count() or 1)
    system["platform"] = f"{platform.system().lower()} {platform.release()} {platform.machine()}"[:200]
    if probe_gpus:
        system["gpus"] = [g["name"] for g in query_gpus() or []]
    return system


def sample_values(cpu_percent: float, gpus: list[dict]) -> dict[str, float]:
    values = {CPU_PERCENT: cpu_percent}
    rss = rss_mb()
    if rss is not None:
        values[RSS_MB] = rss
    for g in gpus:
        for family, key in ((GPU_UTIL, "util"), (GPU_MEM_MB, "mem_mb"), (GPU_TEMP_C, "temp_c")):
            if g[key] is not None:
                values[f"{family}/{g['index']}"] = g[key]
    return values


class SystemSampler(threading.Thread):
    """Samples every ``interval`` seconds and hands the values to ``emit``. CPU % is this process's CPU time (user +
    system, every thread, from os.times()) over the wall time since the previous sample: 100 = one core busy, as top
    shows it."""

    def __init__(self, emit: Callable[[dict[str, float]], None], interval: float = DEFAULT_INTERVAL_S) -> None:
        super().__init__(name="ganwatch-system", daemon=True)
        self._emit = emit
        self._interval = interval
        self._stopped = threading.Event()
        self._gpus_present = True

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        cpu, at = self._cpu_seconds(), time.monotonic()
        while not self._stopped.wait(self._interval):
            cpu_now, now = self._cpu_seconds(), time.monotonic()
            percent = (cpu_now - cpu) / (now - at) * 100 if now > at else 0.0
            cpu, at = cpu_now, now
            # Once absent or failing, nvidia-smi is not asked again: a driver rarely appears or recovers mid-run, and
            # a hung one would cost a 5 s child process every interval.
            gpus = query_gpus() if self._gpus_present else None
            if gpus is None:
                self._gpus_present = False
            if not self._stopped.is_set():
                try:
                    self._emit(sample_values(percent, gpus or []))
                except Exception:  # noqa: BLE001 - a sample must never take the sampler, or training, down
                    log.debug("ganwatch: a system sample was dropped", exc_info=True)

    @staticmethod
    def _cpu_seconds() -> float:
        t = os.times()
        return t.user + t.system
