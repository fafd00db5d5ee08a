"""Benchmark points and the matrices tools/bench runs.

A point is a workload (rw, bs, qd, threads) run by one engine, plus words the
guest gets as they are (blk.merge=0, secs=2, ios=1000, ...)."""
from __future__ import annotations

from dataclasses import dataclass, field

from .units import KIB, MIB, SECTOR, fmt_bs, parse_size

RWS = ("read", "write", "randread", "randwrite", "randrw")
ENGINES = ("async", "sync")

# Point keys that make up the point's identity; any other key=value goes to the guest.
# smp (vCPUs) and queues (the device's num-queues, 0: QEMU's default) go to QEMU.
POINT_KEYS = ("rw", "bs", "qd", "engine", "threads", "smp", "queues")


@dataclass
class Point:
    """One benchmark point: a workload, an engine and extra guest words."""
    rw: str
    bs: int
    qd: int = 1
    engine: str = "async"
    threads: int = 1
    extra: dict[str, str] = field(default_factory=dict)
    smp: int = 1     # vCPUs
    queues: int = 0  # request queues the device offers (QEMU's num-queues); 0: its default

    def __post_init__(self):
        if self.rw not in RWS:
            raise ValueError("rw must be one of %s, not %r" % (", ".join(RWS), self.rw))
        if self.engine not in ENGINES:
            raise ValueError("engine must be async or sync, not %r" % self.engine)
        if self.bs < SECTOR or self.bs % SECTOR or self.bs > MIB:
            raise ValueError("bs must be a multiple of 512 from 512 to 1 MiB, not %d" % self.bs)
        if not 1 <= self.qd <= 256:
            raise ValueError("qd must be 1 to 256, not %d" % self.qd)
        if not 1 <= self.smp <= 8:
            raise ValueError("smp must be 1 to 8, not %d" % self.smp)
        if not 0 <= self.queues <= 8:
            raise ValueError("queues must be 0 to 8, not %d" % self.queues)
        self.extra = dict(self.extra or {})  # never shared with the caller's dict

    @property
    def sequential(self) -> bool:
        return self.rw in ("read", "write")

    @property
    def merging(self) -> bool:
        return self.extra.get("blk.merge", "1") != "0"

    @property
    def extra_guest(self) -> dict[str, str]:
        """The extra words that change the workload (the run's length aside)."""
        return {k: v for k, v in self.extra.items() if k not in ("secs", "ios")}

    def workload(self) -> tuple:
        """What the sync reference of an async point shares with it."""
        return (self.rw, self.bs, self.threads, self.smp, self.queues,
                tuple(sorted(self.extra.items())))

    def depth(self) -> int:
        """The queue depth the device sees: sync keeps one request in flight."""
        return 1 if self.engine == "sync" else self.qd

    def label(self) -> str:
        words = [self.rw, "bs=" + fmt_bs(self.bs), "qd=%d" % self.qd]
        if self.threads != 1:
            words.append("threads=%d" % self.threads)
        if self.smp != 1:
            words.append("smp=%d" % self.smp)
        if self.queues:
            words.append("queues=%d" % self.queues)
        words.append(self.engine)
        words += ["%s=%s" % kv for kv in sorted(self.extra.items())]
        return " ".join(words)

    def guest_words(self, defaults: dict[str, str]) -> list[str]:
        """The kernel command line of this point's run=bench job."""
        words = {"run": "bench", "dev": "vda", "rw": self.rw, "bs": str(self.bs),
                 "qd": str(self.qd), "threads": str(self.threads), "engine": self.engine,
                 "seed": "1"}
        words.update(defaults)
        words.update(self.extra)
        if "ios" in self.extra:
            words.pop("secs", None)
        elif "secs" in self.extra:
            words.pop("ios", None)
        return ["%s=%s" % kv for kv in words.items()]

    def as_dict(self) -> dict:
        return {"rw": self.rw, "bs": self.bs, "qd": self.qd, "engine": self.engine,
                "threads": self.threads, "smp": self.smp, "queues": self.queues,
                "extra": dict(self.extra)}


