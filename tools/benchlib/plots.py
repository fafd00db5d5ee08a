"""The two plots, drawn by gnuplot when it is installed: IOPS against queue
depth (random 4k reads: async, sync and the ceiling) and MB/s against block
size (sequential reads and writes, async and the ceiling). The --vq matrix
gets its own three (draw_vq_plots): IOPS, p99 latency and interrupts per
request against queue depth, one line per ring format and coalescing setting."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

from .results import PointResult
from .units import KIB, fmt_bs


@dataclass
class QdSeries:
    """IOPS against queue depth for one random workload: (qd, IOPS) pairs."""
    title: str = ""
    async_: list[tuple] = field(default_factory=list)
    sync: list[tuple] = field(default_factory=list)
    ceiling: list[tuple] = field(default_factory=list)

    def named(self) -> dict[str, list[tuple]]:
        return {"async": self.async_, "sync": self.sync, "ceiling": self.ceiling}


def plot_series(results: list[PointResult]) -> tuple[QdSeries, dict[str, list[tuple]]]:
    """The data of the two plots: IOPS against depth for the random workload
    with the most depths (randread 4k when tied), and, per series name ("read",
    "read ceiling", "write", ...), (KiB, MB/s, qd) rows against block size."""
    ok = [r for r in results if r.bench and not r.point.extra_guest]
    by_wl: dict[tuple, list[PointResult]] = {}
    for r in ok:
        if r.point.engine == "async" and r.point.rw.startswith("rand"):
            by_wl.setdefault((r.point.rw, r.point.bs), []).append(r)
    qd = QdSeries()
    if by_wl:
        rw, bs = max(by_wl, key=lambda k: (len(by_wl[k]), k == ("randread", 4096)))
        qd.title = "%s bs=%s" % (rw, fmt_bs(bs))
        pts = sorted(by_wl[(rw, bs)], key=lambda r: r.point.qd)
        qd.async_ = [(r.point.qd, r.bench.iops) for r in pts]
        qd.ceiling = [(r.point.qd, r.ceiling.iops) for r in pts if r.ceiling]
        sync = [r for r in ok if r.point.engine == "sync" and (r.point.rw, r.point.bs) == (rw, bs)]
        if sync:
            # The sync engine keeps one request in flight whatever qd says: a flat line.
            v = sync[0].bench.iops
            qd.sync = [(pts[0].point.qd, v), (pts[-1].point.qd, v)]
    bs_series: dict[str, list[tuple]] = {}
    for rw in ("read", "write"):
        pts = sorted((r for r in ok if r.point.rw == rw and r.point.engine == "async"),
                     key=lambda r: r.point.bs)
        seen, rows = set(), []
        for r in pts:
            if r.point.bs not in seen:
                seen.add(r.point.bs)
                rows.append(r)
        if rows:
            bs_series[rw] = [(r.point.bs / KIB, r.bench.mbps, r.point.qd) for r in rows]
            bs_series[rw + " ceiling"] = [(r.point.bs / KIB, r.ceiling.mbps, r.point.qd)
                                         for r in rows if r.ceiling]
    return qd, bs_series


def write_dat(path: str, rows: list[tuple]) -> None:
    with open(path, "w") as f:
        for row in rows:
            f.write(" ".join(str(v) for v in row) + "\n")


def draw_plots(out: str, results: list[PointResult], title: str) -> list[str]:
    """PNG plots through gnuplot; returns the files written (none without gnuplot)."""
    gp = shutil.which("gnuplot")
    if not gp:
        print("bench: gnuplot not found, no plots", file=sys.stderr)
        return []
    qd, bs_series = plot_series(results)
    made, script = [], ["set terminal pngcairo size 900,560 noenhanced", "set grid",
                        "set key below"]
    styles = {"async": "lw 2 pt 7", "sync": "lw 2 dt 2 pt 5", "ceiling": "lw 2 dt 3 pt 9"}
    if qd.async_:
        plots = []
        for name, rows in qd.named().items():
            if rows:
                dat = os.path.join(out, "iops_vs_qd_%s.dat" % name)
                write_dat(dat, rows)
                what = "qemu-img bench (ceiling)" if name == "ceiling" else "engine=" + name
                plots.append("'%s' using 1:2 with linespoints %s title '%s'"
                             % (dat, styles[name], what))
        png = os.path.join(out, "iops_vs_qd.png")
        script += ["set output '%s'" % png, "set logscale x 2", "set xlabel 'queue depth'",
                   "set ylabel 'IOPS'", "set yrange [0:*]",
                   # in double quotes gnuplot makes a line break of \n
                   'set title "%s: IOPS against queue depth\\n%s"' % (qd.title, title),
                   "plot " + ", ".join(plots), "unset logscale x"]
        made.append(png)
    if any(bs_series.values()):
        plots = []
        for name, rows in bs_series.items():
            if not rows:
                continue
            dat = os.path.join(out, "mbps_vs_bs_%s.dat" % name.replace(" ", "_"))
            write_dat(dat, rows)
            style = styles["ceiling"] if "ceiling" in name else styles["async"]
            what = ("qemu-img bench " + name.split()[0]) if "ceiling" in name else name + " async"
            plots.append("'%s' using 1:2 with linespoints %s title '%s'" % (dat, style, what))
        png = os.path.join(out, "mbps_vs_bs.png")
        script += ["set output '%s'" % png, "set logscale x 2", "set xlabel 'block size (KiB)'",
                   "set ylabel 'MB/s'", "set yrange [0:*]",
                   'set title "sequential MB/s against block size, qd as in the matrix\\n%s"'
                   % title, "plot " + ", ".join(plots)]
        made.append(png)
    if not made:
        return []
    gpfile = os.path.join(out, "plots.gp")
    with open(gpfile, "w") as f:
        f.write("\n".join(script) + "\n")
    p = subprocess.run([gp, gpfile], capture_output=True, text=True)
    if p.returncode != 0:
        print("bench: gnuplot failed:\n" + p.stderr, file=sys.stderr)
        return []
    return made


def vq_series(results: list[PointResult]) -> dict[str, list[tuple]]:
    """Per "split"/"packed" x "coalesce off"/"on": (qd, IOPS, p99 us, irqs per
    request) rows of the points that carry vq.packed and vq.coalesce."""
    series: dict[str, list[tuple]] = {}
    for r in results:
        ex = r.point.extra
        if not r.bench or "vq.packed" not in ex or "vq.coalesce" not in ex:
            continue
        name = "%s, coalesce %s" % ("packed" if ex["vq.packed"] != "0" else "split",
                                    "on" if ex["vq.coalesce"] != "0" else "off")
        series.setdefault(name, []).append(
            (r.point.qd, r.bench.iops, r.bench.lat_us.p99,
             r.bench.irqs / (r.bench.requests or 1)))
    return {k: sorted(v) for k, v in series.items()}


def draw_vq_plots(out: str, results: list[PointResult], title: str) -> list[str]:
    """vq_iops.png, vq_p99.png and vq_irqs.png against queue depth (none without gnuplot)."""
    gp = shutil.which("gnuplot")
    series = vq_series(results)
    if not gp or not series:
        return []
    dats = {}
    for name, rows in series.items():
        dats[name] = os.path.join(out, "vq_%s.dat" % name.replace(", ", "_").replace(" ", "_"))
        write_dat(dats[name], rows)
    script = ["set terminal pngcairo size 900,560 noenhanced", "set grid", "set key below",
              "set logscale x 2", "set xlabel 'queue depth'", "set yrange [0:*]"]
    made = []
    for png, col, ylabel in (("vq_iops.png", 2, "IOPS"), ("vq_p99.png", 3, "p99 latency (us)"),
                             ("vq_irqs.png", 4, "interrupts per request")):
        path = os.path.join(out, png)
        plots = ["'%s' using 1:%d with linespoints lw 2 title '%s'" % (dat, col, name)
                 for name, dat in dats.items()]
        script += ["set output '%s'" % path, "set ylabel '%s'" % ylabel,
                   'set title "randread: %s against queue depth, split vs packed ring, '
                   'coalescing off and on\\n%s"' % (ylabel, title), "plot " + ", ".join(plots)]
        made.append(path)
    gpfile = os.path.join(out, "vq_plots.gp")
    with open(gpfile, "w") as f:
        f.write("\n".join(script) + "\n")
    p = subprocess.run([gp, gpfile], capture_output=True, text=True)
    if p.returncode != 0:
        print("bench: gnuplot failed:\n" + p.stderr, file=sys.stderr)
        return []
    return made
