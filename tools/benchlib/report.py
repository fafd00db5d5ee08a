"""What tools/bench prints and writes: the progress line of each point, the
final table, results.json and results.csv."""
from __future__ import annotations

import csv
import json
import os
import sys

from .units import fmt_bs

from .benchline import LAT_FIELDS, RECOVERY_FIELDS
from .results import PointResult


def fmt_lat(us: float) -> str:
    if us >= 1000:
        return "%.1f ms" % (us / 1000)
    return "%.0f us" % us


def fmt_ratio(x) -> str:
    return "-" if x is None else "%.2fx" % x


def recovery_note(res: PointResult) -> str:
    """Which reps needed the layer's deadline recovery (a stuck request), or "".
    A run that needed it still counts (errors stays 0), but its latency max
    shows the deadline, and the console is kept for a look."""
    notes = []
    for i, rep in enumerate(res.reps, 1):
        raw = rep.raw if isinstance(rep.raw, dict) else {}
        hits = ["%s %d" % (f, raw[f]) for f in RECOVERY_FIELDS if raw.get(f)]
        if hits:
            notes.append("rep %d: %s (%s)" % (i, ", ".join(hits), rep.console_log or "?"))
    return "; ".join(notes)


def progress_line(i: int, n: int, res: PointResult) -> str:
    b = res.bench
    head = "[%d/%d] %s" % (i, n, res.name)
    if not b:
        return "%s  FAILED: %s" % (head, res.error or "?")
    line = "%s  %.0f IOPS  p99 %s" % (head, b.iops, fmt_lat(b.lat_us.p99))
    if len(res.reps) > 1:
        line += "  (min %.0f max %.0f)" % (res.iops_min, res.iops_max)
    if res.ratio_ceiling is not None:
        line += "  %s ceiling" % fmt_ratio(res.ratio_ceiling)
    if res.ratio_sync is not None:
        line += "  %s sync" % fmt_ratio(res.ratio_sync)
    if res.merge_gain is not None:
        line += "  (merging on is %s this)" % fmt_ratio(res.merge_gain)
    rec = recovery_note(res)
    if rec:
        line += "  RECOVERY: " + rec
    return line


def print_table(results: list[PointResult], stream=None) -> None:
    stream = stream or sys.stdout
    hdr = ("%-34s %9s %8s %9s %9s %7s %9s %7s %7s %6s %6s %8s"
           % ("point", "IOPS", "MB/s", "p99", "ceiling", "x ceil", "sync", "x sync",
              "req KiB", "kk/rq", "irq/rq", "ns/io"))
    print(hdr, file=stream)
    for res in results:
        b = res.bench
        if not b:
            print("%-34s FAILED: %s" % (res.name, res.error or "?"), file=stream)
            continue
        req = b.requests or 1
        ceil = res.ceiling.iops if res.ceiling else None
        print("%-34s %9.0f %8.1f %9s %9s %7s %9s %7s %7.1f %6.2f %6.2f %8.0f"
              % (res.name, b.iops, b.mbps, fmt_lat(b.lat_us.p99),
                 "-" if ceil is None else "%.0f" % ceil, fmt_ratio(res.ratio_ceiling),
                 "-" if res.sync_iops is None else "%.0f" % res.sync_iops,
                 fmt_ratio(res.ratio_sync), b.avg_request_kib, b.kicks / req,
                 b.irqs / req, b.cpu_ns_per_io), file=stream)


CSV_COLUMNS = ("name", "rw", "bs", "qd", "threads", "engine", "extra", "reps", "iops",
               "iops_min", "iops_max", "mbps", "lat_avg_us", "lat_p50_us", "lat_p99_us",
               "lat_p999_us", "lat_max_us", "bios", "requests", "merges", "kicks", "irqs",
               "errors", "cpu_util", "cpu_ns_per_io", "avg_request_kib", "ceiling_iops",
               "ceiling_mbps", "ratio_ceiling", "sync_iops", "ratio_sync", "merge_gain", "error")

# The BENCH fields that get a column of their own.
CSV_BENCH_FIELDS = ("iops", "mbps", "bios", "requests", "merges", "kicks", "irqs", "errors",
                    "cpu_util", "cpu_ns_per_io", "avg_request_kib")


def csv_row(res: PointResult) -> dict:
    b, ceil, pt = res.bench, res.ceiling, res.point
    row = {"name": res.name, "rw": pt.rw, "bs": pt.bs, "qd": pt.qd, "threads": pt.threads,
           "engine": pt.engine, "extra": " ".join("%s=%s" % kv for kv in pt.extra.items()),
           "reps": len(res.reps), "iops_min": res.iops_min, "iops_max": res.iops_max,
           "ceiling_iops": ceil.iops if ceil else None,
           "ceiling_mbps": ceil.mbps if ceil else None, "ratio_ceiling": res.ratio_ceiling,
           "sync_iops": res.sync_iops, "ratio_sync": res.ratio_sync,
           "merge_gain": res.merge_gain, "error": res.error or ""}
    for k in CSV_BENCH_FIELDS:
        row[k] = getattr(b, k) if b else None
    for k in LAT_FIELDS:
        row["lat_%s_us" % k] = getattr(b.lat_us, k) if b else None
    return {k: ("" if v is None else (round(v, 4) if isinstance(v, float) else v))
            for k, v in row.items()}


def write_outputs(out: str, meta: dict, results: list[PointResult]) -> None:
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"meta": meta, "points": [r.to_json() for r in results]}, f, indent=1)
        f.write("\n")
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        w.writeheader()
        for res in results:
            w.writerow(csv_row(res))


def print_smp_summary(results: list[PointResult], stream=None) -> None:
    """The SMP set as IOPS per vCPU count, multi-queue on and off, with what
    each run's BENCH says of the CPUs and the queue lock when it has it."""
    stream = stream or sys.stdout
    print("%-22s %5s %10s %10s %8s %9s %9s" % ("workload", "vCPUs", "IOPS mq=1", "IOPS mq=0",
                                                "cpus", "ns/io mq1", "ns/io mq0"), file=stream)
    rows: dict = {}
    for res in results:
        p = res.point
        key = ("%s bs=%s qd=%d" % (p.rw, fmt_bs(p.bs), p.qd), p.smp)
        rows.setdefault(key, {})[p.extra.get("blk.mq", "1")] = res.bench
    for (wl, n), by in rows.items():
        on, off = by.get("1"), by.get("0")
        cpus = (on.more.get("cpus") if on else None)
        print("%-22s %5d %10s %10s %8s %9s %9s"
              % (wl, n, "%.0f" % on.iops if on else "-", "%.0f" % off.iops if off else "-",
                 "-" if cpus is None else cpus,
                 "%.0f" % on.cpu_ns_per_io if on else "-",
                 "%.0f" % off.cpu_ns_per_io if off else "-"), file=stream)
