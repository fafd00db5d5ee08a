"""Statistics over repetitions and the ratios between points: medians of
BENCH objects, each point's multiple of its ceiling and of the sync engine,
and what merging is worth."""
from __future__ import annotations

import statistics
from dataclasses import replace
from typing import TYPE_CHECKING

from .benchline import LAT_FIELDS, NUMERIC_FIELDS, Bench, Latency

if TYPE_CHECKING:
    from .results import PointResult


def median_bench(benches: list[Bench]) -> Bench:
    """Field-by-field median of several runs' BENCH objects (the numeric
    fields; strings and the extra fields come from the first)."""
    first = benches[0]
    nums = {f: statistics.median(getattr(b, f) for b in benches) for f in NUMERIC_FIELDS}
    lat = Latency(**{f: statistics.median(getattr(b.lat_us, f) for b in benches)
                     for f in LAT_FIELDS})
    return replace(first, lat_us=lat, more=dict(first.more), **nums)


def _sync_key(r: PointResult) -> tuple:
    return (r.point.rw, r.point.bs, r.point.threads, tuple(sorted(r.point.extra_guest.items())))


def add_ratios(results: list[PointResult]) -> None:
    """ratio_ceiling for every point; sync_iops and ratio_sync for async points
    whose workload also ran with engine=sync; merge_gain for blk.merge=0 points
    whose workload also ran with merging."""
    sync = {_sync_key(r): r.bench.iops for r in results
            if r.point.engine == "sync" and r.bench}
    for r in results:
        b, ceil = r.bench, r.ceiling
        r.ratio_ceiling = b.iops / ceil.iops if b and ceil and ceil.iops else None
        s = sync.get(_sync_key(r)) if r.point.engine == "async" else None
        r.sync_iops = s
        r.ratio_sync = b.iops / s if b and s else None
    # A blk.merge=0 point: how many times faster the same workload is with merging on.
    merged = {(r.point.rw, r.point.bs, r.point.qd, r.point.threads, r.point.engine): r.bench.iops
              for r in results if r.bench and not r.point.extra_guest}
    for r in results:
        if r.point.extra_guest == {"blk.merge": "0"} and r.bench and r.bench.iops:
            m = merged.get((r.point.rw, r.point.bs, r.point.qd, r.point.threads, r.point.engine))
            r.merge_gain = m / r.bench.iops if m else None
