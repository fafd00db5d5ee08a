"""What one point's runs gave: a Rep per QEMU boot and their PointResult.

results.json keeps the shape it had when these were dictionaries: to_json()
writes the same keys (an optional one only when it has a value)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .benchline import Bench, Number, bench_problems
from .ceiling import Ceiling
from .matrix import Point
from .stats import median_bench


@dataclass
class Rep:
    """One boot of the guest for a point."""
    exit: int                          # QEMU's exit status (0 after RESULT PASS)
    raw: Optional[dict] = None         # the BENCH object as the guest printed it, or None
    qemu_cmd: str = ""                 # QEMU's command line, as tools/qemu-boot printed it
    console_log: str = ""              # where the whole console was kept
    console_tail: Optional[list[str]] = None  # a failed run's last console lines

    @property
    def failed(self) -> bool:
        return self.raw is None or self.exit != 0

    def to_json(self) -> dict:
        out = {"exit": self.exit, "qemu_cmd": self.qemu_cmd, "raw": self.raw,
               "console_log": self.console_log}
        if self.console_tail is not None:
            out["console_tail"] = self.console_tail
        return out


@dataclass
class PointResult:
    """A point, its repetitions, their median and how it compares."""
    point: Point
    reps: list[Rep] = field(default_factory=list)
    bench: Optional[Bench] = None          # median of the well-formed reps
    iops_min: Optional[Number] = None
    iops_max: Optional[Number] = None
    ceiling: Optional[Ceiling] = None      # None: not measured, or qemu-img failed
    ratio_ceiling: Optional[float] = None  # bench.iops / ceiling.iops
    sync_iops: Optional[Number] = None     # engine=sync on the same workload (async points)
    ratio_sync: Optional[float] = None     # bench.iops / sync_iops
    merge_gain: Optional[float] = None     # blk.merge=0 points: merged IOPS / these IOPS
    error: Optional[str] = None            # why the point failed

    @property
    def name(self) -> str:
        return self.point.label()

    @property
    def qemu_cmd(self) -> str:
        return self.reps[-1].qemu_cmd if self.reps else ""

    def summarise(self) -> None:
        """bench, iops_min and iops_max from the reps; error when no rep gave
        a well-formed BENCH object although some gave one."""
        raws = [r.raw for r in self.reps if r.raw is not None]
        good = [Bench.from_obj(o) for o in raws if not bench_problems(o)]
        if raws and not good:
            self.error = "; ".join(bench_problems(raws[0]))
        if good:
            self.bench = median_bench(good)
            iops = [b.iops for b in good]
            self.iops_min, self.iops_max = min(iops), max(iops)

    def to_json(self) -> dict:
        out = self.point.as_dict()
        out.update({"name": self.name, "merging": self.point.merging,
                    "reps": [r.to_json() for r in self.reps],
                    "extra_guest": self.point.extra_guest, "qemu_cmd": self.qemu_cmd})
        if self.error is not None:
            out["error"] = self.error
        if self.bench is not None:
            out.update(bench=self.bench.to_json(), iops_min=self.iops_min,
                       iops_max=self.iops_max)
        if self.ceiling is not None:
            out["ceiling"] = self.ceiling.to_json()
        out.update(ratio_ceiling=self.ratio_ceiling, sync_iops=self.sync_iops,
                   ratio_sync=self.ratio_sync)
        if self.merge_gain is not None:
            out["merge_gain"] = self.merge_gain
        return out
