"""tools/bench's command line and the run of a whole matrix."""
from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
from dataclasses import asdict, dataclass
from typing import Optional

from . import ceiling as ceiling_mod
from . import fsset, qemu
from .benchline import parse_bench
from .checks import check_results
from .matrix import Point, parse_point, quick_matrix, smp_matrix, standard_matrix, vq_matrix
from .plots import draw_plots, draw_vq_plots
from .qemu import FAKE_MODES, host_cpus
from .report import print_smp_summary, print_table, progress_line, write_outputs
from .results import PointResult, Rep
from .stats import add_ratios
from .units import MIB, TOP, parse_size


def sh(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, cwd=TOP).stdout.strip()
    except OSError:
        return ""


def prepare(args) -> None:
    """Packages and the kernel, through tools/lib/setup.sh like tools/run."""
    build = "" if args.fake_guest else "levblk_need_packages \"${LEVBLK_BASE_PACKAGES[@]}\"; " \
        "levblk_build aarch64 >&2; "
    script = ". '%s/tools/lib/setup.sh'; levblk_need_packages \"${LEVBLK_BENCH_PACKAGES[@]}\"; %s" \
        % (TOP, build)
    p = subprocess.run(["bash", "-c", script])
    if p.returncode != 0:
        sys.exit(p.returncode)


def run_rep(point: Point, args, img: str, defaults: dict[str, str], workdir: str,
            number: int) -> tuple[Rep, str]:
    """One boot for `point`, its console kept in workdir/consoles/; returns the
    Rep and, when it failed, why (else "")."""
    qemu.warm_image(img)
    run = qemu.run_guest(point, args, img, defaults, workdir)
    rep = Rep(exit=run.exit, qemu_cmd=run.qemu_cmd)
    why = ""
    try:
        rep.raw = parse_bench(run.console)
    except ValueError as e:
        last = [l for l in run.console.splitlines() if l.startswith(("RESULT", "PANIC"))]
        why = str(e) + (" (%s)" % last[-1] if last else "")
    if run.exit != 0 and not why:
        why = "QEMU exited with %d (0 is RESULT PASS)" % run.exit
    log = "%s%s-rep%d.log" % ("failed-" if rep.failed else "",
                              re.sub(r"[^A-Za-z0-9.=-]+", "_", point.label()), number)
    os.makedirs(os.path.join(workdir, "consoles"), exist_ok=True)
    rep.console_log = os.path.join(workdir, "consoles", log)
    with open(rep.console_log, "w") as f:
        f.write(run.console)
    if rep.failed:
        rep.console_tail = run.console.strip().splitlines()[-15:]
    return rep, why


def run_point(point: Point, args, img: str, size: int, defaults: dict[str, str],
              ceilings: dict, workdir: str) -> PointResult:
    """Every repetition of one point, their median, and the point's ceiling
    (measured once per rw, bs and depth: `ceilings` caches it across points)."""
    res = PointResult(point)
    for n in range(1, args.reps + 1):
        rep, why = run_rep(point, args, img, defaults, workdir, n)
        res.reps.append(rep)
        if rep.raw is None:
            res.error = why  # no BENCH line: the latest rep's reason is shown
        elif why and res.error is None:
            res.error = why  # QEMU's exit status: the first is shown
    res.summarise()
    if not args.no_ceiling:
        key = (point.rw, point.bs, point.depth())
        if key not in ceilings:
            target = 0.5 if args.quick else min(2.0, float(defaults.get("secs", 2)))
            try:
                ceilings[key] = ceiling_mod.measure_ceiling(img, size, point.rw, point.bs,
                                                            point.depth(), args.cache, target,
                                                            args.reps)
            except RuntimeError as e:
                ceilings[key] = None
                print("bench: %s" % e, file=sys.stderr)
        res.ceiling = ceilings[key]
    return res


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="tools/bench", add_help=True,
                                 description="levblk benchmark matrix runner (see the header)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--point", action="append", default=[])
    ap.add_argument("--smp-set", action="store_true")
    ap.add_argument("--cache", choices=("writeback", "none"), default="writeback")
    ap.add_argument("--iothread", action="store_true")
    ap.add_argument("--pool-max", type=int)
    ap.add_argument("--gic", type=int, choices=(2, 3), default=3)
    ap.add_argument("--legacy", action="store_true")
    ap.add_argument("--packed", action="store_true")
    ap.add_argument("--vq", action="store_true")
    ap.add_argument("--pci", action="store_true")
    ap.add_argument("--fs", action="store_true")
    ap.add_argument("--fs-file-mib", type=int, default=256)
    ap.add_argument("--fs-files", type=int, default=10000)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("--size")
    ap.add_argument("--out", default=os.path.join(TOP, "build", "bench"))
    ap.add_argument("--kernel", default=os.path.join(TOP, "build", "aarch64", "levblk.elf"))
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--no-ceiling", action="store_true")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--fake-guest", nargs="?", const="ok", default=None, choices=FAKE_MODES)
    args = ap.parse_args(argv)
    if args.reps < 1:
        ap.error("--reps must be at least 1")
    if args.vq:
        args.packed = True  # the matrix compares the rings: the device must offer both
    if args.packed and args.legacy:
        ap.error("--packed needs the modern transport (the packed ring is virtio 1.x only)")
    if args.pool_max is None:
        # Page-cache copies are CPU work: more workers than CPUs only time-slice.
        # With cache=none the workers wait on the disk, and a small pool would
        # cap the I/Os in flight (randread 4k qd 32: 28 000 IOPS with 2, 57 000
        # with QEMU's 64).
        args.pool_max = host_cpus() if args.cache == "writeback" else 0
    if args.pool_max < 0:
        ap.error("--pool-max must be 0 (QEMU's default pool) or more")
    try:
        args.points = [parse_point(s) for s in args.point]
        args.size_bytes = parse_size(args.size or ("64M" if args.quick else "1G"))
    except ValueError as e:
        ap.error(str(e))
    if args.size_bytes < MIB or args.size_bytes % MIB:
        ap.error("--size must be a whole number of MiB, at least 1 MiB")
    return args