def parse_point(spec: str) -> Point:
    """'rw=randread bs=4096 qd=32 [engine=sync] [threads=N] [k=v...]' -> Point."""
    keys, extra = {}, {}
    for word in spec.split():
        if "=" not in word:
            raise ValueError("point word %r is not key=value" % word)
        k, v = word.split("=", 1)
        (keys if k in POINT_KEYS else extra)[k] = v
    if "rw" not in keys or "bs" not in keys:
        raise ValueError("a point needs at least rw= and bs=: %r" % spec)
    return Point(keys["rw"], parse_size(keys["bs"]), int(keys.get("qd", "1")),
                 keys.get("engine", "async"), int(keys.get("threads", "1")), extra,
                 int(keys.get("smp", "1")), int(keys.get("queues", "0")))


def with_sync(async_points: list[Point]) -> list[Point]:
    """Each workload once with engine=sync at qd 1 (first), then its async points."""
    out, seen = [], set()
    for p in async_points:
        if p.workload() not in seen:
            seen.add(p.workload())
            out.append(Point(p.rw, p.bs, 1, "sync", p.threads, p.extra, p.smp, p.queues))
        out.append(p)
    return out


def standard_matrix() -> list[Point]:
    """The standard matrix (the README's Benchmark section), plus the
    blk.merge=0 comparison point."""
    pts = [Point("randread", 4096, qd) for qd in (1, 4, 16, 32, 128)]
    pts += [Point("randwrite", 4096, qd) for qd in (1, 32)]
    pts += [Point("randrw", 4096, 32), Point("read", 4096, 32), Point("write", 4096, 32)]
    pts += [Point("read", 128 * KIB, 8), Point("write", 128 * KIB, 8)]
    pts += [Point("read", MIB, 4), Point("write", MIB, 4)]
    return with_sync(pts) + [Point("write", 4096, 32, extra={"blk.merge": "0"})]


def vq_matrix() -> list[Point]:
    """Ring format and interrupt coalescing (the README's "Ring formats and
    interrupt coalescing"): randread 4 KiB at qd 1, 4, 8, 16 and 32 on the split
    and the packed ring, coalescing off and on. The device offers the packed
    ring (--vq implies --packed); vq.packed=0 keeps the split one."""
    pts = []
    for packed in ("0", "1"):
        for coalesce in ("0", "1"):
            pts += [Point("randread", 4096, qd,
                          extra={"vq.packed": packed, "vq.coalesce": coalesce})
                    for qd in (1, 4, 8, 16, 32)]
    return pts


def quick_matrix() -> list[Point]:
    """Seconds-long: the points the --check counters need, with fixed I/O counts."""
    pts = [Point("randread", 4096, 32, extra={"ios": "2000"}),
           Point("write", 4096, 32, extra={"ios": "2000"}),
           Point("read", 128 * KIB, 8, extra={"ios": "200"})]
    return with_sync(pts)


SMP_VCPUS = (1, 2, 4)
SMP_WORKLOADS = (("randread", 4096, 32), ("randwrite", 4096, 32), ("read", MIB, 4))


def smp_matrix() -> list[Point]:
    """The SMP set: 1, 2 and 4 vCPUs, all brought up (smp.cpus=N), one bench
    thread per vCPU (each at the workload's depth), the disk offering one
    queue per vCPU; multi-queue on (blk.mq=1) and off (blk.mq=0: one
    virtqueue) from 2 vCPUs on (with one vCPU both are one queue)."""
    pts = []
    for rw, bs, qd in SMP_WORKLOADS:
        for n in SMP_VCPUS:
            for mq in (("1", "0") if n > 1 else ("1",)):
                pts.append(Point(rw, bs, qd, threads=n, smp=n, queues=n,
                                 extra={"blk.mq": mq, "smp.cpus": str(n)}))
    return pts
