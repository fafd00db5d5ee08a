"""tools/bench --fs: the file system set.

On one ext2 image (4 KiB blocks, a file of --fs-file-mib MiB of random bytes
at /big, made by the host's mke2fs -d), each repetition boots the kernel for:
  raw       run=bench rw=read bs=131072 qd=8 on the image (read-only): the
            device's sequential read figure the file system is held to;
  raw_copy  the same with blk.bounce=1: every byte also copied once by the
            guest's CPU (from the layer's DMA buffer), as a read through a
            cache must; the bound for any read that copies;
  seqread   run=fsbench work=seqread path=/big bs=4096 (cold cache: a fresh boot);
  seqread_ra0  the same with fs.readahead_kib=0 (what readahead is worth);
  seqwrite  run=fsbench work=seqwrite path=/new size=<the file's size> bs=4096,
            on a fresh copy of the image;
  smallfiles run=fsbench work=smallfiles path=/small files=N size=4096, on a
            fresh copy.
Medians over the repetitions; the ratios the README reports (seqread against
raw and against seqread_ra0, seqwrite's average request) come from the same
repetitions. Results go to OUT/fs/ (results.json, fs_mbps.png with gnuplot)."""
from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys

from .units import MIB, TOP

WORKLOADS = ("raw", "raw_copy", "seqread", "seqread_ra0", "seqwrite", "smallfiles")


def make_fs_image(out: str, file_mib: int) -> str:
    """OUT/fs/fs.img: ext2, 4 KiB blocks, /big of file_mib MiB; reused while it exists."""
    img = os.path.join(out, "fs.img")
    stamp = img + ".%dmib" % file_mib
    if os.path.exists(img) and os.path.exists(stamp):
        return img
    tree = os.path.join(out, "fs-tree")
    shutil.rmtree(tree, ignore_errors=True)
    os.makedirs(tree)
    with open(os.path.join(tree, "big"), "wb") as f:
        for _ in range(file_mib):
            f.write(os.urandom(MIB))
    # Room for the file, a second one as large (seqwrite) and the small files.
    size_mib = 2 * file_mib + 256
    with open(img, "wb") as f:
        f.truncate(size_mib * MIB)
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext2", "-b", "4096", "-d", tree, img],
                   check=True)
    shutil.rmtree(tree)
    open(stamp, "w").close()
    return img


def boot(args, disk: str, words: list[str], log: str) -> tuple[str, int]:
    """One guest run; its console goes to log. Returns (console, QEMU's status)."""
    cmd = [os.path.join(TOP, "tools", "qemu-boot"), "--kernel", args.kernel, "--gic",
           str(args.gic), "--disk", disk, "--timeout", "600", "--"] + words
    p = subprocess.run(cmd, capture_output=True, text=True)
    console = p.stdout + p.stderr
    with open(log, "w") as f:
        f.write(console)
    return console, p.returncode


def json_line(console: str, tag: str) -> dict:
    """The JSON object of the last line starting with `tag ` (BENCH or FSBENCH)."""
    for line in reversed(console.splitlines()):
        if line.startswith(tag + " "):
            return json.loads(line[len(tag) + 1:])
    raise ValueError("no %s line" % tag)


def run_rep(args, img: str, workdir: str, n: int, files: int) -> dict[str, dict]:
    size = args.fs_file_mib * MIB
    runs = {
        "raw": (True, "BENCH", ["run=bench", "rw=read", "bs=131072", "qd=8",
                                "secs=%d" % args.secs]),
        "raw_copy": (True, "BENCH", ["run=bench", "rw=read", "bs=131072", "qd=8",
                                     "secs=%d" % args.secs, "blk.bounce=1"]),
        "seqread": (True, "FSBENCH", ["run=fsbench", "work=seqread", "path=/big", "bs=4096"]),
        "seqread_ra0": (True, "FSBENCH", ["run=fsbench", "work=seqread", "path=/big", "bs=4096",
                                          "fs.readahead_kib=0"]),
        "seqwrite": (False, "FSBENCH", ["run=fsbench", "work=seqwrite", "path=/new",
                                        "size=%d" % size, "bs=4096"]),
        "smallfiles": (False, "FSBENCH", ["run=fsbench", "work=smallfiles", "path=/small",
                                          "files=%d" % files, "size=4096"]),
    }
    out: dict[str, dict] = {}
    for name in WORKLOADS:
        ro, tag, words = runs[name]
        disk = img + ",ro"
        if not ro:
            disk = os.path.join(workdir, "scratch.img")
            shutil.copyfile(img, disk)
        console, status = boot(args, disk + ",cache=%s" % args.cache, words,
                               os.path.join(workdir, "%s-rep%d.log" % (name, n)))
        try:
            out[name] = json_line(console, tag)
        except ValueError as e:
            out[name] = {"error": "%s (QEMU status %d)" % (e, status)}
        if status != 0 and "error" not in out[name]:
            out[name]["error"] = "QEMU status %d" % status
        print("bench: fs rep %d %-11s %s" % (n, name, out[name].get("error") or
                                             "%.1f MB/s" % out[name].get("mbps", 0)), flush=True)
    return out