def config_line(args) -> str:
    """The run's configuration in a few words (the first line, plot titles)."""
    return "cache=%s gic=%d %s%s%s request-merging=off%s" % (
        args.cache, args.gic,
        "virtio-pci" if args.pci else "legacy" if args.legacy else "modern",
        " packed=on" if args.packed else "", " iothread" if args.iothread else "",
        " thread-pool-max=%d" % args.pool_max if args.pool_max else "")


CEILING_METHOD = ("qemu-img bench -f raw -t CACHE -c COUNT -d DEPTH -s BS -S STEP "
                  "[-w]: STEP=BS for sequential, BS*stride coprime with the block "
                  "count for random; randrw = harmonic mean of read and write; "
                  "DEPTH=qd (1 for engine=sync); COUNT calibrated to ~min(secs,2) s")


@dataclass
class RunConfig:
    """How the guests were run (results.json meta.config)."""
    cache: str
    gic: int
    legacy: bool
    packed_offered: bool
    qemu_device_request_merging: bool
    iothread: bool
    thread_pool_max: Optional[int]  # None: QEMU's own pool
    reps: int
    secs: int
    quick: bool
    fake_guest: Optional[str]
    pci: bool = False


@dataclass
class ImageInfo:
    path: str
    bytes: int
    pattern_seed: int


@dataclass
class Meta:
    """results.json's meta: versions, host, commit, configuration, method."""
    qemu_version: str
    qemu_img_version: str
    host_cpus: int
    date: str
    git_commit: str
    git_dirty: bool
    qemu_cmdline: str
    config: RunConfig
    image: ImageInfo
    ceiling_method: str = CEILING_METHOD

    def to_json(self) -> dict:
        return asdict(self)


def meta_of(args, img: str, results: list[PointResult]) -> Meta:
    return Meta(
        qemu_version=sh(["qemu-system-aarch64", "--version"]).split("\n")[0],
        qemu_img_version=sh(["qemu-img", "--version"]).split("\n")[0],
        host_cpus=host_cpus(),
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        git_commit=sh(["git", "rev-parse", "HEAD"]),
        git_dirty=bool(sh(["git", "status", "--porcelain", "--untracked-files=no"])),
        qemu_cmdline=next((r.qemu_cmd for r in results if r.qemu_cmd), ""),
        config=RunConfig(cache=args.cache, gic=args.gic, legacy=args.legacy,
                         packed_offered=args.packed, qemu_device_request_merging=False, iothread=args.iothread,
                         thread_pool_max=args.pool_max or None, reps=args.reps,
                         secs=args.secs, quick=args.quick, fake_guest=args.fake_guest,
                         pci=args.pci),
        image=ImageInfo(path=img, bytes=args.size_bytes, pattern_seed=1))


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if not args.no_build:
        prepare(args)
    out = os.path.abspath(args.out)
    if args.fs:
        return fsset.main(args, out, config_line(args))
    workdir = os.path.join(out, "qemu")
    os.makedirs(workdir, exist_ok=True)
    img = os.path.join(out, "bench.img")
    qemu.make_image(img, args.size_bytes)
    if args.points:
        matrix = args.points
    elif args.vq:
        matrix = vq_matrix()
    elif args.smp_set:
        matrix = smp_matrix()
    else:
        matrix = quick_matrix() if args.quick else standard_matrix()
    defaults = {"secs": str(args.secs)}
    config = config_line(args)
    print("bench: %d points, %s, image %d MiB, %d rep(s)%s"
          % (len(matrix), config, args.size_bytes // MIB, args.reps,
             ", FAKE GUEST" if args.fake_guest else ""))
    results: list[PointResult] = []
    ceilings: dict = {}
    for i, point in enumerate(matrix, 1):
        res = run_point(point, args, img, args.size_bytes, defaults, ceilings, workdir)
        results.append(res)
        add_ratios(results)
        print(progress_line(i, len(matrix), res), flush=True)
    add_ratios(results)
    print()
    print_table(results)
    if args.smp_set:
        print()
        print_smp_summary(results)
    meta = meta_of(args, img, results)
    # --point runs go to OUT/points/, --vq to OUT/vq/ and the SMP set to OUT/smp/,
    # so none replaces the standard matrix's files.
    res_dir = os.path.join(out, "points") if args.points else (
        os.path.join(out, "vq") if args.vq else
        os.path.join(out, "smp") if args.smp_set else out)
    os.makedirs(res_dir, exist_ok=True)
    write_outputs(res_dir, meta.to_json(), results)
    plots = draw_vq_plots(res_dir, results, config) if args.vq else draw_plots(
        res_dir, results, config)
    print("\nbench: wrote %s, %s%s" % (os.path.join(res_dir, "results.json"),
                                      os.path.join(res_dir, "results.csv"),
                                      "".join(", " + p for p in plots)))
    failed = [r for r in results if r.error]
    status = 1 if failed else 0
    if args.check:
        probs = check_results(results)
        for p in probs:
            print("check: FAIL %s" % p)
        print("check: %s" % ("FAIL" if probs else "OK (%d points)" % len(results)))
        status = 1 if probs else status
    if failed and args.iothread and any(
            "ioeventfd" in json.dumps([rep.to_json() for rep in r.reps]) for r in failed):
        print("bench: note: QEMU needs ioeventfd (KVM) for an iothread on virtio-mmio; "
              "TCG cannot do --iothread", file=sys.stderr)
    return status
