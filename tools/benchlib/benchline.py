"""The guest's `BENCH {json}` line: which fields it must have (docs/interface.md,
"What each job prints"), what is wrong with one, and its typed form.

The object the guest printed is kept as it came (Rep.raw) because --check must
judge malformed ones too; a well-formed one becomes a Bench."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Union

Number = Union[int, float]

# The BENCH object's required fields, and the members of its lat_us object.
BENCH_FIELDS = ("dev", "rw", "bs", "qd", "threads", "engine", "secs", "ios", "iops", "mbps",
                "lat_us", "bios", "requests", "merges", "kicks", "irqs", "errors", "cpu_util",
                "cpu_ns_per_io", "avg_request_kib")
LAT_FIELDS = ("avg", "p50", "p99", "p999", "max")
STRING_FIELDS = ("dev", "rw", "engine")
NUMERIC_FIELDS = tuple(f for f in BENCH_FIELDS if f not in STRING_FIELDS + ("lat_us",))

# Counters of the layer's deadline recovery; a healthy run has them all 0.
RECOVERY_FIELDS = ("timeouts", "lost_irqs", "resets")


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def bench_problems(obj) -> list[str]:
    """What is wrong with a BENCH object: missing or non-numeric fields."""
    if not isinstance(obj, dict):
        return ["BENCH payload is not a JSON object"]
    probs = ["missing field %s" % f for f in BENCH_FIELDS if f not in obj]
    for f in NUMERIC_FIELDS:
        if f in obj and not _is_number(obj[f]):
            probs.append("field %s is not a number: %r" % (f, obj[f]))
    lat = obj.get("lat_us")
    if "lat_us" in obj:
        if not isinstance(lat, dict):
            probs.append("lat_us is not an object")
        else:
            for f in LAT_FIELDS:
                if not isinstance(lat.get(f), (int, float)):
                    probs.append("missing or non-numeric lat_us.%s" % f)
    return list(dict.fromkeys(probs))  # one line per distinct problem


def parse_bench(console: str, dev: str = "vda") -> dict:
    """The BENCH object for `dev` in a guest console log, or raises ValueError.

    With several disks the guest prints one line per disk and one for the sum;
    the one whose dev is exactly `dev` is ours."""
    found = []
    for line in console.splitlines():
        i = line.find("BENCH ")
        if i < 0 or line[:i].strip():
            continue
        try:
            found.append(json.loads(line[i + len("BENCH "):]))
        except json.JSONDecodeError as e:
            raise ValueError("BENCH line is not JSON (%s): %s" % (e, line.strip()))
    if not found:
        raise ValueError("no BENCH line in the console")
    mine = [o for o in found if isinstance(o, dict) and o.get("dev") == dev]
    return mine[-1] if mine else found[-1]


@dataclass
class Latency:
    """lat_us: one I/O's latency from submission to completion, in µs."""
    avg: Number
    p50: Number
    p99: Number
    p999: Number
    max: Number

    def to_json(self) -> dict:
        return {f: getattr(self, f) for f in LAT_FIELDS}


@dataclass
class Bench:
    """A well-formed BENCH object (or a median of several). `more` holds the
    fields beyond the required ones (timeouts, splits, seed, disks, ...)."""
    dev: str
    rw: str
    bs: Number
    qd: Number
    threads: Number
    engine: str
    secs: Number
    ios: Number
    iops: Number
    mbps: Number
    lat_us: Latency
    bios: Number
    requests: Number
    merges: Number
    kicks: Number
    irqs: Number
    errors: Number
    cpu_util: Number
    cpu_ns_per_io: Number
    avg_request_kib: Number
    more: dict = field(default_factory=dict)

    @classmethod
    def from_obj(cls, obj: dict) -> "Bench":
        """The typed form of a BENCH object; ValueError when it is malformed."""
        probs = bench_problems(obj)
        if probs:
            raise ValueError("; ".join(probs))
        kw = {f: obj[f] for f in BENCH_FIELDS if f != "lat_us"}
        lat = Latency(**{f: obj["lat_us"][f] for f in LAT_FIELDS})
        more = {k: v for k, v in obj.items() if k not in BENCH_FIELDS}
        return cls(lat_us=lat, more=more, **kw)

    def to_json(self) -> dict:
        out = {f: getattr(self, f) for f in BENCH_FIELDS}
        out["lat_us"] = self.lat_us.to_json()
        out.update(self.more)
        return out

    def recovery(self) -> dict[str, Number]:
        """The non-zero deadline-recovery counters of this run."""
        return {f: self.more[f] for f in RECOVERY_FIELDS if self.more.get(f)}