def summarise(reps: list[dict[str, dict]]) -> dict:
    """Medians per workload over the repetitions without an error, and the ratios."""
    med: dict[str, dict] = {}
    for name in WORKLOADS:
        ok = [r[name] for r in reps if name in r and "error" not in r[name]]
        if not ok:
            med[name] = {"error": next((r[name]["error"] for r in reps if name in r), "not run")}
            continue
        med[name] = {k: statistics.median(float(o[k]) for o in ok)
                     for k in ("mbps", "files_per_s", "requests", "avg_request_kib", "bios")
                     if all(k in o for o in ok)}
        med[name]["reps"] = len(ok)
    ratios = {}

    def mbps(name):
        return med.get(name, {}).get("mbps")

    if mbps("seqread") and mbps("raw"):
        ratios["seqread_vs_raw"] = mbps("seqread") / mbps("raw")
    if mbps("seqread") and mbps("raw_copy"):
        ratios["seqread_vs_raw_copy"] = mbps("seqread") / mbps("raw_copy")
    if mbps("seqread") and mbps("seqread_ra0"):
        ratios["seqread_vs_no_readahead"] = mbps("seqread") / mbps("seqread_ra0")
    if "files_per_s" in med.get("smallfiles", {}) and med["smallfiles"].get("requests"):
        ratios["smallfiles_requests_per_file"] = med["smallfiles"]["requests"] / max(1, files_of(reps))
    return {"medians": med, "ratios": ratios}


def files_of(reps: list[dict[str, dict]]) -> int:
    return int(next((r["smallfiles"].get("files", 0) for r in reps
                     if "smallfiles" in r and "error" not in r["smallfiles"]), 0))


def draw(out: str, summary: dict, title: str) -> list[str]:
    """fs_mbps.png: a bar per workload (MB/s medians); none without gnuplot."""
    gp = shutil.which("gnuplot")
    rows = [(n, summary["medians"][n]["mbps"]) for n in WORKLOADS
            if "mbps" in summary["medians"].get(n, {}) and n != "smallfiles"]
    if not gp or not rows:
        return []
    dat = os.path.join(out, "fs_mbps.dat")
    with open(dat, "w") as f:
        for i, (n, v) in enumerate(rows):
            f.write("%d %s %.1f\n" % (i, n, v))
    png = os.path.join(out, "fs_mbps.png")
    script = ["set terminal pngcairo size 900,560 noenhanced", "set output '%s'" % png,
              "set grid ytics", "set style fill solid 0.6", "set boxwidth 0.6",
              "set yrange [0:*]", "set ylabel 'MB/s (median)'", "set xrange [-0.5:%d.5]" % (len(rows) - 1),
              'set title "file system against the raw device, 4 KiB blocks\\n%s"' % title,
              "plot '%s' using 1:3:xtic(2) with boxes notitle, '' using 1:3:(sprintf('%%.0f', $3)) "
              "with labels offset 0,1 notitle" % dat]
    gpfile = os.path.join(out, "fs_plots.gp")
    with open(gpfile, "w") as f:
        f.write("\n".join(script) + "\n")
    p = subprocess.run([gp, gpfile], capture_output=True, text=True)
    if p.returncode != 0:
        print("bench: gnuplot failed:\n" + p.stderr, file=sys.stderr)
        return []
    return [png]


def main(args, out: str, title: str) -> int:
    fsdir = os.path.join(out, "fs")
    os.makedirs(fsdir, exist_ok=True)
    img = make_fs_image(fsdir, args.fs_file_mib)
    files = args.fs_files
    print("bench: fs set, /big %d MiB, smallfiles %d, %d rep(s), %s"
          % (args.fs_file_mib, files, args.reps, title), flush=True)
    reps = [run_rep(args, img, fsdir, n, files) for n in range(1, args.reps + 1)]
    summary = summarise(reps)
    print()
    print("%-12s %10s %10s %10s %14s" % ("workload", "MB/s", "files/s", "requests", "avg req KiB"))
    for name in WORKLOADS:
        m = summary["medians"][name]
        if "error" in m:
            print("%-12s FAILED: %s" % (name, m["error"]))
            continue
        print("%-12s %10.1f %10s %10.0f %14s" % (
            name, m.get("mbps", 0), "%.1f" % m["files_per_s"] if name == "smallfiles" else "-",
            m.get("requests", 0), "%.1f" % m["avg_request_kib"] if "avg_request_kib" in m else "-"))
    for k, v in summary["ratios"].items():
        print("%s: %.2f" % (k, v))
    with open(os.path.join(fsdir, "results.json"), "w") as f:
        json.dump({"config": title, "file_mib": args.fs_file_mib, "smallfiles": files,
                   "reps": reps, **summary}, f, indent=1)
    plots = draw(fsdir, summary, title)
    print("\nbench: wrote %s%s" % (os.path.join(fsdir, "results.json"),
                                   "".join(", " + p for p in plots)))
    return 1 if any("error" in m for m in summary["medians"].values()) else 0
