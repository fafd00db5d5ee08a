"""The --check rules. No rule is about time or IOPS: only completion, the
BENCH object's shape and counters that are deterministic for a correct block
layer on a healthy device."""
from __future__ import annotations

from .benchline import RECOVERY_FIELDS, bench_problems
from .results import PointResult


def _raw(rep) -> dict:
    return rep.raw if isinstance(rep.raw, dict) else {}


def check_results(results: list[PointResult]) -> list[str]:
    """Every problem found, one line each (empty: all good)."""
    probs = []
    if not results:
        probs.append("no points ran")
    for res in results:
        if res.error:
            probs.append("%s: %s" % (res.name, res.error))
        for i, rep in enumerate(res.reps):
            tag = res.name if len(res.reps) == 1 else "%s (rep %d)" % (res.name, i + 1)
            if rep.raw is None:
                continue
            probs += ["%s: %s" % (tag, p) for p in bench_problems(rep.raw)]
            obj = _raw(rep)
            if obj.get("errors") != 0:
                probs.append("%s: errors=%s, want 0" % (tag, obj.get("errors")))
            # A correct layer on a healthy device never waits for a deadline.
            stuck = ["%s=%s" % (f, obj[f]) for f in RECOVERY_FIELDS if obj.get(f)]
            if stuck:
                probs.append("%s: needed the deadline recovery (%s), want none"
                             % (tag, ", ".join(stuck)))
    seqw = [r for r in results if (r.point.rw, r.point.bs, r.point.qd, r.point.engine)
            == ("write", 4096, 32, "async") and r.point.merging]
    if not seqw:
        probs.append("no sequential 4k write qd=32 async point to check merging on")
    for res in seqw:
        for rep in res.reps:
            obj = _raw(rep)
            bios, reqs = obj.get("bios"), obj.get("requests")
            if not isinstance(bios, int) or not isinstance(reqs, int) or bios <= 0:
                probs.append("%s: no bios/requests counts" % res.name)
            elif not reqs * 4 < bios:
                probs.append("%s: requests=%d not fewer than a quarter of bios=%d (merging)"
                             % (res.name, reqs, bios))
    syncs = [r for r in results if r.point.engine == "sync"]
    if not syncs:
        probs.append("no engine=sync point to check interrupts on")
    for res in syncs:
        for rep in res.reps:
            obj = _raw(rep)
            if obj.get("irqs") != 0:
                probs.append("%s: irqs=%s, want 0 for engine=sync" % (res.name, obj.get("irqs")))
    return list(dict.fromkeys(probs))  # one line per distinct problem
