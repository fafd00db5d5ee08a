"""The ceiling: `qemu-img bench` on the same image with the same cache mode,
block size and depth, i.e. what QEMU's block backend does with no guest."""
from __future__ import annotations

import math
import re
import shlex
import statistics
import subprocess
from dataclasses import dataclass, field, replace
from typing import Optional

from . import qemu


@dataclass
class Ceiling:
    """One ceiling (or the median of several runs of it)."""
    iops: float
    mbps: float
    secs: float                 # the (first) run's duration
    count: int                  # requests per run (-c), calibrated on the first run
    cmd: str                    # the qemu-img command(s), shell-quoted
    iops_runs: list[float] = field(default_factory=list)  # every run's IOPS

    def to_json(self) -> dict:
        return {"iops": self.iops, "mbps": self.mbps, "secs": self.secs, "count": self.count,
                "cmd": self.cmd, "iops_runs": list(self.iops_runs)}


def coprime_stride(nblocks: int) -> int:
    """A stride near nblocks/phi that is coprime with nblocks: stepping by it
    visits every block once, scattered, so the ceiling of a random workload
    is not a sequential read that the host's readahead would flatter."""
    s = max(1, int(nblocks * 0.6180339887))
    while math.gcd(s, nblocks) != 1:
        s += 1
    return s


def qemu_img_bench(img: str, size: int, rw: str, bs: int, depth: int, cache: str,
                   target_secs: float, count: Optional[int] = None) -> Ceiling:
    """One qemu-img bench run; RuntimeError when qemu-img fails.

    qemu-img bench (QEMU 7.2) issues `count` requests of `bs` bytes, `depth`
    in flight, at offsets start + k*step modulo the image size, through the
    same block layer and aio (threads, QEMU's default for -drive) as the
    guest's drive, with -t the same cache mode. Sequential points step by bs;
    random points step by a stride coprime with the block count (see
    coprime_stride). It cannot mix reads and writes: randrw is the 50/50
    combination of a read run and a write run (harmonic mean of the rates).
    Without `count`, the count is calibrated until a run lasts about
    target_secs."""
    if rw == "randrw":
        r = qemu_img_bench(img, size, "randread", bs, depth, cache, target_secs / 2, count)
        w = qemu_img_bench(img, size, "randwrite", bs, depth, cache, target_secs / 2, count)
        iops = 2 / (1 / r.iops + 1 / w.iops)
        return Ceiling(iops, iops * bs / 1e6, r.secs + w.secs, r.count + w.count,
                       r.cmd + " ; " + w.cmd)
    nblocks = size // bs
    step = bs if rw in ("read", "write") else bs * coprime_stride(nblocks)
    n = count or max(200, min(20000, 100 * depth))
    qemu.warm_image(img)  # once: the calibration runs follow within seconds
    for _ in range(5):
        cmd = ["qemu-img", "bench", "-f", "raw", "-t", cache, "-c", str(n), "-d", str(depth),
               "-s", str(bs), "-S", str(step)]
        if rw in ("write", "randwrite"):
            cmd.append("-w")
        cmd.append(img)
        p = subprocess.run(cmd, capture_output=True, text=True)
        m = re.search(r"Run completed in ([0-9.]+) seconds", p.stdout)
        if p.returncode != 0 or not m:
            raise RuntimeError("qemu-img bench failed: %s\n%s%s" % (shlex.join(cmd), p.stdout,
                                                                    p.stderr))
        secs = max(float(m.group(1)), 1e-4)
        # Calibrate the count until the run lasts about target_secs (unless told the count).
        if count or secs >= target_secs * 0.5:
            break
        n = int(min(n * 50, max(n * 2, n * target_secs / secs)))
    iops = n / secs
    return Ceiling(iops, iops * bs / 1e6, secs, n, shlex.join(cmd))


def measure_ceiling(img: str, size: int, rw: str, bs: int, depth: int, cache: str,
                    target_secs: float, reps: int) -> Ceiling:
    """The ceiling run `reps` times (the count calibrated on the first): the
    median IOPS and MB/s, with every run's IOPS in iops_runs."""
    runs = [qemu_img_bench(img, size, rw, bs, depth, cache, target_secs)]
    for _ in range(reps - 1):
        runs.append(qemu_img_bench(img, size, rw, bs, depth, cache, target_secs, runs[0].count))
    iops = [r.iops for r in runs]
    return replace(runs[0], iops=statistics.median(iops),
                   mbps=statistics.median(r.mbps for r in runs), iops_runs=iops)
