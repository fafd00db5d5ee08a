"""The guest side: the disk image, one QEMU boot per run, and the fake guest.

Every guest gets `-global virtio-blk-device.request-merging=off`: QEMU's
virtio-blk otherwise merges adjacent requests itself, so blk.merge=0 would
still be merged by the device model and the comparison would not show what
the guest's merging is worth (requests the guest merged pass through
unchanged). With --pool-max N it also gets QEMU's thread pool (the aio=threads
workers that do the drive's reads and writes) capped at N workers."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass

from .matrix import Point
from .units import KIB, MIB, TOP

QEMU_GUEST_ARGS = ("-global", "virtio-blk-device.request-merging=off",
                   "-global", "virtio-blk-pci.request-merging=off")


@dataclass
class GuestRun:
    """What one boot gave: the console (QEMU's stderr appended), QEMU's exit
    status and its command line."""
    console: str
    exit: int
    qemu_cmd: str


def host_cpus() -> int:
    """The CPUs this process may run on (and so QEMU's threads with it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 0


def make_image(img: str, size: int) -> None:
    """A raw image of `size` bytes, all of it written (the pattern, seed 1), so
    that neither the guest nor qemu-img reads holes. Reused while its size matches."""
    stamp = img + ".filled"
    if os.path.exists(img) and os.path.getsize(img) == size and os.path.exists(stamp):
        return
    print("bench: writing the pattern over %s (%d MiB)" % (img, size // MIB), file=sys.stderr)
    for path in (img, stamp):
        if os.path.exists(path):
            os.unlink(path)
    p = subprocess.run([os.path.join(TOP, "tools", "pattern"), "write", img, "--seed", "1",
                        "--size", str(size)], stdout=subprocess.DEVNULL)
    if p.returncode != 0:
        sys.exit("bench: tools/pattern failed")
    open(stamp, "w").close()


def warm_image(img: str) -> None:
    """Reads the whole image so that the run after it finds it in the page cache.

    The ceiling and the guest's figures are meant for a page-cached image, but
    these machines run DAMON's proactive reclaim (a kdamond with a pageout
    scheme: page-cache pages untouched for about a minute are written out and
    dropped, 128 MiB/s at most). Without this, a point that follows a
    sequential one found parts of the image on disk, and its figure depended
    on what the points before it had touched."""
    buf = bytearray(4 * MIB)
    with open(img, "rb", buffering=0) as f:
        while f.readinto(buf):
            pass


def disk_spec(img: str, args, queues: int = 0) -> str:
    spec = "%s,cache=%s" % (img, args.cache)
    if getattr(args, "packed", False):
        spec += ",packed"
    if args.iothread:
        spec += ",iothread"
    if getattr(args, "pci", False):
        spec += ",pci"
    if queues:
        spec += ",queues=%d" % queues
    return spec


def pool_args(args) -> tuple[str, ...]:
    """QEMU arguments capping the main loop's thread pool at --pool-max workers."""
    if not args.pool_max:
        return ()
    return ("-object", "main-loop,id=lbmain,thread-pool-max=%d" % args.pool_max)


def run_guest(point: Point, args, img: str, defaults: dict[str, str], workdir: str) -> GuestRun:
    """Boots QEMU through tools/qemu-boot for one run of a point."""
    words = point.guest_words(defaults)
    if args.fake_guest:
        console, st = fake_console(point, args.fake_guest, float(defaults.get("secs", 1)))
        return GuestRun(console, st, "(fake guest) run=bench " + " ".join(words[1:]))
    secs = int(point.extra.get("secs", defaults.get("secs", 5)))
    # LEVBLK_QEMU_BOOT replaces tools/qemu-boot, for the tests of tools/bench.
    boot = os.environ.get("LEVBLK_QEMU_BOOT") or os.path.join(TOP, "tools", "qemu-boot")
    cmd = [boot, "--kernel", args.kernel,
           "--disk", disk_spec(img, args, point.queues), "--gic", str(args.gic), "--timeout",
           str(secs * 4 + 120), "--workdir", workdir, "--print-cmd"]
    if point.smp != 1:
        cmd += ["--smp", str(point.smp)]
    if args.legacy:
        cmd.append("--legacy")
    for arg in QEMU_GUEST_ARGS + pool_args(args):
        cmd += ["--qemu", arg]
    cmd += ["--"] + words
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    qemu_cmd = ""
    for line in p.stderr.splitlines():
        if line.startswith("qemu-boot: qemu-system"):
            qemu_cmd = line[len("qemu-boot: "):]
    console = p.stdout + ("\n[stderr]\n" + p.stderr if p.stderr.strip() else "")
    return GuestRun(console, p.returncode, qemu_cmd)


FAKE_MODES = ("ok", "nomerge", "syncirq", "errors", "missing", "fail", "stuck")


def fake_console(point: Point, mode: str, secs: float) -> tuple[str, int]:
    """A plausible console and exit status for `point`, from a fixed model (no
    timing, no QEMU).

    MODE ok is a well-behaved guest; the others break one thing --check verifies."""
    scale = math.sqrt(point.bs / 4096)
    if point.engine == "sync":
        iops = 9000 / scale
    else:
        iops = 12000 * math.sqrt(min(point.depth(), 64)) / scale
    ios = int(point.extra.get("ios", 0)) or int(iops * secs)
    bios = ios
    merge = point.sequential and point.engine == "async" and point.merging
    requests = max(1, bios // 16) if merge and mode != "nomerge" else bios
    irqs = 0 if point.engine == "sync" else requests // 2
    if mode == "syncirq" and point.engine == "sync":
        irqs = 1
    lat = 1e6 * point.depth() / iops
    obj = {"dev": "vda", "rw": point.rw, "bs": point.bs, "qd": point.qd,
           "threads": point.threads, "engine": point.engine, "secs": round(ios / iops, 3),
           "ios": ios, "iops": round(iops), "mbps": round(iops * point.bs / 1e6, 2),
           "lat_us": {"avg": round(lat, 1), "p50": round(lat * 0.9, 1), "p99": round(lat * 2, 1),
                      "p999": round(lat * 3, 1), "max": round(lat * 5, 1)},
           "bios": bios, "requests": requests, "merges": bios - requests,
           "kicks": 0 if point.engine == "sync" else requests // 4, "irqs": irqs,
           "errors": 1 if mode == "errors" else 0, "cpu_util": 0.95,
           "cpu_ns_per_io": round(0.95e9 / iops),
           "avg_request_kib": round(bios * point.bs / requests / KIB, 1),
           "timeouts": 1 if mode == "stuck" else 0, "lost_irqs": 0,
           "resets": 1 if mode == "stuck" else 0}
    if mode == "missing":
        del obj["cpu_util"]
    result = "RESULT FAIL fake" if mode == "fail" else "RESULT PASS"
    return "levblk (fake guest)\nBENCH %s\n%s\n" % (json.dumps(obj), result), \
        1 if mode == "fail" else 0
